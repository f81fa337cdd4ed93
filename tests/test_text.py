"""Chunking and normalization (docs/spec/text.md), as BytePiece 0.6.3 does them."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bytepiece import normalize
from bytepiece.text import to_utf8


@pytest.mark.parametrize(
    "text,chunks",
    [
        ("", []),
        ("abc", [b"abc"]),
        ("\n", [b"\n"]),
        ("\n\nab", [b"\n\n", b"ab"]),
        ("a\nb\n\n\nc", [b"a\n", b"b\n\n\n", b"c"]),
        ("a\r\nb\r", [b"a\r\n", b"b\r"]),
        ("x\u2028y", ["x\u2028y".encode()]),  # only \n cuts
    ],
)
def test_chunks_end_after_each_run_of_newlines(text, chunks):
    assert normalize(text) == chunks
    assert normalize(text.encode()) == chunks


def test_str_is_nfc_normalized_first():
    assert normalize("e\u0301") == ["\u00e9".encode()]
    assert to_utf8("e\u0301") == "\u00e9".encode()
    assert to_utf8(b"e\xcc\x81") == b"e\xcc\x81"


def test_training_caps_count_characters_not_bytes():
    text = "中" * 7 + "\n" * 150
    assert normalize(text, maxlen=3) == ["中中中".encode(), "中中中".encode(), ("中" + "\n" * 100).encode(), b"\n" * 50]


def test_isolate_digits_makes_each_digit_a_chunk():
    assert normalize("ab12c\n3", isolate_digits=True) == [b"ab", b"1", b"2", b"c\n", b"3"]
    # Unicode digits count as digits for str input, as in 0.6.3.
    assert normalize("x\u0663y", isolate_digits=True) == [b"x", "\u0663".encode(), b"y"]


def test_negative_maxlen_is_rejected():
    with pytest.raises(ValueError, match="maxlen"):
        normalize("abc", maxlen=-1)


# -- the one-pass UTF-8 of NFC-inert str (csrc/bp_utf8.h) ----------------------------------------------------

def _byte_segmenter():
    """A vocabulary of the 256 single bytes, byte b with id b + 3: its ids spell out the UTF-8 it segmented."""
    import numpy as np
    from bytepiece import _core

    return _core.Segmenter(bytes(range(256)), np.arange(257, dtype=np.int64), np.zeros(256),
                           np.arange(3, 259, dtype=np.int32))


def _composition_seconds():
    """Code points that NFC may compose with a character before them: the second of each
    canonical pair decomposition, and Hangul's vowel and trailing jamo (composed by rule)."""
    import sys
    import unicodedata

    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    for cp in range(sys.maxunicode + 1):
        parts = unicodedata.decomposition(chr(cp)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(int(parts[1], 16))
    return seconds


def test_one_pass_utf8_only_for_characters_nfc_never_touches():
    import unicodedata

    from bytepiece import _core

    segmenter, seconds = _byte_segmenter(), _composition_seconds()
    inert = 0
    for cp in range(0x10000):
        char = chr(cp)
        ids = segmenter.encode_str(char, _core.MODE_BEST, 0.0, 0)
        if ids is None:
            continue
        inert += 1
        assert unicodedata.combining(char) == 0, hex(cp)
        assert cp not in seconds, hex(cp)
        assert unicodedata.normalize("NFC", char) == char, hex(cp)
        assert ids == [b + 3 for b in char.encode()], hex(cp)
    assert inert > 40000  # the common scripts take the fast path (a regression guard on its reach)
    for common in "aZ é ß α Ж ệ 中 한 ア ！ → ─ — “ ”".split():
        assert segmenter.encode_str(common, _core.MODE_BEST, 0.0, 0) is not None, common
    for other in ["e\u0301", "\u212b", "\ud800", "\U0001f600", "\u304b\u3099"]:
        assert segmenter.encode_str(other, _core.MODE_BEST, 0.0, 0) is None, ascii(other)


_MIXED = st.text(st.sampled_from("ab \n\u00e9e\u0301\u4e2d\u6587\u2192\u212b\uac00\u11a8\u304b\u3099\U0001f600\u0416"),
                 max_size=40)


@settings(max_examples=300, deadline=None)
@given(text=_MIXED)
def test_str_ids_equal_those_of_its_nfc_utf8_on_either_path(tok40k, text):
    """Regression guard for the one-pass path: a str's ids are those of its NFC UTF-8,
    whether it is all inert (one pass in C) or not (CPython's normalize and encode)."""
    assert tok40k.encode(text) == tok40k.encode(to_utf8(text))
    assert tok40k.encode(text, normalize=False) == tok40k.encode(text.encode())


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(_MIXED | st.binary(max_size=20), max_size=8))
def test_batch_of_str_and_bytes_takes_the_ids_of_their_nfc_utf8(tok40k, texts):
    """Batches take str without a bytes copy where NFC leaves it unchanged (one pass in C),
    and to_utf8 for the rest: either way, the ids of each text's NFC UTF-8."""
    expected = [tok40k.encode(to_utf8(t)) for t in texts]
    assert tok40k.encode_batch(texts) == expected
    ids, offsets = tok40k.encode_batch_numpy(texts)
    assert [ids[offsets[k]:offsets[k + 1]].tolist() for k in range(len(texts))] == expected
    raw = [to_utf8(t, normalize=False) for t in texts]
    assert tok40k.encode_batch(texts, normalize=False) == [tok40k.encode(b) for b in raw]


def test_str_and_bytes_subclasses_are_texts_too(tok40k):
    """Regression guard: the one-pass path takes exact str only; subclasses go the general way."""
    class Text(str):
        pass

    class Data(bytes):
        pass

    texts = [Text("h\u00e9llo \u4e2d\u6587"), Text("abc"), Data("caf\u00e9".encode())]
    expected = [tok40k.encode(str(t)) if isinstance(t, str) else tok40k.encode(bytes(t)) for t in texts]
    assert tok40k.encode_batch(texts) == expected
    assert [tok40k.encode(t) for t in texts] == expected
