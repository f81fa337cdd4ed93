"""A minimal progress line on stderr (what tqdm did for BytePiece, without the dependency)."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


def _human(value: float) -> str:
    for unit in ("", "k", "M", "G", "T"):
        if abs(value) < 1000:
            return f"{value:.1f}{unit}" if unit else f"{value:.0f}"
        value /= 1000
    return f"{value:.1f}P"


class Progress:
    """``desc: done/total unit (pct) rate unit/s elapsed``, redrawn at most 10 times a second.

    Silent unless ``enabled`` (None: when the stream is a terminal).
    """

    def __init__(self, desc: str, total: Optional[float] = None, unit: str = "B",
                 enabled: Optional[bool] = None, stream: Optional[TextIO] = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.enabled = enabled
        self.desc, self.total, self.unit = desc, total, unit
        self.done = 0.0
        self.start = self._last = time.perf_counter()

    def update(self, amount: float) -> None:
        """Count ``amount`` more units done."""
        self.done += amount
        now = time.perf_counter()
        if self.enabled and now - self._last >= 0.1:
            self._last = now
            self._draw(now, end="")

    def close(self) -> float:
        """Draw the final line; return the seconds since the start."""
        now = time.perf_counter()
        if self.enabled:
            self._draw(now, end="\n")
        return now - self.start

    def _draw(self, now: float, end: str) -> None:
        elapsed = max(now - self.start, 1e-9)
        total = f"/{_human(self.total)}" if self.total else ""
        pct = f" ({100 * self.done / self.total:3.0f}%)" if self.total else ""
        rate = self.done / elapsed
        eta = f", ETA {(self.total - self.done) / rate:.0f} s" if self.total and rate > 0 and end == "" else ""
        line = (f"{self.desc}: {_human(self.done)}{total} {self.unit}{pct} "
                f"{_human(rate)} {self.unit}/s {elapsed:.1f} s{eta}")
        self.stream.write("\r" + line.ljust(72) + end)
        self.stream.flush()
