"""Where sampling calls get their seeds: a tokenizer's own generator.

A sampling call given ``seed=`` uses it; one without draws a 64-bit call
seed from the :class:`SeedSource` of its tokenizer. A source is seeded
(reproducible: the same sequence of call seeds every time, in forked and
unpickled copies too) or unseeded (seeded from the operating system's
entropy, and reseeded so in every child made by ``fork``, so that no two
processes replay each other's samples). :meth:`SeedSource.derive` gives
each (worker, epoch) of a training loop a source of its own.

How to use this in a training loop (PyTorch ``DataLoader``, Hugging Face
``datasets.map``, results independent of workers and batching):
docs/subword_regularization.md.
"""
from __future__ import annotations

import hashlib
import os
import random
import threading
import weakref
from typing import Any, Optional, Tuple

from .validation import check_int, check_seed

__all__ = ["SeedSource", "derived_seed"]


class SeedSource:
    """A thread-safe generator of 64-bit call seeds.

    ``seed``: an integer (0 .. 2**64 - 1) for a reproducible sequence, or
    None for the operating system's entropy (then a child made by ``fork``
    reseeds itself from it too).
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        self._rng = random.Random()
        #: Held while the generator is read or changed. Public so that a caller
        #: can hold it across a fork: the child gets a new lock (see below).
        self.lock = threading.Lock()
        self._seed: Optional[int] = None
        self.set_seed(seed)
        _LIVE_SOURCES.add(self)

    @property
    def seed(self) -> Optional[int]:
        """The seed the generator started from, or None when unseeded; it
        does not change as drawing advances the generator."""
        return self._seed

    def set_seed(self, seed: Optional[int]) -> None:
        """Restart the generator from ``seed`` (None: the operating system's entropy)."""
        if seed is not None:
            seed = check_seed(seed)
        with self.lock:
            self._rng.seed(seed)
            self._seed = seed

    def draw(self) -> int:
        """The next call seed (0 .. 2**64 - 1)."""
        with self.lock:
            return self._rng.getrandbits(64)

    def derive(self, worker: int, epoch: int = 0) -> "SeedSource":
        """A new source for ``worker`` in ``epoch`` (integers >= 0): seeded with
        :func:`derived_seed` of this source's seed, or unseeded when this one
        is. It does not depend on how far this source has drawn, and leaves
        this source unchanged."""
        worker = check_int("worker", worker, 0)
        epoch = check_int("epoch", epoch, 0)
        with self.lock:
            base = self._seed
        return SeedSource(None if base is None else derived_seed(base, worker, epoch))

    def getstate(self) -> Optional[Tuple[int, Any]]:
        """``(seed, generator state)`` of a seeded source, for a copy that
        continues its sequence (:meth:`setstate`); None when unseeded: a copy
        must then seed itself from the operating system's entropy, not
        replay this source's draws."""
        with self.lock:
            if self._seed is None:
                return None
            return self._seed, self._rng.getstate()

    def setstate(self, seed: int, state: Any) -> None:
        """Continue the sequence of a source whose :meth:`getstate` gave ``(seed, state)``."""
        with self.lock:
            self._rng.setstate(state)
            self._seed = seed

    def _after_fork_in_child(self) -> None:
        # The lock may have been held by a thread of the parent that does not
        # exist here; an unseeded generator must not replay the parent's draws.
        self.lock = threading.Lock()
        if self._seed is None:
            self._rng.seed(None)


def derived_seed(seed: int, worker: int, epoch: int) -> int:
    """The 64-bit seed of (``seed``, ``worker``, ``epoch``): a BLAKE2b hash, so
    distinct for each triple in practice. The key keeps the name it was
    introduced under (``Tokenizer.derive``): seeded results depend on it."""
    key = f"bytepiece.Tokenizer.derive:{seed}:{worker}:{epoch}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")


# Every live source, to reseed the unseeded ones (and renew every lock) in a
# child made by fork: otherwise parent and children draw the same seeds.
_LIVE_SOURCES: "weakref.WeakSet[SeedSource]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for source in list(_LIVE_SOURCES):
        source._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
