"""Output writers: token ids as the bytes that the command line writes.

Formatting ids in Python (``str(int)``, ``json.dumps`` per id) is the
bottleneck of text outputs, so the decimal formatting runs in C
(csrc/bp_format.h); this module shapes the lines around it.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .. import _core

__all__ = ["id_lines", "id_list_bodies", "pieces_line", "record_line", "escape_piece"]


def id_lines(ids: np.ndarray, offsets: np.ndarray) -> bytes:
    """``b"1 2 3\\n4 5\\n"``: the ids of text ``k`` (``ids[offsets[k]:offsets[k + 1]]``),
    space-separated, one line per text."""
    return _core.format_id_lines(ids, offsets)


def id_list_bodies(ids: np.ndarray, offsets: np.ndarray) -> List[str]:
    """``["1,2,3", "4,5"]``: the ids of each text, comma-separated (JSON list bodies)."""
    return [body.decode("ascii") for body in _core.format_id_lists(ids, offsets)]


def pieces_line(bytes_by_id: Sequence[bytes], ids: Sequence[int]) -> str:
    """A JSON list of the pieces of ``ids`` as text (bytes that are not UTF-8 backslash-escaped)."""
    return json.dumps([bytes_by_id[i].decode("utf-8", errors="backslashreplace") for i in ids], ensure_ascii=False)


def record_line(record: Optional[Dict[str, Any]], text: str, field: str, raw_value: str) -> str:
    """``record`` (or ``{"text": text}`` when there is none) as one JSON line,
    with ``field`` set to ``raw_value``, JSON text that is inserted as it is."""
    fields = {k: v for k, v in record.items() if k != field} if record is not None else {"text": text}
    base = json.dumps(fields, ensure_ascii=False)
    separator = ", " if len(base) > 2 else ""
    return f"{base[:-1]}{separator}{json.dumps(field)}: {raw_value}}}"


_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape_piece(piece: bytes) -> str:
    """``piece`` as one line of text: UTF-8 as it is, except ``\\\\``, tab, newline
    and carriage return backslash-escaped, and other control characters and
    bytes that are not UTF-8 written ``\\\\xNN``."""
    out = []
    for ch in piece.decode("utf-8", errors="surrogateescape"):
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)
