"""Hostile inputs run in a child process with a time and a memory cap.

A crash (a signal), a hang (the time cap) or runaway memory (the address-space
cap makes the child fail) is a failure of the case, never of the test runner.
Each helper returns what the child did; the ``expect_*`` helpers assert that
it refused the input the way users are promised: a Python exception of an
allowed type with a message, or for the command line exactly one
``bytepiece: error:`` line and exit status 1, never a traceback.
"""
from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Tuple, Union

#: Defaults: enough for any legitimate case here, far below the machine.
TIMEOUT = 60.0
MEMORY_MB = 1536

_ERROR_MARK = "HOSTILE-ERROR"


def fuzz_examples(default: int) -> int:
    """How many examples a fuzz test runs: ``default`` in the suite (seconds),
    or ``BYTEPIECE_FUZZ_EXAMPLES`` for a long run, e.g.
    ``BYTEPIECE_FUZZ_EXAMPLES=200000 python -m pytest -k fuzz tests/``."""
    return int(os.environ.get("BYTEPIECE_FUZZ_EXAMPLES", default))


@dataclass
class Outcome:
    """What a capped child did. ``returncode`` is negative for a signal;
    ``timed_out`` when the time cap ended it."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool

    def describe(self) -> str:
        state = "timed out" if self.timed_out else f"exit status {self.returncode}"
        return f"{state}\n--- stdout ---\n{self.stdout[-2000:]}\n--- stderr ---\n{self.stderr[-3000:]}"

    @property
    def crashed(self) -> bool:
        return self.returncode < 0 and not self.timed_out


def _limit(memory_mb: int):
    def apply() -> None:
        cap = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file behind
    return apply


def run_capped(argv: Sequence[str], *, timeout: float = TIMEOUT, memory_mb: int = MEMORY_MB,
               input: Optional[Union[bytes, str]] = None, cwd: Optional[str] = None,
               env: Optional[dict] = None) -> Outcome:
    """Run ``argv`` with the caps; stdin is ``input`` (or empty)."""
    data = input.encode("utf-8") if isinstance(input, str) else (input or b"")
    full_env = dict(os.environ, PYTHONFAULTHANDLER="1", OPENBLAS_NUM_THREADS="1")
    full_env.update(env or {})
    try:
        result = subprocess.run(list(argv), input=data, capture_output=True, timeout=timeout, cwd=cwd,
                                env=full_env, preexec_fn=_limit(memory_mb))
    except subprocess.TimeoutExpired as exc:
        return Outcome(-9, (exc.stdout or b"").decode("utf-8", "replace"),
                       (exc.stderr or b"").decode("utf-8", "replace"), True)
    return Outcome(result.returncode, result.stdout.decode("utf-8", "replace"),
                   result.stderr.decode("utf-8", "replace"), False)


def run_python(code: str, **caps) -> Outcome:
    """Run Python ``code`` (dedented) in a capped child; an exception it
    raises is printed as one ``HOSTILE-ERROR Type: message`` line on stdout
    and the child exits with status 3."""
    body = textwrap.indent(textwrap.dedent(code), "    ")
    wrapped = (f"import sys\ntry:\n{body}\n    pass\nexcept BaseException as exc:\n"
               f"    print('{_ERROR_MARK}', type(exc).__name__ + ':', exc)\n    sys.exit(3)\n")
    return run_capped([sys.executable, "-c", wrapped], **caps)


def run_cli(args: Iterable[str], **caps) -> Outcome:
    """Run ``bytepiece ARGS`` in a capped child."""
    return run_capped([sys.executable, "-m", "bytepiece", *map(str, args)], **caps)


def expect_ok(outcome: Outcome) -> Outcome:
    """The child finished normally (exit status 0)."""
    assert outcome.returncode == 0 and not outcome.timed_out, outcome.describe()
    return outcome


def expect_error(code: str, match: str, kinds: Tuple[str, ...] = ("ValueError", "TypeError", "OSError"),
                 **caps) -> str:
    """``code`` raised an exception of one of ``kinds`` (or a subclass that
    names itself in the message's type, e.g. FileNotFoundError counts as
    OSError) whose ``Type: message`` matches ``match``; returns that line."""
    outcome = run_python(code, **caps)
    assert not outcome.timed_out and not outcome.crashed, outcome.describe()
    lines = [line for line in outcome.stdout.splitlines() if line.startswith(_ERROR_MARK)]
    assert outcome.returncode == 3 and lines, outcome.describe()
    line = lines[-1][len(_ERROR_MARK) + 1:]
    kind = line.split(":", 1)[0]
    allowed = {*kinds}
    if "OSError" in kinds:
        allowed |= {"FileNotFoundError", "PermissionError", "IsADirectoryError", "NotADirectoryError",
                    "FileExistsError", "UnsupportedOperation", "BlockingIOError"}
    if "ValueError" in kinds:
        allowed |= {"UnicodeDecodeError", "UnicodeEncodeError", "UnknownTokenError", "JSONDecodeError"}
    assert kind in allowed, f"raised {kind}, expected one of {sorted(allowed)}\n{outcome.describe()}"
    assert re.search(match, line), f"{line!r} does not match {match!r}"
    return line


def expect_cli_error(args: Iterable[str], match: str, **caps) -> str:
    """``bytepiece ARGS`` refused: exit status 1, stderr exactly one line
    ``bytepiece: error: ...`` matching ``match``, no traceback; returns it."""
    outcome = run_cli(args, **caps)
    assert not outcome.timed_out and not outcome.crashed, outcome.describe()
    assert "Traceback" not in outcome.stderr, outcome.describe()
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("bytepiece: error:")]
    assert outcome.returncode == 1 and len(errors) == 1, outcome.describe()
    assert re.search(match, errors[0]), f"{errors[0]!r} does not match {match!r}"
    return errors[0]
