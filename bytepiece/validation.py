"""Checks of arguments shared by the public API and the command line.

Each returns the value in its canonical type or raises TypeError/ValueError
with a message that names the argument.
"""
from __future__ import annotations

import operator
import os
from typing import Any, Optional

import numpy as np

__all__ = ["is_index", "check_int", "check_seed", "check_num_threads", "default_num_threads"]

_UINT64 = 2**64


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


def check_num_threads(num_threads: Optional[int]) -> int:
    """The thread count: ``num_threads`` (>= 1), or :func:`default_num_threads` for None."""
    if num_threads is None:
        return default_num_threads()
    if isinstance(num_threads, bool) or not isinstance(num_threads, int):
        raise TypeError(f"num_threads must be an integer or None, not {type(num_threads).__name__}")
    if num_threads < 1:
        raise ValueError(f"num_threads must be at least 1, got {num_threads}")
    return num_threads
