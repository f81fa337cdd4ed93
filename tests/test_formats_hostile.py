"""Imports are complete or refused; exports are checked before they land.

Hostile SentencePiece ``.model`` files (empty, truncated, fields edited through
the protobuf API or byte by byte), Hugging Face ``tokenizer.json`` files
(wrong JSON types, deep nesting, out-of-range scores, added tokens past the
vocabulary) and dictionaries (Unicode digits, counts that overflow 64 bits)
are refused with a ValueError naming the file and the token or line (OSError
for what cannot be read), or become a model that encodes. Exports refuse what
the format cannot hold before writing, load every file in its library from
its temporary name, and leave an earlier file at the path untouched when
anything fails. The command line gives exactly one ``bytepiece: error:`` line
(run in a capped child: tests/hostile.py).

The fuzz tests at the end mutate real files at random, bounded to a few
seconds; ``BYTEPIECE_FUZZ_EXAMPLES`` runs them longer.
"""
from __future__ import annotations

import functools
import json
import math
import os
import pathlib
import random
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece.formats.dictionary import MAX_COUNT_MASS, model_from_dictionary, model_from_words, read_word_counts
from bytepiece.formats.native import load_model, save_model
from bytepiece.model import MAX_ABS_SCORE
from conftest import FIXTURES, MODEL_40K, TINY_COUNTS
from hostile import expect_cli_error, expect_ok, run_capped, run_cli

spm = pytest.importorskip("sentencepiece")
pb = pytest.importorskip("sentencepiece.sentencepiece_model_pb2")
tokenizers = pytest.importorskip("tokenizers")

from bytepiece.formats.huggingface import from_huggingface, to_huggingface  # noqa: E402
from bytepiece.formats.sentencepiece import (Agreement, from_sentencepiece, sentencepiece_agreement,  # noqa: E402
                                             to_sentencepiece)

FUZZ_EXAMPLES = int(os.environ.get("BYTEPIECE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
WORDS = ("the quick brown fox jumps over lazy dog tokenizer piece byte model vocabulary train export import "
         "layer brush tool image color gimp open file save").split()
PROBE = "the brush tool opens GIMP files <|user|> héllo 中文\n\tx"


def _corpus_lines(count: int = 2000) -> List[str]:
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 15))) for _ in range(count)]


@functools.lru_cache(maxsize=None)
def _trained_spm(kind: str) -> bytes:
    """A real SentencePiece Unigram model (trained here in ~0.1 s): "llama" has
    byte fallback, --pad_id=3, a control symbol and user-defined symbols;
    "plain" is SentencePiece's defaults with the identity normalizer."""
    options: Dict[str, Any] = dict(vocab_size=50, model_type="unigram", normalization_rule_name="identity",
                                   minloglevel=2)
    if kind == "llama":
        options.update(vocab_size=300, byte_fallback=True, pad_id=3, user_defined_symbols=["<|user|>", "GIMP"],
                       control_symbols=["<|ctl|>"], remove_extra_whitespaces=False)
    with tempfile.TemporaryDirectory() as folder:
        text = os.path.join(folder, "train.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(_corpus_lines()))
        spm.SentencePieceTrainer.train(input=text, model_prefix=os.path.join(folder, kind), **options)
        with open(os.path.join(folder, kind + ".model"), "rb") as f:
            return f.read()


def _proto(kind: str = "llama") -> Any:
    proto = pb.ModelProto()
    proto.ParseFromString(_trained_spm(kind))
    return proto


@functools.lru_cache(maxsize=None)
def _exported_json() -> str:
    """A real tokenizer.json: bytepiece's export of a small model with special tokens."""
    tok = bytepiece.Tokenizer.from_pieces({**TINY_COUNTS, b"hello": 5, " wörld".encode(): 4},
                                          add_missing_bytes=True).with_special_tokens(["<|endoftext|>"])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "t.json")
        to_huggingface(tok.model, path)
        with open(path, encoding="utf-8") as f:
            return f.read()


def _check_model(model: bytepiece.Model, folder: pathlib.Path) -> None:
    """An imported model encodes any bytes and survives a save and a load."""
    tok = bytepiece.Tokenizer(model)
    data = PROBE.encode() + b"\x00\xff\xe4"
    assert tok.decode_bytes(tok.encode(data)) == data
    save_model(model, folder / "saved.model")
    again = load_model(folder / "saved.model")
    assert again.pieces == model.pieces and again.ids == model.ids
    assert again.special_tokens == model.special_tokens
    assert again.scores().tolist() == model.scores().tolist()


IMPORTERS: Dict[str, Callable[[pathlib.Path], bytepiece.Model]] = {
    "sentencepiece": lambda path: from_sentencepiece(path).model,
    "hf": lambda path: from_huggingface(path).model,
    "dict": model_from_dictionary,
}


def _outcome(kind: str, path: pathlib.Path) -> Optional[bytepiece.Model]:
    """The model of ``path``, checked, or None after a refusal naming the file;
    any other exception fails the test."""
    try:
        model = IMPORTERS[kind](path)
    except (ValueError, OSError) as exc:
        assert str(path) in str(exc), f"{type(exc).__name__}: {exc}"
        assert "\n" not in str(exc).strip()
        return None
    _check_model(model, path.parent)
    return model


def _refused(kind: str, path: pathlib.Path, match: str) -> str:
    with pytest.raises(ValueError) as info:
        IMPORTERS[kind](path)
    message = str(info.value)
    assert message.startswith(f"{path}:"), message  # the file, and where it applies the line
    assert match in message, message
    return message


def _write_proto(path: pathlib.Path, proto: Any) -> pathlib.Path:
    path.write_bytes(proto.SerializeToString())
    return path


# -- SentencePiece imports ------------------------------------------------------------


def test_empty_and_truncated_sentencepiece_models_are_refused(tmp_path):
    path = tmp_path / "m.model"
    path.write_bytes(b"")
    _refused("sentencepiece", path, "empty file without a trainer_spec")
    data = _trained_spm("llama")
    # Every prefix: a cut inside a field fails to parse, a cut at a field
    # boundary parses but lacks the specs (pieces are serialized first).
    for size in range(0, len(data), 7):
        path.write_bytes(data[:size])
        _refused("sentencepiece", path, "SentencePiece model")
    proto = _proto()
    for keep in [*range(0, len(proto.pieces), 13), len(proto.pieces)]:  # cuts between two pieces
        boundary = len(pb.ModelProto(pieces=proto.pieces[:keep]).SerializeToString())
        assert data[:boundary] == pb.ModelProto(pieces=proto.pieces[:keep]).SerializeToString()
        path.write_bytes(data[:boundary])
        _refused("sentencepiece", path, "without a trainer_spec")
    with_trainer = pb.ModelProto(pieces=proto.pieces, trainer_spec=proto.trainer_spec).SerializeToString()
    assert data.startswith(with_trainer)
    path.write_bytes(with_trainer)  # cut after the trainer_spec
    _refused("sentencepiece", path, "without a normalizer_spec")


def test_sentencepiece_specs_and_declared_size_are_checked(tmp_path):
    for part in ("trainer_spec", "normalizer_spec"):
        proto = _proto()
        proto.ClearField(part)
        _refused("sentencepiece", _write_proto(tmp_path / "m.model", proto), f"without a {part}")
    proto = _proto()
    del proto.pieces[-40:]  # pieces lost, the declared size kept: a damaged file
    _refused("sentencepiece", _write_proto(tmp_path / "m.model", proto), "declares 300 pieces but holds 260")
    proto = _proto()
    proto.pieces.add(piece="\u2581GIMPy", score=-20.0)  # pieces added after training (as merged vocabularies do)
    imported = from_sentencepiece(_write_proto(tmp_path / "m.model", proto))
    assert imported.model.vocab_size == 301 and any("added later" in note for note in imported.notes)
    proto = _proto()
    del proto.pieces[:]
    _refused("sentencepiece", _write_proto(tmp_path / "m.model", proto), "has no pieces")
    proto = _proto()
    proto.trainer_spec.model_type = 2
    _refused("sentencepiece", _write_proto(tmp_path / "m.model", proto), "only Unigram")


def test_llama_like_model_keeps_every_id_and_renames_the_second_pad(tmp_path):
    path = tmp_path / "llama.model"
    path.write_bytes(_trained_spm("llama"))
    imported = from_sentencepiece(path)
    model = imported.model
    source = spm.SentencePieceProcessor(model_file=str(path))
    assert model.vocab_size == source.get_piece_size() == 300
    specials = dict(model.special_tokens)
    # --pad_id=3: SentencePiece's <pad> keeps id 3 under a name of its own (bytepiece's <pad> is 0).
    assert specials["<pad>#3"] == 3 and specials["<|ctl|>"] == 4 and "<pad>" not in specials
    assert any("'<pad>' (id 3) is '<pad>#3'" in note for note in imported.notes)
    assert any("user-defined" in note for note in imported.notes)
    table = model.bytes_by_id()
    assert table[5] == b"<|user|>" and table[6] == b"GIMP"  # user-defined symbols: pieces at their ids
    for token_id in range(3, 300):  # every source token at its id, as itself, its byte or its name
        piece = source.id_to_piece(token_id)
        if source.is_byte(token_id):
            assert table[token_id] in (bytes([int(piece[3:5], 16)]), piece.encode())
        elif source.is_control(token_id):
            assert token_id in specials.values()
        else:
            assert table[token_id] == piece.replace("\u2581", " ").encode()
    _check_model(model, tmp_path)
    tok = bytepiece.Tokenizer(model)
    texts = _corpus_lines(300)[::3] + ["héllo wörld 中文", "GIMP <|user|> x"]
    # The source adds a dummy prefix (a note says so): with it, the same ids.
    same = sum(tok.encode(" " + t) == source.encode(t) for t in texts)
    assert same >= 0.97 * len(texts)


def test_byte_fallback_model_round_trips_through_sentencepiece(tmp_path):
    source_path = tmp_path / "llama.model"
    source_path.write_bytes(_trained_spm("llama"))
    model = from_sentencepiece(source_path).model
    export = to_sentencepiece(model, tmp_path / "back.model")
    assert export.unused == []
    source = spm.SentencePieceProcessor(model_file=str(source_path))
    back = spm.SentencePieceProcessor(model_file=str(tmp_path / "back.model"))
    for token_id in range(model.vocab_size):  # byte tokens are byte pieces again at their ids, or the ASCII piece
        if source.is_byte(token_id):
            byte = int(source.id_to_piece(token_id)[3:5], 16)
            assert back.is_byte(token_id) or back.id_to_piece(token_id) == chr(byte).replace(" ", "\u2581")
            assert back.is_byte(token_id) == (byte == 0 or byte >= 0x80 or chr(byte) in "abcdefghijklmnopqrstuvwxyz ")
    texts = _corpus_lines(300)[::5] + ["héllo wörld 中文 ☃", "\x01 tab\there"]
    assert [back.encode(" " + t) for t in texts] == [source.encode(t) for t in texts]
    assert back.decode(back.encode(" héllo 中文")) == " héllo 中文"
    assert from_sentencepiece(tmp_path / "back.model").model.bytes_by_id()[:300] == model.bytes_by_id()


def _edited(tmp_path: pathlib.Path, edit: Callable[[Any], None]) -> pathlib.Path:
    proto = _proto()
    edit(proto)
    return _write_proto(tmp_path / "m.model", proto)


def _piece_at(proto: Any, text: str) -> Any:
    return next(p for p in proto.pieces if p.piece == text)


@pytest.mark.parametrize("score, shown", [(math.nan, "score nan;"), (math.inf, "score inf;"),
                                          (-math.inf, "score -inf;"), (3e9, "score 3000000000.0;"),
                                          (-1e38, "e+37;")])  # float32: -1e38 is read as -9.99...e+37
def test_sentencepiece_scores_must_be_finite_and_in_range(tmp_path, score, shown):
    path = _edited(tmp_path, lambda proto: setattr(_piece_at(proto, "\u2581the"), "score", score))
    message = _refused("sentencepiece", path, "token 263 '▁the' has the score")
    assert shown in message and "within ±1e+09" in message


def test_sentencepiece_lowest_score_keeps_the_byte_floor_in_range(tmp_path):
    path = _edited(tmp_path, lambda proto: setattr(_piece_at(proto, "\u2581the"), "score", -MAX_ABS_SCORE))
    model = from_sentencepiece(path).model
    assert model.scores().min() == -MAX_ABS_SCORE  # min - 10 clamped: the byte pieces score the lowest allowed
    _check_model(model, tmp_path)


@pytest.mark.parametrize("text, match", [
    ("", "stands for 0 bytes"),
    ("x" * 1025, "stands for 1025 bytes"),
    ("\u2581image", "tokens 263 and 265 both stand for the bytes b' image'"),  # the text of id 265
    (" image", "tokens 263 and 265 both stand for the bytes b' image'"),  # a space and ▁ are the same bytes
], ids=["empty", "long", "twice", "space"])
def test_sentencepiece_pieces_are_checked(tmp_path, text, match):
    assert _proto().pieces[265].piece == "\u2581image"
    path = _edited(tmp_path, lambda proto: setattr(_piece_at(proto, "\u2581the"), "piece", text))
    _refused("sentencepiece", path, match)


@pytest.mark.parametrize("text", ["<0xZZ>", "<0x4a>", "<0x100>", "0x41", "< 0x41>"])
def test_sentencepiece_byte_pieces_must_be_named_like_bytes(tmp_path, text):
    path = _edited(tmp_path, lambda proto: setattr(_piece_at(proto, "<0x41>"), "piece", text))
    _refused("sentencepiece", path, "is a byte piece, which must be named <0x00> to <0xFF>")


def test_sentencepiece_unknown_type_and_bad_utf8_are_refused(tmp_path):
    proto = _proto()
    _piece_at(proto, "\u2581the").MergeFromString(bytes([3 << 3, 42]))  # type = 42: kept as an unknown field
    _refused("sentencepiece", _write_proto(tmp_path / "m.model", proto), "has the unknown type 42")
    data = _trained_spm("llama")
    start = data.index("\u2581the".encode())
    (tmp_path / "m.model").write_bytes(data[:start] + b"\xff\xfe\x81" + data[start + 3:])
    _refused("sentencepiece", tmp_path / "m.model", "is not UTF-8 text")


def test_sentencepiece_special_names_are_checked(tmp_path):
    path = _edited(tmp_path, lambda proto: setattr(_piece_at(proto, "<|ctl|>"), "piece", ""))
    _refused("sentencepiece", path, "special token 4 has the name ''")
    path = _edited(tmp_path, lambda proto: setattr(_piece_at(proto, "<|ctl|>"), "piece", "c" * 1025))
    _refused("sentencepiece", path, "has 1025 bytes")
    # A control token spelled like a piece, or like another special token: renamed, kept at its id.
    path = _edited(tmp_path, lambda proto: setattr(_piece_at(proto, "<|ctl|>"), "piece", "GIMP"))
    imported = from_sentencepiece(path)
    assert ("GIMP#4", 4) in imported.model.special_tokens and imported.model.bytes_by_id()[6] == b"GIMP"
    path = _edited(tmp_path, lambda proto: setattr(_piece_at(proto, "<|ctl|>"), "piece", "<eos>"))
    assert ("<eos>#4", 4) in from_sentencepiece(path).model.special_tokens


def test_sentencepiece_model_with_pieces_at_reserved_ids_is_refused(tmp_path):
    def edit(proto: Any) -> None:
        proto.pieces[1].type = 1
    _refused("sentencepiece", _edited(tmp_path, edit), "reserves ids 0-2")


def test_unreadable_sources_are_oserrors(tmp_path):
    for kind in IMPORTERS:
        with pytest.raises(OSError, match="missing"):
            IMPORTERS[kind](tmp_path / "missing")
        with pytest.raises(OSError):
            IMPORTERS[kind](tmp_path)


# -- Hugging Face imports -----------------------------------------------------------


def _unigram(vocab: List[Any], added: Optional[List[Any]] = None, **model: Any) -> Dict[str, Any]:
    return {"model": {"type": "Unigram", "unk_id": 0, "vocab": vocab, **model},
            "added_tokens": added if added is not None else
            [{"id": i, "content": name, "special": True} for i, name in enumerate(["<unk>", "<s>", "</s>"])]}


BASE_VOCAB = [["<unk>", 0.0], ["<s>", 0.0], ["</s>", 0.0], ["a", -1.0], ["b", -2.0], ["ab", -1.5]]


def _json_file(tmp_path: pathlib.Path, data: Any) -> pathlib.Path:
    path = tmp_path / "tokenizer.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_huggingface_empty_or_missing_vocab_is_refused(tmp_path):
    _refused("hf", _json_file(tmp_path, _unigram([], unk_id=None)), "no token that text can produce")
    _refused("hf", _json_file(tmp_path, _unigram(BASE_VOCAB[:3])), "no token that text can produce")
    _refused("hf", _json_file(tmp_path, {"model": {"type": "Unigram"}}), "no vocab list")
    _refused("hf", _json_file(tmp_path, _unigram(BASE_VOCAB[3:], added=[])), "reserves ids 0-2")
    _refused("hf", _json_file(tmp_path, {"model": {"type": "BPE", "vocab": {}}}), "only Unigram")
    _refused("hf", _json_file(tmp_path, []), "only Unigram")


def test_huggingface_added_tokens_keep_their_ids(tmp_path):
    added = [{"id": i, "content": name, "special": True} for i, name in enumerate(["<unk>", "<s>", "</s>"])]
    added += [{"id": 6, "content": "<|im_start|>", "special": True}, {"id": 7, "content": "<pad>", "special": True},
              {"id": 8, "content": "ab", "special": False}]
    imported = from_huggingface(_json_file(tmp_path, _unigram(BASE_VOCAB, added)))
    model = imported.model
    # Past the base vocabulary: kept at their ids, never reused by the bytes added after them.
    specials = dict(model.special_tokens)
    assert specials["<|im_start|>"] == 6 and specials["<pad>#7"] == 7 and specials["ab#8"] == 8
    assert model.bytes_by_id()[3:6] == (b"a", b"b", b"ab") and model.vocab_size == 9 + 254
    assert any("renamed" in note for note in imported.notes)
    assert any("matches in text as ordinary tokens" in note for note in imported.notes)
    _check_model(model, tmp_path)
    gap = added[:3] + [{"id": 10**12, "content": "<far>", "special": True}]
    _refused("hf", _json_file(tmp_path, _unigram(BASE_VOCAB, gap)), "no token at id 6")
    twice = added[:3] + [{"id": 6, "content": "x"}, {"id": 6, "content": "y"}]
    _refused("hf", _json_file(tmp_path, _unigram(BASE_VOCAB, twice)), "two added tokens have the id 6")


@pytest.mark.parametrize("score, shown", [(-1e308, "-1e+308"), (1e10, "10000000000.0"), ("NaN", "nan"),
                                          ("Infinity", "inf"), ("-" + "9" * 401, "an integer of 401 digits"),
                                          ('"x"', "'x'"), ("true", "True"), ("null", "None")])
def test_huggingface_scores_are_checked(tmp_path, score, shown):
    text = json.dumps(_unigram(BASE_VOCAB)).replace('["b", -2.0]', f'["b", {score}]')
    message = _refused("hf", _json_file(tmp_path, text), "token 4 'b' has the score")
    assert shown in message


def test_huggingface_lowest_score_keeps_the_byte_floor_in_range(tmp_path):
    vocab = BASE_VOCAB[:3] + [["a", -MAX_ABS_SCORE], ["b", 0.0]]
    model = from_huggingface(_json_file(tmp_path, _unigram(vocab))).model
    assert model.scores().min() == -MAX_ABS_SCORE
    tok = bytepiece.Tokenizer(model)
    assert tok.decode_bytes(tok.encode(b"\x00ab\xff")) == b"\x00ab\xff"


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["model"].update(vocab="abc"), "no vocab list"),
    (lambda d: d["model"]["vocab"].__setitem__(3, ["a"]), "vocab entry 3 must be [token, score]"),
    (lambda d: d["model"]["vocab"].__setitem__(3, [5, -1.0]), "vocab entry 3 must be [token, score]"),
    (lambda d: d["model"]["vocab"].__setitem__(3, "a"), "vocab entry 3 must be [token, score]"),
    (lambda d: d["model"]["vocab"].__setitem__(3, ["", -1.0]), "stands for 0 bytes"),
    (lambda d: d["model"]["vocab"].__setitem__(3, ["b", -1.0]), "both stand for the bytes"),
    (lambda d: d["model"].update(unk_id=True), "unk_id is True"),
    (lambda d: d["model"].update(unk_id=99), "unk_id is 99"),
    (lambda d: d["model"].update(byte_fallback="yes"), "byte_fallback is 'yes'"),
    (lambda d: d.update(added_tokens={"id": 0}), "added_tokens must be a list"),
    (lambda d: d["added_tokens"].append({"content": "x"}), "added token 3 must be an object"),
    (lambda d: d["added_tokens"].append({"id": "7", "content": "x"}), "added token 3 must be an object"),
    (lambda d: d["added_tokens"].append({"id": -1, "content": "x"}), "added token 3 must be an object"),
    (lambda d: d["added_tokens"].append({"id": 6, "content": ""}), "special token 6 has the name ''"),
    (lambda d: d["added_tokens"].append(["x"]), "added token 3 must be an object"),
    (lambda d: d.update(pre_tokenizer=[]), "the pre_tokenizer must be an object or null"),
    (lambda d: d.update(pre_tokenizer={"type": ["ByteLevel"]}), "a pre_tokenizer has the type"),
    (lambda d: d.update(pre_tokenizer={"type": "Sequence", "pretokenizers": {}}), "must hold a list"),
    (lambda d: d.update(normalizer="NFC"), "the normalizer must be an object or null"),
    (lambda d: d.update(pre_tokenizer={"type": "Metaspace", "replacement": 5}), "Metaspace replacement is 5"),
    (lambda d: d.update(pre_tokenizer={"type": "ByteLevel"}), "token 3 'a' is not in the byte-level alphabet")
    if False else (lambda d: (d.update(pre_tokenizer={"type": "ByteLevel"}),
                              d["model"]["vocab"].__setitem__(3, ["é✓", -1.0])), "not in the byte-level alphabet"),
    (lambda d: d["model"]["vocab"].__setitem__(3, ["\ud800", -1.0]), "is not valid text"),
])
def test_huggingface_wrong_types_are_refused(tmp_path, edit, match):
    data = _unigram([list(entry) for entry in BASE_VOCAB])
    edit(data)
    _refused("hf", _json_file(tmp_path, data), match)


def test_huggingface_byte_fallback_names(tmp_path):
    vocab = BASE_VOCAB + [["<0x41>", 0.0], ["<0xZZ>", -3.0], ["<0x4a>", -3.0], ["<0xe4>", -3.0]]
    model = from_huggingface(_json_file(tmp_path, _unigram(vocab, byte_fallback=True))).model
    table = model.bytes_by_id()
    assert table[6] == b"A" and table[7:10] == (b"<0xZZ>", b"<0x4a>", b"<0xe4>")  # only <0xXX> is a byte


def test_huggingface_json_that_is_not_a_tokenizer(tmp_path):
    path = tmp_path / "tokenizer.json"
    for data, match in [(b"\xff\xfe{}", "not UTF-8 text: byte 0 is 0xff"), (b"{", "not a tokenizer.json"),
                        (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
                        (b'{"model": {"type": "Unigram", "vocab": [["a", ' + b"9" * 5000 + b"]]}}",
                         "not a tokenizer.json"),
                        (b"", "not a tokenizer.json")]:
        path.write_bytes(data)
        _refused("hf", path, match)
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_unigram(BASE_VOCAB)).encode())  # a BOM is fine
    assert from_huggingface(path).model.vocab_size == 6 + 254


def test_huggingface_deeply_nested_sequences_are_read_without_recursion(tmp_path):
    data = _unigram([["<unk>", 0.0], ["<s>", 0.0], ["</s>", 0.0], ["\u2581a", -1.0]])
    data["pre_tokenizer"] = "\0"
    nested = '{"type": "Sequence", "pretokenizers": [' * 300 + '{"type": "Metaspace"}' + "]}" * 300
    text = json.dumps(data).replace('"\\u0000"', nested)
    try:
        json.loads(text)
    except RecursionError:
        pytest.skip("this Python's JSON reader cannot nest 600 levels")
    imported = from_huggingface(_json_file(tmp_path, text))
    assert imported.model.bytes_by_id()[3] == b" a"


def test_huggingface_round_trip_of_an_export_keeps_everything(tmp_path):
    path = _json_file(tmp_path, _exported_json())
    model = _outcome("hf", path)
    assert model is not None and ("<|endoftext|>", model.vocab_size - 1) in model.special_tokens


# -- dictionaries and --pieces-file ---------------------------------------------------


@pytest.mark.parametrize("line, match", [
    ("北京 ²\n", "expected 'word count [tag]' with a count of at least 1"),
    ("北京 ٣\n", "expected 'word count [tag]'"),
    ("北京 0 ns\n", "expected 'word count [tag]'"),
    ("北京 -5\n", "expected 'word count [tag]'"),
    ("北京\n", "expected 'word count [tag]'"),
    ("北京 " + "9" * 5000 + "\n", "expected 'word count [tag]'"),
    ("北京 18446744073709551615\n天安门 18446744073709551615\n", "the counts are too large"),
    ("北京 100000000000000000000000\n", "the counts are too large"),
    ("", "no words"),
], ids=["superscript", "arabic-indic", "zero", "negative", "no-count", "5000-digits", "2**64-1", "10**23", "empty"])
def test_dictionary_lines_are_checked(tmp_path, line, match):
    path = tmp_path / "dict.txt"
    path.write_text(line, encoding="utf-8")
    message = _refused("dict", path, match)
    if "expected" in match:
        assert message.startswith(f"{path}:1: ")


def test_dictionary_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "dict.txt"
    path.write_bytes("北京 5\n".encode() + b"\xff\xfe 3\n")
    _refused("dict", path, "dict.txt:2: not UTF-8")


def test_dictionary_counts_up_to_the_limit_are_exact(tmp_path):
    words = {"ab": MAX_COUNT_MASS // 4, "abc": MAX_COUNT_MASS // 8, "b": 3}
    model = model_from_words(words)
    assert max(model.counts) == MAX_COUNT_MASS // 4 and math.isfinite(model.scores().min())
    with pytest.raises(ValueError, match="too large"):
        model_from_words({"ab": MAX_COUNT_MASS // 2 + 1})
    path = tmp_path / "dict.txt"
    path.write_text("\ufeff北京 5 ns\n天安门 3\n", encoding="utf-8")  # a BOM is not part of the first word
    assert read_word_counts(path) == {"北京": 5, "天安门": 3}


# -- exports ------------------------------------------------------------------------


def _tok(specials=(), pieces=None) -> bytepiece.Tokenizer:
    counts = pieces or {b"ab": 5, "héllo".encode(): 3, b"the": 7, b"a\x00b": 2}
    tok = bytepiece.Tokenizer.from_pieces(counts, add_missing_bytes=True)
    return tok.with_special_tokens(list(specials)) if specials else tok


@pytest.mark.parametrize("layout", ["bytepiece", "0.6.3"])
def test_sentencepiece_export_resolves_reserved_names(tmp_path, layout):
    tok = _tok(["<s>", "</s>", "<unk>", "<0x41>", "<|x|>"])
    path = tmp_path / "m.model"
    export = to_sentencepiece(tok.model, path, layout=layout)
    assert export.unused == [b"a\x00b"]  # SentencePiece refuses a NUL inside a piece
    sp = spm.SentencePieceProcessor(model_file=str(path))
    specials = tok.special_tokens
    for name in ("<s>", "</s>", "<unk>", "<|x|>"):
        assert sp.piece_to_id(name) == specials[name] and sp.is_control(specials[name])
    assert [sp.id_to_piece(i) for i in range(3)] == ["<pad>", "<bos>", "<eos>"]
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2)
    assert sp.is_byte(specials["<0x41>"]) and sp.piece_to_id("<0x41>") == specials["<0x41>"]
    text = "the ab héllo A"
    assert sp.encode(text) == tok.encode(text)


@pytest.mark.parametrize("name, match", [
    ("a\x00b\x00", "holds a NUL character"),
    ("<0xE4>", "has the name of the byte piece of byte 0xE4"),
    ("<0x00>", "has the name of the byte piece of byte 0x00"),
    ("\u2581", "would be spelled like the piece b' '"),
    ("x\u2581y", "would be spelled like the piece b'x y'"),
])
def test_sentencepiece_export_refuses_special_names_before_writing(tmp_path, name, match):
    pieces = {b"ab": 5, b"x y": 3}
    tok = _tok([name], pieces)
    path = tmp_path / "m.model"
    path.write_bytes(b"earlier")
    with pytest.raises(ValueError, match=f"cannot export to SentencePiece: the special token .*{match}"):
        to_sentencepiece(tok.model, path)
    assert path.read_bytes() == b"earlier" and os.listdir(tmp_path) == ["m.model"]


def test_sentencepiece_export_placeholders_never_take_a_real_name(tmp_path):
    tok = _tok(["<unused:610062>"], {b"a\x00b": 3, b"<unused:610062:1>": 2, b"xy": 4})
    to_sentencepiece(tok.model, tmp_path / "m.model")
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "m.model"))
    assert sp.encode("<unused:610062:1>") == tok.encode("<unused:610062:1>")


def test_sentencepiece_export_is_loaded_before_it_lands(tmp_path, monkeypatch):
    from bytepiece.formats import sentencepiece as module

    path = tmp_path / "m.model"
    path.write_bytes(b"earlier")

    class Refusing:
        def __init__(self, **_: Any) -> None:
            raise RuntimeError("INTERNAL: made to fail")

    monkeypatch.setattr(spm, "SentencePieceProcessor", Refusing)
    with pytest.raises(ValueError, match="SentencePiece cannot load the export .*made to fail.*nothing was written"):
        module.to_sentencepiece(_tok().model, path)
    assert path.read_bytes() == b"earlier" and os.listdir(tmp_path) == ["m.model"]


def test_sentencepiece_check_runs_on_the_temporary_file(tmp_path):
    path = tmp_path / "m.model"
    path.write_bytes(b"earlier")
    seen = []

    def refuse(temp: str) -> None:
        seen.append(temp)
        assert spm.SentencePieceProcessor(model_file=temp).get_piece_size() > 0
        raise ValueError("refused by the check")

    with pytest.raises(ValueError, match="refused by the check"):
        to_sentencepiece(_tok().model, path, check=refuse)
    assert seen and seen[0] != str(path) and not os.path.exists(seen[0])
    assert path.read_bytes() == b"earlier"


def test_agreement_on_nothing_claims_nothing(tmp_path):
    assert math.isnan(Agreement(0, 0, 0, 0).text_rate) and math.isnan(Agreement(0, 0, 0, 0).boundary_rate)
    assert math.isnan(Agreement(3, 3, 0, 0).boundary_rate) and Agreement(3, 3, 0, 0).text_rate == 1.0
    tok = _tok()
    to_sentencepiece(tok.model, tmp_path / "m.model")
    assert sentencepiece_agreement(tok, tmp_path / "m.model", []).texts == 0
    agreement = sentencepiece_agreement(tok, tmp_path / "m.model", iter(["the ab"] * 2500))  # batched
    assert (agreement.texts, agreement.identical_texts) == (2500, 2500)


def test_huggingface_export_files_land_together_or_not_at_all(tmp_path, monkeypatch):
    from bytepiece.formats import huggingface as module

    folder = tmp_path / "out"
    to_huggingface(_tok().model, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert sorted(before) == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]

    def refuse(path: str, model: Any) -> None:
        assert os.path.basename(path).startswith(".tokenizer.json.")
        raise ValueError("refused by the check")

    monkeypatch.setattr(module, "_check_loads", refuse)
    with pytest.raises(ValueError, match="refused by the check"):
        module.to_huggingface(_tok(["<|x|>"]).model, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    with pytest.raises(ValueError, match="refused by the check"):
        module.to_huggingface(_tok().model, tmp_path / "new" / "dir")
    assert not (tmp_path / "new" / "dir").exists()  # the folder made for the export is gone again


def test_huggingface_directory_export_is_loaded_in_transformers_when_installed(tmp_path, monkeypatch):
    import sys
    import types

    seen = []

    class AutoTokenizer:
        @staticmethod
        def from_pretrained(folder: str) -> Any:
            seen.append(sorted(os.listdir(folder)))
            raise OSError("made to fail")

    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(AutoTokenizer=AutoTokenizer))
    folder = tmp_path / "out"
    with pytest.raises(ValueError, match="transformers cannot load the export .made to fail.; nothing was written"):
        to_huggingface(_tok().model, folder)
    # It saw the files under their final names, and nothing landed.
    assert seen == [["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]]
    assert not folder.exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="it is a file"):
        to_huggingface(_tok().model, tmp_path / "file")


def test_huggingface_export_refuses_what_it_cannot_hold(tmp_path):
    path = tmp_path / "t.json"
    path.write_text("earlier")
    with pytest.raises(ValueError, match="spelled like a special token"):
        to_huggingface(_tok(pieces={b"<bos>": 5, b"ab": 3}).model, path)
    assert path.read_text() == "earlier"
    to_huggingface(_tok(["\u0120x", "<0x41>", "x\x00y"], {b"ab": 3}).model, path)  # odd names are fine
    loaded = tokenizers.Tokenizer.from_file(str(path))
    assert loaded.token_to_id("x\x00y") == _tok(["\u0120x", "<0x41>", "x\x00y"], {b"ab": 3}).special_tokens["x\x00y"]


def test_huggingface_export_of_names_like_its_internal_placeholder(tmp_path):
    # The vocabulary was once spliced in by replacing the JSON string "\0vocab\0":
    # a special token of that name was replaced instead, and the file was broken.
    tok = _tok(["\0vocab\0", "\0vocab0\0"], {b"ab": 3})
    to_huggingface(tok.model, tmp_path / "t.json")
    assert from_huggingface(tmp_path / "t.json").model.special_tokens == tok.model.special_tokens


def test_outputs_check_sees_complete_files(tmp_path):
    from bytepiece.outputs import atomic_files

    seen = []
    with atomic_files([tmp_path / "a", tmp_path / "b"], check=lambda temps: seen.append(
            [pathlib.Path(t).read_bytes() for t in temps])) as (f, g):
        f.write(b"one")
        g.write(b"two")
    assert seen == [[b"one", b"two"]] and (tmp_path / "a").read_bytes() == b"one"


# -- the command line ---------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "llama.model").write_bytes(_trained_spm("llama"))
    (folder / "empty.model").write_bytes(b"")
    (folder / "sup2.txt").write_text("北京 ²\n", encoding="utf-8")
    (folder / "wrap.txt").write_text("北京 18446744073709551615\n", encoding="utf-8")
    (folder / "deep.json").write_text("[" * 50_000 + "]" * 50_000)
    (folder / "huge.json").write_text(json.dumps(_unigram(BASE_VOCAB)).replace("-2.0", "-1e308"))
    _tok(["<s>"]).save(folder / "special.model")
    _tok(["a\x00b\x00"], {b"ab": 3}).save(folder / "nul.model")
    (folder / "empty.jsonl").write_text("")
    (folder / "texts.jsonl").write_text("\n".join(json.dumps({"text": t}) for t in _corpus_lines(20)))
    return folder


def test_cli_import_refusals_are_one_line(cli_files, tmp_path):
    out = tmp_path / "out.model"
    for source, kind, match in [("empty.model", "sentencepiece", "empty.model: not a complete SentencePiece"),
                                ("sup2.txt", "dict", r"sup2.txt:1: expected 'word count \[tag\]'"),
                                ("wrap.txt", "dict", "wrap.txt: the counts are too large"),
                                ("deep.json", "hf", "deep.json: not a tokenizer.json .JSON nested too deeply"),
                                ("huge.json", "hf", "huge.json: token 4 'b' has the score -1e\\+308"),
                                ("missing.json", "hf", "missing.json")]:
        expect_cli_error(["import", cli_files / source, "--format", kind, "-o", out], match)
    assert not out.exists()


def test_cli_import_of_a_llama_like_model_notes_the_renaming(cli_files, tmp_path):
    out = tmp_path / "out.model"
    err = expect_ok(run_cli(["import", cli_files / "llama.model", "--format", "sentencepiece", "-o", out])).stderr
    assert "note: 1 special token(s) renamed" in err and "'<pad>' (id 3) is '<pad>#3'" in err
    back = tmp_path / "back.model"
    err = expect_ok(run_cli(["export", out, "--format", "sentencepiece", "-o", back, "--sample-size", "50"])).stderr
    assert "agreement with bytepiece on 50 of texts made of the model's pieces" in err
    assert spm.SentencePieceProcessor(model_file=str(back)).get_piece_size() > 300


def test_cli_export_refusals_leave_the_earlier_file(cli_files, tmp_path):
    out = tmp_path / "m.spm"
    out.write_bytes(b"earlier")
    model = cli_files / "special.model"
    for args, match in [
        (["--sample-size", "0"], "--sample-size must be at least 1, got 0"),
        (["--min-agreement", "1.5"], "--min-agreement is a share of texts from 0 to 1"),
        (["--min-agreement", "nan"], "--min-agreement is a share of texts from 0 to 1"),
        (["--sample", cli_files / "empty.jsonl", "--field", "text"], "no texts to measure agreement on"),
    ]:
        expect_cli_error(["export", model, "--format", "sentencepiece", "-o", out, *args], match)
    expect_cli_error(["export", cli_files / "nul.model", "--format", "sentencepiece", "-o", out],
                     "cannot export to SentencePiece: the special token 'a\\\\x00b\\\\x00' .* holds a NUL")
    expect_cli_error(["export", model, "--format", "hf", "-o", tmp_path / "t.json", "--min-agreement", "0.5"],
                     "--sample and --min-agreement measure a SentencePiece export")
    assert out.read_bytes() == b"earlier" and os.listdir(tmp_path) == ["m.spm"]
    err = expect_ok(run_cli(["export", model, "--format", "sentencepiece", "-o", out, "--sample",
                             cli_files / "texts.jsonl", "--field", "text", "--min-agreement", "0.9"])).stderr
    assert "agreement with bytepiece on 20 of the given texts: 100.0% of texts identical" in err
    assert spm.SentencePieceProcessor(model_file=str(out)).piece_to_id("<s>") == _tok(["<s>"]).special_tokens["<s>"]


@pytest.mark.parametrize("content, match", [
    ("GIMP\t²\n", r"terms.tsv:1: expected 'piece' or 'piece<TAB>count'"),
    ("GIMP\t0\n", r"terms.tsv:1: expected"),
    ("ok\t5\n\t5\n", r"terms.tsv:2: expected"),
    ("GIMP\t" + "9" * 5000 + "\n", r"terms.tsv:1: expected"),
    (b"ok\n\xff\xfe\n", r"terms.tsv:2: not UTF-8"),
], ids=["superscript", "zero", "no-piece", "5000-digits", "not-utf8"])
def test_cli_pieces_file_lines_are_checked(tmp_path, content, match):
    terms = tmp_path / "terms.tsv"
    if isinstance(content, bytes):
        terms.write_bytes(content)
    else:
        terms.write_text(content, encoding="utf-8")
    expect_cli_error(["extend", FIXTURES / "sample1000.model", "--pieces-file", terms, "-o", tmp_path / "x.model"],
                     match)
    assert not (tmp_path / "x.model").exists()


def test_pieces_file_reads_windows_lines_and_a_bom(tmp_path):
    from bytepiece.cli import _read_pieces_file

    terms = tmp_path / "terms.tsv"
    terms.write_bytes("\ufeffGIMP\t50\r\n笔刷工具\r\n\r\n".encode())
    pieces: Dict[str, Optional[int]] = {}
    _read_pieces_file(str(terms), pieces)
    assert pieces == {"GIMP": 50, "笔刷工具": None}


# -- fuzz ---------------------------------------------------------------------------

FUZZ_DIR = pathlib.Path(tempfile.mkdtemp(prefix="bytepiece-formats-fuzz-"))
NAMES = st.lists(st.sampled_from(list("ab ▁<>/sunkpad#0x4AFé中\0\t\n|") + ["<s>", "<0x41>", "</s>", "<pad>"]),
                max_size=6).map("".join)
SCORES = st.floats(width=32) | st.sampled_from([0.0, -1e9, 1e9, -1e10, math.nan, math.inf])
PROTO_EDITS = st.one_of(
    st.tuples(st.just("text"), st.floats(0, 1), NAMES),
    st.tuples(st.just("score"), st.floats(0, 1), SCORES),
    st.tuples(st.just("type"), st.floats(0, 1), st.integers(1, 6)),
    st.tuples(st.just("raw_type"), st.floats(0, 1), st.integers(0, 127)),
    st.tuples(st.just("drop"), st.floats(0, 1), st.integers(1, 60)),
    st.tuples(st.just("add"), NAMES, st.integers(1, 6), SCORES),
    st.tuples(st.just("clear"), st.sampled_from(["trainer_spec", "normalizer_spec", "denormalizer_spec"])),
    st.tuples(st.just("vocab_size"), st.integers(0, 400)),
    st.tuples(st.just("escape"), st.booleans()),
)
BYTE_EDITS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(max_size=8)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 40)),
)


def _at(sequence_length: int, fraction: float) -> int:
    return min(int(fraction * sequence_length), max(sequence_length - 1, 0))


def _apply_proto_edit(proto: Any, edit: tuple) -> None:
    op, *args = edit
    pieces = proto.pieces
    if op in ("text", "score", "type", "raw_type", "drop") and not len(pieces):
        return
    if op == "text":
        pieces[_at(len(pieces), args[0])].piece = args[1]
    elif op == "score":
        pieces[_at(len(pieces), args[0])].score = args[1]
    elif op == "type":
        pieces[_at(len(pieces), args[0])].type = args[1]
    elif op == "raw_type":  # any value, known to the enum or not
        pieces[_at(len(pieces), args[0])].MergeFromString(bytes([3 << 3, args[1]]))
    elif op == "drop":
        start = _at(len(pieces), args[0])
        del pieces[start:start + args[1]]
    elif op == "add":
        pieces.add(piece=args[0], type=args[1], score=args[2])
    elif op == "clear":
        proto.ClearField(args[0])
    elif op == "vocab_size":
        proto.trainer_spec.vocab_size = args[0]
    elif op == "escape":
        proto.normalizer_spec.escape_whitespaces = args[0]


def _apply_byte_edit(data: bytes, edit: tuple) -> bytes:
    op, fraction, *args = edit
    at = _at(len(data) + 1, fraction)
    if op == "truncate":
        return data[:at]
    if op == "flip":
        return data[:at] + bytes([args[0]]) + data[at + 1:]
    if op == "insert":
        return data[:at] + args[0] + data[at:]
    return data[:at] + data[at + args[0]:]


@FUZZ
@given(kind=st.sampled_from(["llama", "plain"]), proto_edits=st.lists(PROTO_EDITS, max_size=4),
       byte_edits=st.lists(BYTE_EDITS, max_size=3))
def test_fuzz_sentencepiece_reader(kind, proto_edits, byte_edits):
    proto = _proto(kind)
    for edit in proto_edits:
        _apply_proto_edit(proto, edit)
    data = proto.SerializeToString()
    for edit in byte_edits:
        data = _apply_byte_edit(data, edit)
    path = FUZZ_DIR / "fuzz.model"
    path.write_bytes(data)
    _outcome("sentencepiece", path)


JSON_KEYS = st.sampled_from(["type", "vocab", "id", "content", "special", "unk_id", "byte_fallback", "model",
                             "added_tokens", "pre_tokenizer", "normalizer", "pretokenizers", "normalizers",
                             "replacement"]) | NAMES


def _json_containers(children: Any) -> Any:
    return st.lists(children, max_size=4) | st.dictionaries(JSON_KEYS, children, max_size=4)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | NAMES
    | st.sampled_from(["Unigram", "ByteLevel", "Metaspace", "Sequence", "NFC", "<0x41>", 1e308, -1e308]),
    _json_containers, max_leaves=12)


def _replace_at(data: Any, steps: List[float], value: Any) -> Any:
    """``data`` with the node reached by ``steps`` (each picks a child) replaced by ``value``."""
    if not steps or not isinstance(data, (dict, list)) or not data:
        return value
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = keys[_at(len(keys), steps[0])]
    data[key] = _replace_at(data[key], steps[1:], value)
    return data


@FUZZ
@given(edits=st.lists(st.tuples(st.lists(st.floats(0, 1), max_size=5), JSON_VALUES), max_size=3),
       byte_edits=st.lists(BYTE_EDITS, max_size=2))
def test_fuzz_huggingface_reader_on_an_edited_export(edits, byte_edits):
    data = json.loads(_exported_json())
    for steps, value in edits:
        data = _replace_at(data, steps, value)
    text = json.dumps(data).encode()
    for edit in byte_edits:
        text = _apply_byte_edit(text, edit)
    path = FUZZ_DIR / "edited.json"
    path.write_bytes(text)
    _outcome("hf", path)


@FUZZ
@given(document=JSON_VALUES, vocab=st.lists(st.tuples(NAMES, JSON_VALUES), max_size=8),
       added=st.lists(st.fixed_dictionaries({"id": st.integers(-1, 12), "content": NAMES}), max_size=5),
       depth=st.integers(0, 3000))
def test_fuzz_huggingface_reader_on_random_json(document, vocab, added, depth):
    path = FUZZ_DIR / "random.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    _outcome("hf", path)
    structured = _unigram([list(entry) for entry in vocab], added)
    structured["pre_tokenizer"] = document
    path.write_text(json.dumps(structured), encoding="utf-8")
    _outcome("hf", path)
    path.write_text("[" * depth + json.dumps(structured) + "]" * depth, encoding="utf-8")
    _outcome("hf", path)


LINE_PARTS = st.sampled_from(["北京", "a", " ", "\t", "1", "0", "5", "²", "٣", "-", "n", "9" * 30,
                              "18446744073709551615", "\x00", "\r", "\ufeff", "▁"])


@FUZZ
@given(lines=st.lists(st.lists(LINE_PARTS, max_size=6).map("".join) | st.text(max_size=12), max_size=8),
       raw=st.binary(max_size=12))
def test_fuzz_dictionary_and_pieces_file_readers(lines, raw):
    from bytepiece.cli import _read_pieces_file

    path = FUZZ_DIR / "dict.txt"
    for data in ("\n".join(lines).encode("utf-8", "surrogatepass"), raw):
        path.write_bytes(data)
        _outcome("dict", path)
        try:
            _read_pieces_file(str(path), {})
        except ValueError as exc:
            assert str(exc).startswith(f"{path}:")


EXPORT_PIECES = st.sampled_from([b"a", b"b", b" ", b"\x00", b"<", b">", b"s", b"/", "▁".encode(), b"\xe4",
                                 b"\xb8", b"0x", b"41", b"\n", b"unk", b"#", b"pad"])


@FUZZ
@given(pieces=st.dictionaries(st.lists(EXPORT_PIECES, min_size=2, max_size=4).map(b"".join),
                              st.integers(1, 1000), max_size=12),
       specials=st.lists(NAMES.filter(lambda name: len(name.encode()) > 1), max_size=4, unique=True),
       layout=st.sampled_from(["bytepiece", "0.6.3"]))
def test_fuzz_exports_write_loadable_files_or_refuse(pieces, specials, layout):
    try:
        tok = _tok(specials, pieces or {b"ab": 1})
    except ValueError:  # names a model cannot have (the model's own checks)
        assume(False)
        return
    for name, export in [("m.model", lambda path: to_sentencepiece(tok.model, path, layout=layout)),
                         ("t.json", lambda path: to_huggingface(tok.model, path))]:
        path = FUZZ_DIR / name
        if path.exists():
            path.unlink()
        try:
            export(path)
        except ValueError as exc:
            assert "cannot export" in str(exc) or "spelled like a special token" in str(exc), str(exc)
            assert not path.exists()
            continue
        if name == "m.model":
            processor = spm.SentencePieceProcessor(model_file=str(path))
            assert processor.decode(processor.encode("ab s")) == "ab s"
        else:
            loaded = tokenizers.Tokenizer.from_file(str(path))  # it finds special tokens in any text
            assert loaded.encode("ab s<", add_special_tokens=False).ids == tok.encode("ab s<", allowed_special="all")


def test_a_missing_optional_package_is_one_error_line(tmp_path):
    """An export whose library is not installed says which package to install, in one line."""
    code = ("import sys; sys.modules['sentencepiece'] = None; sys.modules['tokenizers'] = None\n"
            "from bytepiece.cli import main\n"
            f"sys.exit(main(['export', {str(MODEL_40K)!r}, '--format', sys.argv[1], '-o', sys.argv[2]]))")
    for fmt, package in (("sentencepiece", "sentencepiece"), ("hf", "tokenizers")):
        outcome = run_capped([sys.executable, "-c", code, fmt, str(tmp_path / "out.model")])
        lines = [line for line in outcome.stderr.splitlines() if line.strip()]
        assert outcome.returncode == 1 and len(lines) == 1, outcome.describe()
        assert lines[0].startswith("bytepiece: error:") and f"pip install {package}" in lines[0]
        assert not (tmp_path / "out.model").exists()
