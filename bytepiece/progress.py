"""Progress on stderr: tqdm bars on a terminal, plain periodic lines elsewhere.

On a terminal the bars (tqdm, what BytePiece 0.6.3 used) fit its width as it
changes, scale units (kB, MB, ...), and show a percentage and an ETA when the
total is known. When stderr is not a terminal (``nohup``, Slurm, a CI log, a
notebook), a bar would be one line rewritten with carriage returns, so
progress is a plain line instead, at most every :data:`PLAIN_INTERVAL`
seconds (``BYTEPIECE_PROGRESS_INTERVAL`` in the environment changes it),
with the same figures, and a last line when the work ends, if any was
printed. Short jobs therefore print nothing; ``enabled=False`` (``-q``)
prints nothing ever.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Optional

__all__ = ["progress_bar", "PlainProgress", "PLAIN_INTERVAL"]

#: Seconds between two plain progress lines (when stderr is not a terminal).
PLAIN_INTERVAL = 30.0


def progress_bar(desc: str, total: Optional[float] = None, unit: str = "B", enabled: Optional[bool] = None) -> Any:
    """A progress counter of ``unit`` up to ``total`` (None: unknown).
    ``enabled``: True (a bar, also off a terminal), False (nothing), or None:
    a bar on a terminal, plain periodic lines otherwise. Call ``update(n)``
    as work is done and ``close()`` at the end."""
    if enabled is None and not _is_terminal(sys.stderr):
        return PlainProgress(desc, total, unit, _interval())
    from tqdm import tqdm  # type: ignore[import-untyped]  # imported when a bar is wanted: `import bytepiece` stays light

    return tqdm(desc=desc, total=total, unit=unit, unit_scale=unit == "B", unit_divisor=1000, dynamic_ncols=True,
                mininterval=0.1, file=sys.stderr, disable=None if enabled is None else not enabled, leave=True)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("BYTEPIECE_PROGRESS_INTERVAL", PLAIN_INTERVAL)))
    except ValueError:
        return PLAIN_INTERVAL


class PlainProgress:
    """tqdm's ``update``/``close``/``set_description``/``n`` as plain lines on
    stderr, one at most every ``interval`` seconds: ``DESC: 45% (1.20 GB of
    2.67 GB), 12.3 MB/s, 2m10s left``."""

    def __init__(self, desc: str, total: Optional[float], unit: str, interval: float) -> None:
        self.desc, self.total, self.unit, self.interval = desc, total, unit, interval
        self.n = 0.0
        self._start = self._last = time.monotonic()
        self._printed = False

    def update(self, n: float = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._line(now)

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def close(self) -> None:
        if self._printed:  # the end of what the log has been following
            self._line(time.monotonic(), done=True)
        self._printed = False

    def _amount(self, value: float) -> str:
        if self.unit != "B":
            return f"{value:,.0f}{self.unit}"
        for scale, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if value >= scale:
                return f"{value / scale:.2f} {name}"
        return f"{value:.0f} B"

    def _line(self, now: float, done: bool = False) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.n / elapsed
        if self.total:
            share = min(1.0, self.n / self.total)
            figures = f"{share:.0%} ({self._amount(self.n)} of {self._amount(self.total)})"
        else:
            figures = self._amount(self.n)
        figures += f", {self._amount(rate)}/s"
        if done:
            figures += f", done in {_duration(elapsed)}"
        elif self.total and rate > 0:
            figures += f", {_duration(max(0.0, self.total - self.n) / rate)} left"
        print(f"{self.desc}: {figures}", file=sys.stderr, flush=True)
        self._printed = True


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
