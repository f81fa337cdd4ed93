"""The one model gate (docs/spec/model.md §6, §8), vocabulary edits that keep
encodings (§9), and the hostile models that used to crash the segmenter."""
import base64
import gzip
import json
import pickle
import random
import struct

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece.formats.native import dump_model
from bytepiece.model import MAX_ABS_SCORE, Model, PackedPieces, model_from_counts, pack_pieces
from conftest import FIXTURES, MODEL_40K, TINY_COUNTS
from hostile import expect_cli_error, expect_error, expect_ok, fuzz_examples, run_python

BYTES = [bytes([b]) for b in range(256)]


def byte_model(**changes):
    """The arguments of a valid model of the 256 bytes and b"ab", with ``changes``."""
    args = dict(pieces=BYTES + [b"ab"], ids=list(range(3, 260)), counts=[1] * 257, special_tokens=(),
                explicit_scores=None)
    args.update(changes)
    return args


def test_a_valid_model_passes_and_is_immutable():
    model = Model(**byte_model())
    assert model.vocab_size == 260 and model.num_pieces == 257
    with pytest.raises(AttributeError, match="immutable"):
        model.special_tokens = ()
    with pytest.raises(ValueError):
        model.scores()[0] = 0.0  # the cached arrays are read-only


@pytest.mark.parametrize("changes,error,match", [
    (dict(pieces=BYTES[1:] + [b"ab"], ids=list(range(3, 259)), counts=[1] * 256), ValueError,
     r"lacks 1 of the 256 single-byte pieces \(b'\\x00'\)"),
    (dict(pieces=BYTES + [b"a"]), ValueError, "appears twice"),
    (dict(pieces=BYTES + [b""]), ValueError, "empty"),
    (dict(pieces=BYTES + [b"x" * 1025]), ValueError, "1025 bytes; pieces may have at most 1024"),
    (dict(pieces=BYTES + ["ab"]), TypeError, "pieces must be bytes"),
    (dict(ids=list(range(3, 259)) + [3]), ValueError, "id 3 is used by both"),
    (dict(ids=list(range(3, 259)) + [260]), ValueError, "out of range"),
    (dict(ids=list(range(3, 259)) + [2]), ValueError, "out of range"),
    (dict(ids=list(range(3, 259)) + [259.0]), TypeError, "ids must be integers"),
    (dict(ids=list(range(3, 259)) + [True]), TypeError, "ids must be integers"),
    (dict(counts=[1] * 256 + [0]), ValueError, "must be a positive integer, got 0"),
    (dict(counts=[1] * 256 + [-5]), ValueError, "positive integer"),
    (dict(counts=[1] * 256 + [2.0]), ValueError, "positive integer"),
    (dict(counts=[1] * 256 + [True]), ValueError, "positive integer"),
    (dict(counts=[1] * 256), ValueError, "257 pieces need 257 counts"),
    (dict(explicit_scores=[-1.0] * 256 + [float("nan")]), ValueError, r"finite number within \+-1e\+09"),
    (dict(explicit_scores=[-1e308] * 257), ValueError, "finite number within"),
    (dict(explicit_scores=[-1.0] * 256 + [1e308]), ValueError, "finite number within"),
    (dict(explicit_scores=[-1.0] * 256 + [float("-inf")]), ValueError, "finite number within"),
    (dict(explicit_scores=[-1.0] * 256 + [10 ** 401]), ValueError, "integer of 402 digits"),
    (dict(explicit_scores=[-1.0] * 256 + ["x"]), TypeError, "must be a number"),
    (dict(explicit_scores=[-1.0] * 256), ValueError, "257 pieces need 257 explicit scores"),
    (dict(special_tokens=[("<pad>", 260)]), ValueError, "reserved name"),
    (dict(special_tokens=[("<x>", 260), ("<x>", 261)]), ValueError, "appears twice"),
    (dict(special_tokens=[("ab", 260)]), ValueError, "already a piece"),
    (dict(special_tokens=[("", 260)]), ValueError, "non-empty str"),
    (dict(special_tokens=[("<" + "x" * 2000 + ">", 260)]), ValueError, "2002 bytes of UTF-8"),
    (dict(special_tokens=[("a\ud800", 260)]), ValueError, "lone surrogate"),
    (dict(special_tokens=[("<x>", 262)]), ValueError, "out of range"),
    (dict(special_tokens=[("<x>", 259)]), ValueError, "id 259 is used by both"),
])
def test_the_gate_refuses_every_broken_invariant(changes, error, match):
    with pytest.raises(error, match=match):
        Model(**byte_model(**changes))


def test_scores_at_the_edge_of_the_range_are_accepted_and_encode():
    scores = [-MAX_ABS_SCORE] * 256 + [MAX_ABS_SCORE]
    tok = bytepiece.Tokenizer(Model(**byte_model(explicit_scores=scores)))
    text = "xabyab" * 1000
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode(tok.encode(text, alpha=0.5, seed=1)) == text
    assert tok.decode(tok.encode(text, alpha=0.5, seed=1, sampler="viterbi")) == text


def test_every_way_of_making_a_model_goes_through_the_gate():
    packed = pack_pieces(BYTES[1:])
    with pytest.raises(ValueError, match="lacks"):
        Model.from_canonical(packed, np.ones(255, dtype=np.uint64))
    with pytest.raises(ValueError, match="lacks"):
        Model.canonical(BYTES[1:], [1] * 255)
    with pytest.raises(ValueError, match="lacks"):
        model_from_counts({b"ab": 3})
    with pytest.raises(ValueError, match="packed pieces"):
        Model(PackedPieces(b"abc", np.array([0, 5], dtype=np.int64)), [3], [1])
    data = dump_model(Model(**byte_model(explicit_scores=[-1.0] * 257)))
    data[base64.b64encode(b"ab").decode()] = [259, "ab", {"score": -1e308}, 1]
    with pytest.raises(ValueError, match="finite number within"):
        bytepiece.Tokenizer(data)
    model = Model(**byte_model())
    with pytest.raises(ValueError, match="already a piece"):
        model.with_special_tokens(["ab"])
    with pytest.raises(ValueError, match="2002 bytes of UTF-8"):
        model.with_special_tokens(["<" + "x" * 2000 + ">"])
    with pytest.raises(ValueError, match="already a special token"):
        model.with_special_tokens(["<eos>"])


def test_an_unpickled_model_passes_the_gate_again():
    model = Model(**byte_model())
    assert pickle.loads(pickle.dumps(model)) == model
    big = Model(**byte_model(counts=[1] * 256 + [1 << 70]))
    assert pickle.loads(pickle.dumps(big)).counts == big.counts
    # A tampered pickle (a piece dropped from the packed buffer) is refused, not trusted.
    reducer, args = model.__reduce__()
    data, offsets, ids, counts, specials, scores, provenance = args
    bad = pickle.dumps(Tampered(reducer, (data, offsets[:-1], ids[:-1], counts[:-1], specials, scores, provenance)))
    with pytest.raises(ValueError):
        pickle.loads(bad)


class Tampered:
    def __init__(self, reducer, args):
        self.reducer, self.args = reducer, args

    def __reduce__(self):
        return self.reducer, self.args


def test_a_saved_2000_byte_special_token_is_refused_before_saving(tmp_path):
    tok = bytepiece.Tokenizer.from_pieces(TINY_COUNTS, add_missing_bytes=True)
    with pytest.raises(ValueError, match="at most 1024"):
        tok.with_special_tokens(["<" + "y" * 2000 + ">"])
    longest = tok.with_special_tokens(["<" + "y" * 1022 + ">"])  # exactly 1024 bytes: fine, and it loads back
    longest.save(tmp_path / "m.model")
    assert bytepiece.Tokenizer(tmp_path / "m.model").special_tokens == longest.special_tokens


# -- extend keeps encodings ------------------------------------------------------


def golden():
    with gzip.open(FIXTURES / "plus.40k.golden.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_extend_changes_no_golden_document(tok40k, tmp_path):
    """The issue's case: extend(["zzqqxx"]) changed the ids of 26 golden documents."""
    records = golden()
    extended = tok40k.extend(["zzqqxx", "GIMP 笔刷"])
    texts = [r["text"] for r in records]
    assert not any("zzqqxx" in t or "GIMP 笔刷" in t for t in texts)
    assert extended.encode_batch(texts) == [r["ids"] for r in records]
    extended.save(tmp_path / "x.model")
    again = bytepiece.Tokenizer(tmp_path / "x.model")
    assert again.model == extended.model
    assert again.encode_batch(texts[:300]) == [r["ids"] for r in records[:300]]
    assert again.encode("a zzqqxx b")[2 - 1:] and extended.piece_to_id("zzqqxx") in again.encode("a zzqqxx b")
    # BytePiece 0.6.3 reads each entry's id first and its count last: every entry is still readable so.
    data = json.loads((tmp_path / "x.model").read_text(encoding="utf-8"))
    assert all(isinstance(v[0], int) and isinstance(v[-1], int) and v[-1] >= 1 for v in data.values())
    assert len(data) == extended.vocab_size - 3


ALPHABET = b"abc\n"


def strings(min_size, max_size):
    return st.lists(st.sampled_from(list(ALPHABET)), min_size=min_size, max_size=max_size).map(bytes)


@st.composite
def models_extensions_texts(draw):
    pieces = draw(st.lists(strings(2, 5), max_size=12, unique=True))
    counts = {p: draw(st.integers(1, 50)) for p in pieces}
    new = draw(st.lists(strings(2, 6), min_size=1, max_size=4, unique=True))
    given_counts = [draw(st.one_of(st.none(), st.integers(1, 10 ** 6))) for _ in new]
    texts = draw(st.lists(strings(0, 40), min_size=1, max_size=8))
    return counts, new, given_counts, texts


@settings(max_examples=150, deadline=None)
@given(models_extensions_texts(), st.booleans())
def test_extend_keeps_the_ids_of_every_text_without_a_new_piece(case, twice):
    counts, new, given_counts, texts = case
    base = bytepiece.Tokenizer.from_pieces(counts, add_missing_bytes=True)
    new = [p for p in new if p not in counts]
    assume(new)
    extended = base.extend(dict(zip(new, given_counts)))
    if twice:  # an extended model extends again the same way
        extended = extended.extend({b"cab\ncab": None}) if b"cab\ncab" not in new else extended
    added = extended.model.bytes_by_id()[base.vocab_size:]
    for text in texts:
        if not any(piece in text for piece in added):
            assert extended.encode(text) == base.encode(text)
        assert extended.decode_bytes(extended.encode(text)) == text
    again = bytepiece.Tokenizer(dump_model(extended.model))
    assert again.model == extended.model
    assert [again.encode(t) for t in texts] == [extended.encode(t) for t in texts]


def test_extend_without_a_count_makes_the_piece_win_where_it_occurs(tok40k):
    tok = tok40k.extend(["GIMP", "笔刷工具"])
    assert tok.tokenize("GIMP 笔刷工具") == [b"GIMP", b" ", "笔刷工具".encode()]
    assert tok.model.counts[:tok40k.model.num_pieces] == tok40k.model.counts
    with pytest.raises(ValueError, match="already in the vocabulary"):
        tok40k.extend(["the"])
    with pytest.raises(ValueError, match="1 to 1024 bytes"):
        tok40k.extend([b"x" * 1025])
    with pytest.raises(ValueError, match="lone surrogate"):
        tok40k.extend(["a\ud800"])
    with pytest.raises(ValueError, match="positive integer"):
        tok40k.extend({"zzqq": 0})


def test_extend_works_on_explicit_score_models_too():
    scores = [-5.0] * 256 + [-1.0]
    tok = bytepiece.Tokenizer(Model(**byte_model(explicit_scores=scores)))
    extended = tok.extend(["abab"])
    assert extended.tokenize("xabab") == [b"x", b"abab"]
    assert extended.encode("xab ba") == tok.encode("xab ba")


# -- other surfaces -------------------------------------------------------------


def test_push_many_that_raises_loses_nothing(tok40k):
    ids = tok40k.encode("héllo wörld")
    decoder = tok40k.stream_decoder()
    first = decoder.push_many(ids[:2])
    with pytest.raises(ValueError):
        decoder.push_many(ids[2:4] + [10 ** 9])
    with pytest.raises(TypeError):
        decoder.push_many(ids[2:4] + ["x"])
    assert first + decoder.push_many(ids[2:]) + decoder.finish() == "héllo wörld"


def test_encode_batch_with_offsets_takes_an_iterator(tok40k):
    texts = ["héllo", "e\u0301 wörld", "abc"]
    from_list = tok40k.encode_batch_with_offsets(texts)
    from_iterator = tok40k.encode_batch_with_offsets(iter(texts))
    for a, b in zip(from_list, from_iterator):
        assert a.tolist() == b.tolist()
    ids, offsets, spans = from_iterator
    last = spans[offsets[2]:offsets[3]]
    assert last[0][0] == 0 and last[-1][1] == 3  # the spans are real, not zeros


def test_nbest_bounds_its_work(tok40k):
    assert len(tok40k.nbest("ab", 10 ** 12)) == 2  # no text has more segmentations than 2**(n-1)
    with pytest.raises(ValueError, match="paths"):
        tok40k.nbest("x" * 100_000, 10 ** 6)


def test_the_vocab_command_lists_user_special_tokens(tmp_path, tok40k):
    tok = tok40k.with_special_tokens(["<|im_start|>", "<|im_end|>"])
    tok.save(tmp_path / "m.model")
    from bytepiece.cli import main
    assert main(["vocab", str(tmp_path / "m.model"), "-o", str(tmp_path / "v.tsv")]) == 0
    rows = (tmp_path / "v.tsv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + tok.vocab_size
    assert [int(row.split("\t")[0]) for row in rows[1:]] == list(range(tok.vocab_size))
    assert rows[-2:] == [f"{tok.vocab_size - 2}\t<|im_start|>\t0\t", f"{tok.vocab_size - 1}\t<|im_end|>\t0\t"]


# -- hostile models, each in a capped child process -------------------------------


def scored_model_file(path, byte_score, ab_score):
    data = {base64.b64encode(bytes([b])).decode(): [b + 3, "", {"score": byte_score}, 1] for b in range(256)}
    data[base64.b64encode(b"ab").decode()] = [259, "ab", {"score": ab_score}, 1]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("byte_score,ab_score", [(-1e308, -1.0), (-1.0, 1e308), (-1e10, -1.0), (-1.0, 1e300)])
def test_extreme_scores_are_refused_not_a_crash(tmp_path, byte_score, ab_score):
    path = scored_model_file(tmp_path / "m.model", byte_score, ab_score)
    expect_error(f"""
        import bytepiece
        tok = bytepiece.Tokenizer({str(path)!r})
        print(tok.encode("ab" * 1000), tok.encode("ab" * 100, alpha=0.1, seed=1))
    """, "finite number within", timeout=60)
    expect_cli_error(["encode", "-m", path, "-"], "finite number within")


def test_extreme_scores_that_reach_the_c_core_still_segment(tmp_path):
    """Defence in depth: a trie whose scores were never checked (built directly
    from arrays, the path the trainer's pruning uses) still gives a
    segmentation in every mode, whatever the scores."""
    expect_ok(run_python("""
        import numpy as np
        from bytepiece import _core
        from bytepiece.model import pack_pieces
        pieces = [bytes([b]) for b in range(256)] + [b"ab", b"abab"]
        packed = pack_pieces(pieces)
        ids = np.arange(3, 3 + len(pieces), dtype=np.int32)
        for scores in ([-1e8] * 256 + [-1.0, -2.0], [-1e9] * 258):
            seg = _core.Segmenter(packed.data, packed.offsets, np.array(scores, dtype=np.float64), ids)
            table = {3 + k: p for k, p in enumerate(pieces)}
            text = b"abab xab\\n" * 500
            for mode, alpha in ((_core.MODE_BEST, -1.0), (_core.MODE_SAMPLE_PERFECT, 1e100),
                                (_core.MODE_SAMPLE_PERFECT, 0.5), (_core.MODE_SAMPLE_VITERBI, 1e100)):
                keys = None if mode == _core.MODE_BEST else np.array([7], dtype=np.uint64)
                out = seg.encode_lists([text], mode, alpha, keys)[0]
                assert b"".join(table[i] for i in out) == text, mode
        print("ok")
    """, timeout=60))


def test_a_model_path_that_is_a_device_or_a_pipe_stays_bounded(tmp_path):
    # /dev/zero used to grow without bound (zipfile read the device before the limit applied).
    expect_error("""
        import bytepiece.model as m
        m.MAX_MODEL_BYTES = 10 << 20
        m.load_model("/dev/zero")
    """, r"/dev/zero: refused: the model holds more than 10485760 bytes", memory_mb=1024, timeout=60)
    expect_cli_error(["info", "/dev/zero"], "more than 1073741824 bytes", memory_mb=3072, timeout=120)
    # A model piped in (read once, recognized from its bytes) loads like the file.
    expect_ok(run_python(f"""
        import os, subprocess, sys
        import bytepiece
        read, write = os.pipe()
        feeder = subprocess.Popen(["cat", {str(MODEL_40K)!r}], stdout=write)
        os.close(write)
        tok = bytepiece.Tokenizer(f"/dev/fd/{{read}}")
        feeder.wait()
        assert tok.encode("BytePiece") == bytepiece.Tokenizer({str(MODEL_40K)!r}).encode("BytePiece")
    """, timeout=60))


def test_random_model_like_arrays_are_a_model_or_a_clear_error():
    """Fuzz the gate with mutated arrays: every outcome is a model that encodes or a ValueError/TypeError."""
    rng = random.Random(1)
    base = byte_model()
    for _ in range(400):
        args = {k: (list(v) if isinstance(v, list) else v) for k, v in base.items()}
        for _ in range(rng.randint(1, 3)):
            field = rng.choice(["pieces", "ids", "counts", "special_tokens", "explicit_scores"])
            if field == "pieces":
                args["pieces"][rng.randrange(257)] = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 2, 3])))
            elif field == "ids":
                args["ids"][rng.randrange(257)] = rng.choice([-1, 0, 2, 3, 259, 260, 2 ** 40, 1.5, None])
            elif field == "counts":
                args["counts"][rng.randrange(257)] = rng.choice([0, -1, 1, 2 ** 64, 2 ** 80, 1.0, "3", None])
            elif field == "special_tokens":
                args["special_tokens"] = [(rng.choice(["<a>", "<a>", "ab", "<pad>", "", "a" * 1100]),
                                           rng.choice([259, 260, 261, 5]))]
            else:
                args["explicit_scores"] = [rng.choice([-1.0, -3.5, 0.0, 1e9, -1e9 - 1, float("nan"), 1e400])
                                           for _ in range(257)]
        try:
            model = Model(**args)
        except (ValueError, TypeError):
            continue
        tok = bytepiece.Tokenizer(model)
        assert tok.decode_bytes(tok.encode(b"abcab\xff")) == b"abcab\xff"


def test_struct_packed_score_of_every_float_class_is_handled():
    for bits in (0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000001, 0x0000000000000001, 0x8000000000000000):
        score = struct.unpack("<d", struct.pack("<Q", bits))[0]
        args = byte_model(explicit_scores=[-1.0] * 256 + [score])
        if abs(score) <= MAX_ABS_SCORE:
            assert Model(**args).scores()[-1] == score
        else:
            with pytest.raises(ValueError, match="finite number within"):
                Model(**args)


ENTRY_VALUES = st.one_of(
    st.integers(-3, 300), st.integers(-(2 ** 70), 2 ** 70), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(), st.text(max_size=6),
    st.fixed_dictionaries({}, optional={"special": st.booleans(), "score": st.floats(), "x": st.integers()}))


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(st.data())
def test_fuzz_model_files_with_options_load_or_raise_value_error(tmp_path_factory, data):
    """Mutations of a model file with explicit scores and special tokens, read
    through the whole file reader: a model that encodes, or a ValueError
    naming the file; never another exception."""
    model = Model(**byte_model(explicit_scores=[-2.0] * 257, special_tokens=[("<x>", 260)]))
    entries = dump_model(model)
    keys = list(entries)
    for _ in range(data.draw(st.integers(1, 4))):
        key = data.draw(st.sampled_from(keys))
        entry = entries.get(key)
        if isinstance(entry, list) and entry and data.draw(st.booleans()):
            entry = list(entry)
            entry[data.draw(st.integers(0, len(entry) - 1))] = data.draw(ENTRY_VALUES)
            entries[key] = entry
        elif data.draw(st.booleans()):
            entries.pop(key, None)
        else:
            entries[data.draw(st.sampled_from([key, "PHg+", "YWI=", "", "=="]))] = data.draw(
                st.lists(ENTRY_VALUES, max_size=5))
    path = tmp_path_factory.mktemp("m") / "fuzzed.model"
    path.write_text(json.dumps(entries), encoding="utf-8")
    try:
        tok = bytepiece.Tokenizer(path)
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    assert tok.decode_bytes(tok.encode(b"aabab\x00\xff")) == b"aabab\x00\xff"
