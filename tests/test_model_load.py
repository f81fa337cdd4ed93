"""The fast reader of plain model files (csrc/bp_model_json, model._load_plain_model)
against the general one (json + parse_model): equal models wherever it answers,
and the general reader's outcome wherever it declines."""
import base64
import json
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece import _core
from bytepiece.formats.native import _load_plain_model, _reject_duplicate_keys, dump_model, load_model, parse_model
from bytepiece.model import model_from_counts
from conftest import MODEL_40K, TINY_COUNTS

TINY = model_from_counts(TINY_COUNTS, add_missing_bytes=True)


def general_reader(raw: bytes):
    """What load_model gave before the fast path: the model, or the ValueError's message."""
    try:
        return parse_model(json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__


def fields(model):
    return (model.pieces, model.ids, model.counts, model.special_tokens, model.explicit_scores, model.provenance)


def assert_fast_agrees(raw: bytes) -> bool:
    """If the fast reader answers, the general reader gives the equal model; returns whether it answered."""
    fast = _load_plain_model(raw)
    if fast is None:
        return False
    general = general_reader(raw)
    assert not isinstance(general, str), f"fast reader accepted what the general one refuses ({general})"
    assert fields(fast) == fields(general)
    assert fast.scores().tolist() == general.scores().tolist()
    return True


@pytest.mark.parametrize("indent", [None, 0, 4, "\t"])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_every_json_layout_of_a_plain_model_takes_the_fast_path(indent, ensure_ascii):
    raw = json.dumps(dump_model(TINY), indent=indent, ensure_ascii=ensure_ascii).encode("utf-8")
    assert assert_fast_agrees(raw)


def test_the_published_model_takes_the_fast_path_and_encodes_as_before(tmp_path, tok40k):
    raw = json.dumps(dump_model(tok40k.model), indent=4, ensure_ascii=False).encode("utf-8")
    assert assert_fast_agrees(raw)
    path = tmp_path / "40k.model"
    path.write_bytes(raw)
    loaded = bytepiece.Tokenizer(str(path))
    text = "BytePiece 是一个 Byte-based 的 Unigram 分词器，纯 Python 实现。\n" * 3
    assert loaded.encode(text) == tok40k.encode(text)
    assert loaded.model.segmenter() is loaded.model.segmenter()  # the cache filled by the fast path


def test_files_the_fast_reader_declines_still_load_or_fail_as_before(tmp_path):
    plain = dump_model(TINY)
    key = base64.b64encode(b"ab").decode()
    variants = {
        "huge count": {**plain, key: [plain[key][0], "ab", 10**30]},
        "special token": dump_model(bytepiece.Tokenizer(TINY).with_special_tokens(["<x>"]).model),
        "19-digit count": {**plain, key: [plain[key][0], "ab", 10**18]},
        "float id": {**plain, key: [float(plain[key][0]), "ab", 5]},
        "negative count": {**plain, key: [plain[key][0], "ab", -5]},
        "id out of range": {**plain, key: [len(plain) + 3, "ab", 5]},
        "missing byte": {k: v for k, v in plain.items() if k != base64.b64encode(b"z").decode()},
    }
    for name, data in variants.items():
        raw = json.dumps(data).encode("utf-8")
        assert _load_plain_model(raw) is None, name
        path = tmp_path / "variant.model"
        path.write_bytes(raw)
        expected = general_reader(raw)
        if isinstance(expected, str):
            with pytest.raises(ValueError):
                load_model(path)
        else:
            assert fields(load_model(path)) == fields(expected), name


def test_a_key_given_twice_is_named_not_merged(tmp_path):
    raw = json.dumps(dump_model(TINY)).encode("utf-8")
    raw = raw[:-1] + b', "YQ==": [3, "a", 1]}'
    assert _load_plain_model(raw) is None
    path = tmp_path / "twice.model"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match="appears twice"):
        load_model(path)


def test_two_keys_of_one_piece_fall_back_to_the_message():
    data = dump_model(TINY)
    data["YWJ="] = [len(data) + 3, "ab", 1]  # decodes to b"ab" like "YWI="
    raw = json.dumps(data).encode("utf-8")
    assert _core.scan_model_json(raw) is not None  # the scanner reads it...
    assert _load_plain_model(raw) is None          # ...and the trie refuses the duplicate piece
    assert general_reader(raw) == "ValueError"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_mutated_file_is_read_by_the_fast_path_only_as_the_general_one_reads_it(data):
    model = data.draw(st.sampled_from([TINY, TINY.with_provenance({"a": [1, {"b": "}\\\"]"}], "c": None})]))
    raw = bytearray(json.dumps(dump_model(model), indent=data.draw(st.sampled_from([None, 1]))).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = data.draw(st.sampled_from(b' "\\,:[]{}0123456789-.eE+/=AYQaz\t\n\x00\xff\xc3\xa9u'))
        if action == "replace":
            raw[position] = byte
        elif action == "insert":
            raw.insert(position, byte)
        else:
            del raw[position]
    assert_fast_agrees(bytes(raw))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.binary(min_size=2, max_size=6), st.integers(1, 10**18 - 1), max_size=30),
       st.sampled_from([None, 2]), st.booleans())
def test_any_plain_model_reads_the_same_both_ways(extra, indent, ensure_ascii):
    counts = {**{bytes([b]): b + 1 for b in range(256)}, **extra}
    raw = json.dumps(dump_model(model_from_counts(counts)), indent=indent, ensure_ascii=ensure_ascii).encode()
    assert assert_fast_agrees(raw)


def test_a_zipped_model_takes_the_fast_path(monkeypatch):
    answers = []
    original = _core.scan_model_json
    monkeypatch.setattr(_core, "scan_model_json", lambda raw: answers.append(original(raw)) or answers[-1])
    model = load_model(MODEL_40K)
    assert len(answers) == 1 and answers[0] is not None
    with zipfile.ZipFile(MODEL_40K) as archive:
        assert fields(model) == fields(general_reader(archive.read(archive.namelist()[0])))
