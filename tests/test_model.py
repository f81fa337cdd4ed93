"""Model loading: valid files load, every malformed one is a ValueError naming the problem."""
import base64
import gzip
import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece.formats.native import dump_model, load_model, parse_model
from bytepiece.model import Model, PackedPieces, model_from_counts, pack_pieces
from conftest import MODEL_40K, TINY_COUNTS


def tiny_json():
    return dump_model(model_from_counts(TINY_COUNTS, add_missing_bytes=True))


def b64(piece: bytes) -> str:
    return base64.b64encode(piece).decode()


def test_published_model_loads_from_zip_json_and_gzip(tmp_path):
    with zipfile.ZipFile(MODEL_40K) as archive:
        raw = archive.read(archive.namelist()[0])
    (tmp_path / "m.model").write_bytes(raw)
    (tmp_path / "m.model.gz").write_bytes(gzip.compress(raw))
    models = [load_model(MODEL_40K), load_model(tmp_path / "m.model"), load_model(str(tmp_path / "m.model.gz"))]
    assert models[0] == models[1] == models[2]
    assert len(models[0].pieces) == 39840


def test_model_round_trips_through_save(tmp_path, tok40k):
    tok40k.save(tmp_path / "copy.model")
    again = bytepiece.Tokenizer(str(tmp_path / "copy.model"))
    assert again.model == tok40k.model
    text = "round trip 往返"
    assert again.encode(text) == tok40k.encode(text)


def test_tokenizer_accepts_the_decoded_json_dict():
    tok = bytepiece.Tokenizer(tiny_json())
    assert tok.vocab_size == 256 + 6 + 3


def drop_byte(data):
    data.pop(b64(b"\x07"))
    # keep ids contiguous so that only the missing byte is wrong
    return {k: [i + 3, t, c] for i, (k, (_, t, c)) in enumerate(data.items())}


def set_entry(piece, entry):
    """Replace the entry of ``piece``; ``ID`` in ``entry`` stands for its current id."""

    def edit(data):
        current = data[b64(piece)][0]
        data[b64(piece)] = [current if x is ID else x for x in entry] if isinstance(entry, list) else entry
        return data

    return edit


def add_key(key, entry):
    def edit(data):
        data[key] = entry
        return data

    return edit


ID = object()

CASES = [
    ("missing single byte", drop_byte, r"lacks 1 of the 256 single-byte pieces \(b'\\x07'\)"),
    ("empty piece", add_key("", [265, "", 3]), "decodes to an empty piece"),
    ("bad base64", add_key("!!notbase64", [265, "", 3]), "not valid base64"),
    ("zero count", set_entry(b"ab", [ID, "ab", 0]), "must be a positive integer, got 0"),
    ("negative count", set_entry(b"ab", [ID, "ab", -4]), "must be a positive integer, got -4"),
    ("float count", set_entry(b"ab", [ID, "ab", 2.5]), "must be a positive integer, got 2.5"),
    ("string count", set_entry(b"ab", [ID, "ab", "7"]), "must be a positive integer"),
    ("bool count", set_entry(b"ab", [ID, "ab", True]), "must be a positive integer, got True"),
    ("short entry", set_entry(b"ab", [ID, 3]), r"must be \[id, text, count\]"),
    ("entry not a list", set_entry(b"ab", "x"), r"must be \[id, text, count\]"),
    ("id not int", set_entry(b"ab", ["5", "ab", 3]), "id of piece b'ab' must be an integer"),
    ("special id", set_entry(b"ab", [1, "ab", 3]), "id 1 of piece b'ab' is out of range"),
    ("negative id", set_entry(b"ab", [-3, "ab", 3]), "out of range"),
    ("id past the end", set_entry(b"ab", [10**6, "ab", 3]), "out of range"),
]


@pytest.mark.parametrize("name,edit,message", CASES, ids=[c[0] for c in CASES])
def test_malformed_model_dict_is_a_clear_value_error(name, edit, message):
    with pytest.raises(ValueError, match=message):
        bytepiece.Tokenizer(edit(tiny_json()))


def test_duplicate_id_is_named():
    data = tiny_json()
    data[b64(b"ab")][0] = data[b64(b"ba")][0]
    with pytest.raises(ValueError, match=r"id \d+ is used by both"):
        parse_model(data)


def test_two_keys_decoding_to_one_piece_are_rejected():
    data = tiny_json()
    assert base64.b64decode("YWJ=") == b"ab"  # non-canonical padding bits
    data["YWJ="] = [len(data) + 3, "ab", 1]
    with pytest.raises(ValueError, match="'YWI=' and 'YWJ=' both decode to the piece b'ab'"):
        parse_model(data)


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "invalid JSON"),
        (b"{\"YQ==\": [3, \"a\", 1]", "invalid JSON"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b"{}", "no pieces"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not UTF-8|invalid JSON"),
        (b'{"YQ==": [3, "a", 1], "YQ==": [4, "a", 1]}', "appears twice"),
        (b"\x1f\x8b\x08\x00garbage", "corrupt compressed"),
    ],
)
def test_malformed_model_file_is_a_clear_value_error(tmp_path, content, message):
    path = tmp_path / "bad.model"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        bytepiece.Tokenizer(str(path))
    assert str(path) in str(info.value)


def test_missing_model_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        bytepiece.Tokenizer(str(tmp_path / "nope.model"))


def test_zip_with_two_members_is_rejected(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.model", json.dumps(tiny_json()))
        archive.writestr("b.model", json.dumps(tiny_json()))
    with pytest.raises(ValueError, match="exactly one file"):
        bytepiece.Tokenizer(path)


def test_wrong_constructor_argument_is_a_type_error():
    with pytest.raises(TypeError, match="model path or a decoded model dict"):
        bytepiece.Tokenizer(42)


def test_from_pieces_requires_every_byte_unless_asked_to_add_them():
    with pytest.raises(ValueError, match="single-byte pieces"):
        bytepiece.Tokenizer.from_pieces({b"a": 3, b"ab": 2})
    tok = bytepiece.Tokenizer.from_pieces({b"a": 3, b"ab": 2}, add_missing_bytes=True)
    assert tok.vocab_size == 256 + 1 + 3
    assert tok.tokenize(b"abab") == [b"ab", b"ab"]
    with pytest.raises(TypeError, match="pieces must be bytes"):
        bytepiece.Tokenizer.from_pieces({"a": 3}, add_missing_bytes=True)


def test_from_pieces_assigns_ids_in_length_then_byte_order():
    tok = bytepiece.Tokenizer.from_pieces({b"zz": 2, b"ab": 5}, add_missing_bytes=True)
    assert tok.piece_to_id(b"\x00") == 3
    assert tok.piece_to_id(b"\xff") == 258
    assert tok.piece_to_id(b"ab") == 259
    assert tok.piece_to_id(b"zz") == 260


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=6), max_size=12), st.data())
def test_packed_pieces_take_and_concatenate_equal_list_indexing(pieces, data):
    packed = pack_pieces(pieces)
    rows = data.draw(st.lists(st.integers(0, max(len(pieces) - 1, 0)), max_size=10 if pieces else 0))
    taken = packed.take(rows)
    assert taken.pieces() == [pieces[i] for i in rows]
    assert taken.lengths().tolist() == [len(pieces[i]) for i in rows]
    cut = data.draw(st.integers(0, len(pieces)))
    joined = PackedPieces.concatenate([pack_pieces(pieces[:cut]), pack_pieces([]), pack_pieces(pieces[cut:])])
    assert joined.pieces() == pieces
    assert joined.offsets.tolist() == packed.offsets.tolist()


def test_model_from_canonical_equals_the_model_of_its_tuples():
    full = model_from_counts(TINY_COUNTS, add_missing_bytes=True)
    # Every single byte (a model needs them all) and every other longer piece.
    rows = np.array([i for i, piece in enumerate(full.pieces) if len(piece) == 1 or i % 2 == 0])
    counts = np.array(full.counts, dtype=np.uint64)[rows]
    made = Model.from_canonical(full.packed().take(rows), counts)
    plain = Model(tuple(full.pieces[i] for i in rows), tuple(range(3, 3 + len(rows))), tuple(counts.tolist()))
    assert made == plain
    assert made.scores().tolist() == plain.scores().tolist()
    assert made.counts_array().tolist() == list(plain.counts)
    assert made.packed().offsets.tolist() == plain.packed().offsets.tolist()
    with pytest.raises(ValueError):  # the cached array is the model's: read-only
        made.counts_array()[0] = 7


def test_counts_array_refuses_counts_beyond_uint64():
    pieces = [bytes([b]) for b in range(256)]
    model = Model(pieces, range(3, 259), [1 << 64] + [1] * 255)
    with pytest.raises(ValueError, match="2\\*\\*64"):
        model.counts_array()
    assert np.isfinite(model.scores()).all()  # scores still come from the integers


def test_packed_pieces_take_refuses_rows_that_are_not_pieces():
    packed = pack_pieces([b"ab", b"c"])
    for rows in ([2], [-1], [0, 5]):
        with pytest.raises(ValueError, match="not a piece"):
            packed.take(rows)
    assert packed.take(np.zeros(0, dtype=np.int64)).pieces() == []
