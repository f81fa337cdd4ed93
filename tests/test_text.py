"""Chunking and normalization (docs/spec/text.md), as BytePiece 0.6.3 does them."""
import pytest

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
