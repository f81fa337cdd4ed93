"""Checks of arguments shared by the public API and the command line.

Each returns the value in its canonical type or raises TypeError/ValueError
with a message that names the argument. The limits here are module
constants that every check reads when it runs, so a program (or a test) may
lower or raise them: ``bytepiece.validation.MAX_DOCUMENT_BYTES = 1 << 20``.
"""
from __future__ import annotations

import operator
import os
from typing import Any, Optional

import numpy as np

__all__ = ["is_index", "check_int", "check_seed", "check_num_threads", "default_num_threads", "usable_threads",
           "MAX_THREADS", "MAX_DOCUMENT_BYTES", "document_bytes", "check_document", "document_too_long"]

_UINT64 = 2**64

#: The most threads one call may ask for. A count beyond it is refused: it is
#: a typing mistake rather than a plan, and thousands of threads would cost
#: their stacks and start-up for nothing. Work never runs on more threads than
#: the cores this process may use (:func:`usable_threads`), whatever is asked.
MAX_THREADS = 1024

#: The largest document, in bytes of UTF-8: a text to encode (a ``str``
#: measured as given, before NFC; ``bytes`` by their length), one line of a
#: corpus file, or one whole file with ``whole_file``. Longer ones are refused
#: with a ValueError before they are read further or encoded: reading and
#: segmenting hold a few times a document's size in memory at once
#: (docs/spec/text.md §5).
MAX_DOCUMENT_BYTES = 1 << 30

#: Characters whose UTF-8 is measured at a time (a bounded copy) when a
#: ``str`` must be measured exactly.
_MEASURE_CHARS = 1 << 20


def is_index(value: Any) -> bool:
    """Whether ``value`` is an integer (``int``, numpy integer, any ``__index__``), not a bool."""
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def check_int(name: str, value: Any, low: int) -> int:
    """``value`` as an int of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return int(value)


def check_seed(seed: Any) -> int:
    """``seed`` as an int in 0 .. 2**64 - 1."""
    if seed.__class__ is int and 0 <= seed < _UINT64:  # the common case, on every seeded call
        return seed
    if not is_index(seed):
        raise TypeError(f"seed must be an integer or None, not {type(seed).__name__}")
    seed = operator.index(seed)
    if not 0 <= seed < _UINT64:
        raise ValueError(f"seed must be in 0 .. 2**64 - 1, got {seed}")
    return seed


def default_num_threads() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def check_num_threads(num_threads: Optional[int], name: str = "num_threads") -> int:
    """The thread count: ``num_threads`` (1 .. :data:`MAX_THREADS`), or
    :func:`default_num_threads` for None. ``name`` is the argument's name in
    the messages (``--threads`` for the command line)."""
    if num_threads is None:
        return default_num_threads()
    if not is_index(num_threads):
        raise TypeError(f"{name} must be an integer or None, not {type(num_threads).__name__}")
    num_threads = operator.index(num_threads)
    if num_threads < 1:
        raise ValueError(f"{name} must be at least 1, got {num_threads}")
    if num_threads > MAX_THREADS:
        raise ValueError(f"{name} must be at most {MAX_THREADS}, got {num_threads}: this process may use "
                         f"{default_num_threads()} cores, and threads beyond them do not run at once")
    return num_threads


def usable_threads(num_threads: int) -> int:
    """The threads worth starting for ``num_threads`` asked: no more than the
    cores this process may use, since the C work of more could not run at once
    (results never depend on the thread count)."""
    return num_threads if num_threads == 1 else min(num_threads, default_num_threads())


def document_bytes(text: Any) -> int:
    """The size of a document in bytes: the length of ``bytes`` (or any
    buffer), the UTF-8 length of a ``str`` as given (a lone surrogate counts
    its three bytes), measured a slice at a time so that it needs no copy of
    the whole text."""
    if not isinstance(text, str):
        return memoryview(text).nbytes
    if text.isascii():  # a flag of the str: no scan
        return len(text)
    return sum(len(text[i:i + _MEASURE_CHARS].encode("utf-8", "surrogatepass"))
               for i in range(0, len(text), _MEASURE_CHARS))


def document_too_long(what: str) -> ValueError:
    """The error for a document beyond :data:`MAX_DOCUMENT_BYTES`; ``what``
    names it and its size, e.g. ``"a text of 5000 bytes of UTF-8"``."""
    return ValueError(f"{what} is longer than {MAX_DOCUMENT_BYTES} bytes, the most one document may hold "
                      "(bytepiece.validation.MAX_DOCUMENT_BYTES): split it into smaller documents, e.g. at line "
                      "or paragraph breaks")


def check_document(text: Any) -> None:
    """Raise a ValueError when ``text`` (str or bytes-like; anything else is
    left to the caller's type check) holds more than
    :data:`MAX_DOCUMENT_BYTES` bytes of UTF-8. Its length bounds that size
    (a character is 1 to 4 bytes), so only a text within a factor of 4 of the
    limit is measured."""
    limit = MAX_DOCUMENT_BYTES
    if isinstance(text, str):
        if len(text) > limit:
            raise document_too_long(f"a text of {len(text)} characters (at least as many bytes of UTF-8)")
        if len(text) << 2 <= limit:
            return
    elif not isinstance(text, (bytes, bytearray, memoryview)):
        return
    size = document_bytes(text)
    if size > limit:
        raise document_too_long(f"a text of {size} bytes of UTF-8")
