"""Padding, truncation and attention masks (bytepiece/padding.py) against a plain-Python twin."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece.padding import pad_batch


def twin(rows, max_length, multiple, padding_side, truncation_side, add_bos, add_eos):
    """What pad_batch must give, one row at a time."""
    specials = add_bos + add_eos
    kept = []
    for row in rows:
        row = list(row)
        if max_length is not None and len(row) > max_length - specials:
            room = max_length - specials
            row = row[:room] if truncation_side == "right" else row[len(row) - room:]
        kept.append([1] * add_bos + row + [2] * add_eos)
    width = max((len(r) for r in kept), default=0)
    if multiple and width % multiple:
        width = min(width + multiple - width % multiple, max(width, max_length or 1 << 60))
    ids, mask = [], []
    for row in kept:
        pad = [0] * (width - len(row))
        ids.append(row + pad if padding_side == "right" else pad + row)
        mask.append([1] * len(row) + [0] * len(pad) if padding_side == "right" else [0] * len(pad) + [1] * len(row))
    return ids, mask


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(3, 50), max_size=12), max_size=6), st.one_of(st.none(), st.integers(2, 14)),
       st.one_of(st.none(), st.integers(1, 8)), st.sampled_from(["right", "left"]), st.sampled_from(["right", "left"]),
       st.booleans(), st.booleans(), st.booleans())
def test_pad_batch_matches_the_twin(rows, max_length, multiple, padding_side, truncation_side, add_bos, add_eos,
                                    as_arrays):
    assume(max_length is None or max_length > add_bos + add_eos)  # else refused (test below)
    batch = rows
    if as_arrays:
        offsets = np.cumsum([0] + [len(r) for r in rows])
        batch = (np.array([i for r in rows for i in r], dtype=np.int32), offsets)
    got = pad_batch(batch, max_length=max_length, pad_to_multiple_of=multiple, padding_side=padding_side,
                    truncation_side=truncation_side, add_bos=add_bos, add_eos=add_eos)
    ids, mask = twin(rows, max_length, multiple, padding_side, truncation_side, add_bos, add_eos)
    assert got.ids.tolist() == ids and got.attention_mask.tolist() == mask
    assert got.ids.shape == (len(rows), len(ids[0]) if ids else 0) and got.ids.dtype == np.int32
    assert got.lengths.tolist() == [sum(m) for m in mask]
    specials = add_bos + add_eos
    assert got.truncated.tolist() == [max_length is not None and len(r) > max_length - specials for r in rows]


def test_encode_padded_and_decode_batch_round_trip(tok40k):
    texts = ["BytePiece 分词器", "", "a much longer text than the others, with several words in it"]
    batch = tok40k.encode_padded(texts, add_bos=True, add_eos=True)
    assert batch.ids[:, 0].tolist() == [1, 1, 1] and batch.attention_mask.sum(1).tolist() == batch.lengths.tolist()
    assert tok40k.decode_batch(batch.ids) == texts  # <pad>, <bos>, <eos> decode to nothing
    assert tok40k.decode_batch(tok40k.encode_batch(texts)) == texts
    cut = tok40k.encode_padded(texts, max_length=4, truncation_side="left", padding_side="left")
    assert cut.ids.shape == (3, 4) and cut.truncated.tolist() == [True, False, True]
    assert cut.ids[2].tolist() == tok40k.encode(texts[2])[-4:]


@pytest.mark.parametrize("kwargs, error", [
    (dict(padding_side="middle"), "padding_side"), (dict(truncation_side="up"), "truncation_side"),
    (dict(max_length=2, add_bos=True, add_eos=True), "max_length"), (dict(pad_to_multiple_of=0), "pad_to_multiple_of"),
])
def test_bad_padding_options_are_refused(kwargs, error):
    with pytest.raises(ValueError, match=error):
        pad_batch([[3, 4]], **kwargs)
    with pytest.raises(ValueError, match="offsets"):
        pad_batch((np.array([3, 4]), np.array([0, 3])))
    with pytest.raises(TypeError):
        pad_batch("text")


def test_the_public_names_exist():
    assert bytepiece.Tokenizer.encode_padded.__doc__ and bytepiece.Tokenizer.decode_batch.__doc__
