"""NFC in linear time (bytepiece.text.nfc) and linear offsets (bytepiece.offsets).

CPython's unicodedata.normalize orders each run of combining marks with an
insertion sort: quadratic on long runs whose classes alternate. bytepiece's
nfc must equal it bit for bit on every text and stay linear; the offsets of
encode_with_offsets likewise. Exactness is checked here against
unicodedata; the time bounds in capped child processes (tests/hostile.py),
never by timing in this process.
"""
from __future__ import annotations

import sys
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bytepiece import offsets
from bytepiece.text import nfc, nfc_changes, split_chunks, to_utf8
from conftest import MODEL_40K, ROOT
from hostile import expect_ok, run_python

CAPS = dict(cwd=str(ROOT))

# Characters where NFC is delicate: marks of many classes (1, 7, 9, 27-35,
# 202, 216, 220, 230, 232, 234, 240), starters and the marks they compose
# with, Hangul jamo and syllables, Tibetan vowels that decompose into marks,
# two-part Indic vowels, singletons, composition exclusions, CJK
# compatibility ideographs, astral marks and decompositions, and plain text.
DELICATE = (
    "aeAEoucnsz \u00e0\u00e9\u00e7\u1e09\u01d6\u0105\u1ec7"
    "\u0300\u0301\u0302\u0303\u0308\u030a\u0316\u0323\u0327\u0328\u031b\u0334\u0338\u0345\u035c\u035d"
    "\u0340\u0341\u0343\u0344\u0374\u037e\u0387\u212b\u2126\u212a"
    "\u05b0\u05b8\u05bc\u064b\u064e\u0651\u0653\u0654\u0627\u0648"
    "\u0915\u093c\u094d\u0928\u0929\u0958"
    "\u09c7\u09be\u09d7\u0b47\u0b3e\u0b56\u0b57\u0bc6\u0bbe\u0bd7\u0cc6\u0cc2\u0cd5\u0cca\u0dd9\u0dcf\u0dca\u0ddf"
    "\u1025\u102e\u1b05\u1b35"
    "\u0f40\u0f71\u0f72\u0f73\u0f74\u0f75\u0f76\u0f77\u0f80\u0f81\u0f90\u0fb5\u0fb7\u0f39"
    "\u1100\u1101\u1161\u1162\u1175\u11a8\u11a9\u11c2\uac00\uac01\ud7a3\u3131"
    "\u304b\u3099\u309a\u30cf\uf900\ufb1d\ufb2a"
    "\U0001d15e\U0001d15f\U0001d165\U0001d16d\U0001d16e\U000110ba\U00011127\U00011131\U0001133e\U00011347"
    "\U0002f800\u4e2d\U0001f600"
)
MARKS = "\u0301\u0316\u0300\u0323\u0327\u0345\u0334\u05b0\u0f71\u0f72\u0f73\u0f80\u093c\u094d\U0001d165\U0001d16d"

# Units: a delicate character, or a run of marks long enough for the linear path.
_UNIT = st.one_of(
    st.sampled_from(DELICATE),
    st.tuples(st.text(st.sampled_from(MARKS), min_size=1, max_size=3), st.integers(1, 40)).map(lambda t: t[0] * t[1]),
)
TEXTS = st.lists(_UNIT, max_size=30).map("".join)


def apply(text, changes):
    """``text`` with each (start, end, replacement) put in."""
    parts, position = [], 0
    for start, end, replacement in changes:
        parts += [text[position:start], replacement]
        position = end
    return "".join(parts + [text[position:]])


# -- exactness -------------------------------------------------------------------------------------------------------


@settings(max_examples=1500, deadline=None)
@given(text=TEXTS)
def test_nfc_equals_unicodedata_bit_for_bit(text):
    assert nfc(text) == unicodedata.normalize("NFC", text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(), max_size=200))
def test_nfc_equals_unicodedata_on_any_text(text):
    assert nfc(text) == unicodedata.normalize("NFC", text)


@settings(max_examples=800, deadline=None)
@given(text=TEXTS)
def test_changes_are_minimal_stretches_that_rebuild_nfc(text):
    changes = nfc_changes(text)
    assert apply(text, changes) == unicodedata.normalize("NFC", text)
    previous = 0
    for start, end, normalized in changes:
        assert previous <= start < end
        assert normalized == unicodedata.normalize("NFC", text[start:end]) != text[start:end]
        previous = end


@pytest.mark.parametrize("shape", [
    lambda n: "a" + "\u0301" * n,
    lambda n: "a" + "\u0301\u0316" * n,
    lambda n: "\u0301\u0316" * n,  # no starter before the run
    lambda n: "\u0f73" * n,  # class 0, decomposes into marks of classes 129 and 130
    lambda n: "\u0f40" + "\u0f73\u0f80\u0f74" * n + "\u0f40",
    lambda n: "x" * 100 + "e\u0301\u0316\u0328" * n + " done",
    lambda n: ("\u1100\u1161\u11a8\u0301\u0316" * n),  # jamo compose; the marks follow a second
    lambda n: "\u0cc6" + "\u0cc2\u0cd5\u0316" * n,
    lambda n: "\u212b" + "\u0345\u0334" * n + "\U0001d15f\U0001d16d\U0001d165" * n,
    lambda n: "\ud800" + "\u0301\u0316" * n + "\udfff",  # lone surrogates are characters too
    lambda n: ("\u0301\u0316" * 40 + "a") * n,  # many long runs: the dense path
    lambda n: ("\u0301\u0316" * 40 + "\u00e9" * 20) * n,
    lambda n: ("e\u0301" * 30 + "\u0301\u0316" * 40 + "a") * n,  # and many short ones
])
def test_hostile_shapes_normalize_exactly(shape):
    for n in (1, 17, 40, 700):
        text = shape(n)
        assert nfc(text) == unicodedata.normalize("NFC", text), (shape, n)
        assert apply(text, nfc_changes(text)) == unicodedata.normalize("NFC", text)


@pytest.mark.parametrize("where", [-30, -3, -1, 0, 1, 5])
def test_stretches_across_the_scan_blocks_join(where):
    """The text is scanned 2**20 characters at a time: a run of marks cut by a
    block edge is one stretch, whichever side holds what NFC changes."""
    edge = 1 << 20
    for run in ("\u0301\u0316" * 20, "\u0316" * 39 + "\u0301", "\u0301" + "\u0316" * 39, "\u0316" * 20 + "\u0f73"):
        text = "x" * (edge + where) + run + "y" * 10
        assert nfc(text) == unicodedata.normalize("NFC", text)
        assert apply(text, nfc_changes(text)) == unicodedata.normalize("NFC", text)
        text = "x" * (edge + where) + "\u0e01" + run[::-1] + "y" * 10
        assert nfc(text) == unicodedata.normalize("NFC", text)


def test_everything_that_normalizes_takes_the_linear_nfc():
    text = "\u1e9b\u0323 " + "a\u0301\u0316" * 20 + " x\n\n" + "\u0f73" * 40
    expected = unicodedata.normalize("NFC", text)
    assert to_utf8(text) == expected.encode()
    assert b"".join(split_chunks(text)) == expected.encode()
    assert to_utf8(text, normalize=False) == text.encode()


def test_short_and_ascii_texts_are_returned_as_they_are():
    for text in ("", "abc", "caf\u00e9 " * 20, "\U0001f600" * 40):
        assert nfc(text) is text


def test_code_point_tables_match_unicodedata():
    """The per-code-point flags, found by probing blocks, against a plain look at
    every code point: a boundary is a character of class 0 whose decomposition
    starts with a character of class 0 that is the second of no canonical pair."""
    from bytepiece import text as text_module

    tables = text_module._get_tables()
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    decomposed = {}
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        assert tables.ccc[cp] == unicodedata.combining(char), hex(cp)
        parts = unicodedata.decomposition(char).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(int(parts[1], 16))
        nfd = unicodedata.normalize("NFD", char)
        if nfd != char:
            decomposed[cp] = nfd
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        first = ord(decomposed.get(cp, char)[0])
        boundary = not unicodedata.combining(char) and not unicodedata.combining(chr(first)) and first not in seconds
        flags = int(tables.flags[cp])
        assert bool(flags & text_module._NOT_BOUNDARY) == (not boundary), hex(cp)
        assert bool(flags & text_module._CHANGES) == (unicodedata.normalize("NFC", char) != char), hex(cp)
        assert bool(flags & text_module._MAYBE) == (first in seconds), hex(cp)


def test_no_table_is_built_on_import():
    outcome = expect_ok(run_python("""
        import time
        start = time.perf_counter()
        import bytepiece
        from bytepiece import text
        assert text._tables is None
        text.nfc("e\\u0301" * 40)
        assert text._tables is not None
        print("ok")
    """, **CAPS))
    assert "ok" in outcome.stdout


# -- offsets ---------------------------------------------------------------------------------------------------------


def test_char_spans_map_changed_runs_to_their_edges():
    # "x" "e\u0301" "y": NFC "x\u00e9y", UTF-8 x | c3 a9 | y.
    spans = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [1, 3], [4, 4]])
    assert offsets.char_spans("xe\u0301y", spans).tolist() == [[0, 1], [1, 3], [1, 3], [3, 4], [1, 3], [4, 4]]
    assert offsets.char_spans("x\u00e9y", spans).tolist() == [[0, 1], [1, 2], [1, 2], [2, 3], [1, 2], [3, 3]]
    assert offsets.char_spans("xe\u0301y", np.array([[0, 1], [1, 2], [2, 4], [4, 5]]),
                              normalize=False).tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]]
    # Spans in any order; an empty span maps to its start.
    assert offsets.char_spans("xe\u0301y", spans[::-1]).tolist() == [[0, 1], [1, 3], [1, 3], [3, 4], [1, 3], [4, 4]][::-1]
    with pytest.raises(ValueError, match="within"):
        offsets.char_spans("xe\u0301y", np.array([[0, 5]]))


def test_char_spans_keep_unchanged_characters_apart_from_changed_ones():
    """Runs are cut before each character of class 0 that NFC does not join to the run before it."""
    text = "\u0f40\u0f73x"  # U+0F73 changes (to 0F71 0F72), on its own
    data = unicodedata.normalize("NFC", text).encode()
    spans = offsets.byte_spans([3, 6, 1])
    assert len(data) == 10
    assert offsets.char_spans(text, spans).tolist() == [[0, 1], [1, 2], [2, 3]]
    text = "e\u0301\u1161\u1161"  # the vowel jamo compose with nothing here
    spans = offsets.byte_spans([2, 3, 3])
    assert offsets.char_spans(text, spans).tolist() == [[0, 2], [2, 3], [3, 4]]


@settings(max_examples=400, deadline=None)
@given(text=TEXTS, cuts=st.lists(st.integers(0, 400), max_size=12))
def test_char_spans_hold_their_bytes(text, cuts):
    """Any byte spans map to character spans in order whose NFC holds their bytes."""
    data = unicodedata.normalize("NFC", text).encode()
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    spans = np.array(list(zip(bounds[:-1], bounds[1:])), dtype=np.int64).reshape(-1, 2)
    result = offsets.char_spans(text, spans)
    assert (np.diff(result[:, 0]) >= 0).all() and (np.diff(result[:, 1]) >= 0).all()
    for (start, end), (a, b) in zip(spans.tolist(), result.tolist()):
        assert 0 <= a <= b <= len(text)
        assert data[start:end] in unicodedata.normalize("NFC", text[a:b]).encode()
    if len(data):
        assert result[0, 0] == 0 and result[-1, 1] == len(text)


def test_offsets_of_long_runs(tok40k):
    for text in ("a" + "\u0301\u0316" * 3000 + " b", "ok \u0f73" + "\u0f73" * 100 + " done"):
        ids, spans = tok40k.encode_with_offsets(text)
        assert ids == tok40k.encode(text)
        normalized = {}  # most tokens span the whole run: normalize each span once
        for piece, (a, b) in zip(tok40k.ids_to_pieces(ids), spans.tolist()):
            if (a, b) not in normalized:
                normalized[a, b] = unicodedata.normalize("NFC", text[a:b]).encode()
            assert piece in normalized[a, b]
        assert spans[0, 0] == 0 and spans[-1, 1] == len(text)


# -- linear time and memory, in capped child processes ------------------------------------------------------------

# A quadratic NFC needs minutes for these; the linear one well under a second
# each. The caps leave a wide margin for slow machines.
LINEAR = """
    import bytepiece
    tok = bytepiece.Tokenizer({model!r})
    for text in ["a" + "\\u0301\\u0316" * 200_000, "\\u0f73" * 200_000, "\\u0301\\u0316" * 200_000,
                 ("\\u0f40" + "\\u0f73" * 40 + "\\u1161" * 3) * 5_000, "\\u1100" + "\\u1161" * 200_000 + "e\\u0301"]:
        ids = tok.encode(text)
        same, spans = tok.encode_with_offsets(text)
        assert same == ids and spans.shape == (len(ids), 2)
        batch_ids, batch_offsets, batch_spans = tok.encode_batch_with_offsets([text, "e\\u0301"])
        assert batch_ids[:len(ids)].tolist() == ids
    print("ok")
"""


def test_encode_and_offsets_are_linear_on_long_runs_of_marks():
    expect_ok(run_python(LINEAR.format(model=str(MODEL_40K)), timeout=60, **CAPS))


def test_offsets_of_a_large_text_with_one_change_stay_small():
    """10 MB of text holding one decomposed character: offsets in a few times the
    memory of the ids, not one Python object per byte."""
    outcome = expect_ok(run_python(f"""
        import bytepiece, tracemalloc
        tok = bytepiece.Tokenizer({str(MODEL_40K)!r})
        unit = "The quick brown fox \\u8df3\\u8fc7\\u4e86\\u61d2\\u72d7\\u3002 "
        half = unit * (5_000_000 // len(unit.encode()))
        text = half + "cafe\\u0301 " + half
        tracemalloc.start()
        ids = tok.encode(text)
        encode_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        ids, spans = tok.encode_with_offsets(text)
        offsets_peak = tracemalloc.get_traced_memory()[1]
        k = text.index("e\\u0301")
        row = spans[:, 0].searchsorted(k, side="right") - 1
        assert spans[row, 0] <= k and spans[row, 1] >= k + 2
        print(encode_peak, offsets_peak, len(ids))
        assert offsets_peak < 12 * encode_peak, (offsets_peak, encode_peak)
    """, timeout=90, memory_mb=2048, **CAPS))
    assert outcome.stdout.strip()
