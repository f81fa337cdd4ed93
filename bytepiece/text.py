"""Text -> normalized UTF-8 -> chunks (docs/spec/text.md).

BytePiece 0.6.3 compatibility fixes every detail here: NFC, then UTF-8, then
chunks that end after each maximal run of ``\\n`` (``\\r`` is an ordinary
byte). "Normalize" means NFC and nothing else. The tokenizer's chunks are
cut in C (csrc/bp_chunk.h); this module cuts the trainer's, whose caps count
characters, and offers the rule to users.
"""
from __future__ import annotations

import re
import unicodedata
from typing import List, Union

__all__ = ["split_chunks", "normalize", "to_utf8", "TRAINING_CHUNK_CHARS", "TRAINING_CHUNK_NEWLINES"]

TextLike = Union[str, bytes]

#: The trainer caps a chunk at this many characters (as 0.6.3 does)...
TRAINING_CHUNK_CHARS = 10000
#: ...and its run of newlines at this many.
TRAINING_CHUNK_NEWLINES = 100

# Chunk patterns as in BytePiece 0.6.3 (str patterns: \d is any Unicode
# decimal digit and the training caps count characters, not bytes).
_CHUNK = r".*\n+|.+"
_CHUNK_DIGITS = r"\d|[^\n\d]*\n+|[^\n\d]+"
_CHUNK_CAPPED = r".{,%d}\n{1,%d}|.{1,%d}"
_CHUNK_DIGITS_CAPPED = r"\d|[^\n\d]{,%d}\n{1,%d}|[^\n\d]{1,%d}"


def _chunk_pattern(maxlen: int, isolate_digits: bool) -> str:
    if maxlen < 0:
        raise ValueError(f"maxlen must be >= 0, got {maxlen}")
    if maxlen == 0:
        return _CHUNK_DIGITS if isolate_digits else _CHUNK
    return (_CHUNK_DIGITS_CAPPED if isolate_digits else _CHUNK_CAPPED) % (maxlen, TRAINING_CHUNK_NEWLINES, maxlen)


def to_utf8(text: TextLike, normalize: bool = True) -> bytes:
    """The bytes that are segmented: UTF-8 of ``str`` (NFC-normalized first
    unless ``normalize`` is false), ``bytes`` (or bytearray/memoryview) unchanged.

    Raises TypeError for anything else and UnicodeEncodeError (a ValueError)
    for a ``str`` holding a lone surrogate (``"a\\ud800b"``), which has no
    UTF-8 form: encode such text yourself with an error handler you choose.
    """
    if isinstance(text, str):
        if normalize and not text.isascii():
            text = unicodedata.normalize("NFC", text)
        return text.encode("utf-8")
    if type(text) is bytes:
        return text
    if isinstance(text, (bytes, bytearray, memoryview)):  # a bytes subclass too: the C binding takes exact bytes
        return bytes(text)
    raise TypeError(f"text must be str or bytes, not {type(text).__name__}")


def split_chunks(text: TextLike, maxlen: int = 0, isolate_digits: bool = False) -> List[bytes]:
    """Split ``text`` into the UTF-8 chunks that pieces never cross, as BytePiece 0.6.3.

    ``str`` is NFC-normalized, cut into chunks and each chunk UTF-8 encoded;
    ``bytes`` are cut as they are (``\\d`` then means ASCII digits). A chunk
    is a run of characters other than ``\\n`` followed by the run of ``\\n``
    after it. ``maxlen > 0`` (training) caps the non-newline part at ``maxlen``
    characters and the newline run at 100; ``isolate_digits`` makes every
    digit a chunk of its own.
    """
    pattern = _chunk_pattern(maxlen, isolate_digits)
    if isinstance(text, str):
        text = unicodedata.normalize("NFC", text)
        return [chunk.encode("utf-8") for chunk in re.findall(pattern, text)]
    return re.findall(pattern.encode("ascii"), to_utf8(text))


#: BytePiece 0.6.3's name for :func:`split_chunks` (it does NFC, then cuts chunks).
normalize = split_chunks
