"""Progress bars on stderr: tqdm (what BytePiece 0.6.3 used), set up once.

The bars fit the terminal's width as it changes (no fixed padding that would
scroll in a narrow terminal), scale units (kB, MB, ...), show a percentage and
an ETA when the total is known, and stay silent when stderr is not a terminal
unless asked for.
"""
from __future__ import annotations

import sys
from typing import Any, Optional


def progress_bar(desc: str, total: Optional[float] = None, unit: str = "B", enabled: Optional[bool] = None) -> Any:
    """A tqdm bar counting ``unit`` up to ``total`` (None: unknown). ``enabled``:
    True or False, or None to draw only when stderr is a terminal. Call
    ``update(n)`` as work is done and ``close()`` at the end."""
    from tqdm import tqdm  # type: ignore[import-untyped]  # imported when a bar is wanted: `import bytepiece` stays light

    return tqdm(desc=desc, total=total, unit=unit, unit_scale=unit == "B", unit_divisor=1000, dynamic_ncols=True,
                mininterval=0.1, file=sys.stderr, disable=None if enabled is None else not enabled, leave=True)
