"""Models from word counts: ``{word: count}`` mappings and jieba-style dictionaries.

A dictionary becomes a model the way BytePiece 0.6.3's ``convert_to_bytepiece``
makes one: the words are the found pieces of the trainer's pruning step
(docs/spec/training.md), every single byte is added, no size limit applies,
and pieces that the vocabulary itself never outputs are dropped, their counts
going to the pieces they split into.
"""
from __future__ import annotations

import os
from typing import Dict, Mapping, Union

import numpy as np

from .._core import MAX_PIECE_LEN, NUM_SPECIAL
from ..model import Model, pack_pieces
from ..outputs import PathLike
from ..training.pruning import prune_pieces
from ..validation import is_index
from .native import save_model

__all__ = ["model_from_words", "read_word_counts", "model_from_dictionary", "convert_to_bytepiece",
           "MAX_COUNT_MASS"]

#: ``{word: count}`` with str words, bytes words or both.
WordCounts = Union[Mapping[str, int], Mapping[bytes, int], Mapping[Union[str, bytes], int]]


#: The most that the counts of a dictionary may add up to, each count taken
#: once per byte of its word. Pruning moves the count of a dropped word to
#: each token it splits into, so no count it computes (in 64 bits) can ever
#: exceed this total (plus one for each single byte added), and none wraps
#: around, in uint64 or in the int64 that scores are computed from.
MAX_COUNT_MASS = 2**62


def model_from_words(words: WordCounts) -> Model:
    """The model of ``{word: count}`` (str words as their UTF-8): every word
    of at most MAX_PIECE_LEN bytes is a candidate piece, as in 0.6.3's
    ``convert_to_bytepiece``. ValueError for an empty word, a count that is
    not a positive integer, two spellings of the same bytes, or counts so
    large that their sum, each weighted by its word's length in bytes,
    exceeds :data:`MAX_COUNT_MASS` (pruning counts in 64 bits)."""
    pieces: Dict[bytes, int] = {}
    mass = 0
    for word, count in words.items():  # type: ignore[union-attr]
        if not isinstance(word, (str, bytes)):
            raise TypeError(f"words must be str or bytes, got {type(word).__name__}")
        piece = word.encode("utf-8") if isinstance(word, str) else bytes(word)
        if not piece:
            raise ValueError("a word is empty")
        if not is_index(count) or count < 1:
            raise ValueError(f"the count of {word!r} must be a positive integer, got {count!r}")
        if piece in pieces:
            raise ValueError(f"{word!r} appears twice (as str and as bytes)")
        mass += int(count) * len(piece)
        if mass > MAX_COUNT_MASS:
            raise ValueError(f"the counts are too large (at {word!r:.60}, count {count}): counts times the words' "
                             f"lengths in bytes must add up to at most 2**62, as pruning counts in 64 bits")
        pieces[piece] = int(count)
    found = list(pieces)
    counts = np.array([pieces[p] for p in found], dtype=np.uint64)
    size = len(found) + 256 + NUM_SPECIAL  # no size pruning: every word may stay
    return prune_pieces(pack_pieces(found), counts, [size], max_piece_length=MAX_PIECE_LEN, min_count=1)[0]


def read_word_counts(path: PathLike) -> Dict[str, int]:
    """``{word: count}`` of a jieba-style dictionary: one ``word count [tag]``
    per line, separated by spaces (jieba's ``dict.txt``; Debian's
    ``python3-jieba`` ships one). A word seen twice keeps the larger count.
    ValueError naming the file and line when one is malformed (a count is
    ASCII digits, at least 1); OSError when the file cannot be read."""
    path = os.fspath(path)
    counts: Dict[str, int] = {}
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8").strip()
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not UTF-8 ({exc.reason})") from None
            if not line:
                continue
            fields = line.split()
            # isdigit() is also true of "²" and other digits that int() refuses: ASCII only,
            # and fewer digits than Python's limit on reading an int.
            digits = fields[1] if len(fields) >= 2 else ""
            count = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 4000 else 0
            if count < 1:
                raise ValueError(f"{path}:{lineno}: expected 'word count [tag]' with a count of at least 1, "
                                 f"got {line[:60]!r}")
            counts[fields[0]] = max(counts.get(fields[0], 0), count)
    if not counts:
        raise ValueError(f"{path}: no words")
    return counts


def model_from_dictionary(path: PathLike) -> Model:
    """The model of the jieba-style dictionary at ``path``
    (:func:`read_word_counts`, then :func:`model_from_words`): what
    ``bytepiece import --format dict`` makes. ValueError naming the file
    (and the line) when it is refused; OSError when it cannot be read."""
    path = os.fspath(path)
    counts = read_word_counts(path)
    try:
        return model_from_words(counts)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def convert_to_bytepiece(pieces: WordCounts, path: PathLike) -> None:
    """BytePiece 0.6.3's function: write the model of ``{word: count}`` to
    ``path`` (see :func:`model_from_words`)."""
    save_model(model_from_words(pieces), path)
