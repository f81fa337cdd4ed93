"""Fuzz the token file reader: random damage to valid token files, for a while.

    python3 fuzz/fuzz_token_files.py --seconds 600 [--seed 1] [--findings fuzz-findings]

Valid files of both layouts (several vocabularies and document shapes,
with their metadata files) are damaged at random: bytes and machine words
overwritten (with values chosen to pass the first checks: 0, 1, 2^31 - 1,
2^63, -1, ...), cuts, insertions, deletions, JSON fields replaced, files
removed or swapped for another file. Each case is read with
``read_token_file`` and ``read_token_file_metadata``. Every outcome must be
a consistent read (offsets from 0 to the number of ids, never decreasing;
every id readable; the metadata's counts equal to the files') or a
ValueError / OSError whose message names one of the files. Anything else, or
a case running past ``--case-seconds``, is a finding: its files and the
traceback are saved under ``--findings``. A crash of the process leaves the
case's files in the work folder it prints at the start.

The same check runs in the test suite, bounded to a few seconds
(tests/test_token_files_hostile.py; ``BYTEPIECE_FUZZ_EXAMPLES`` runs more).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from typing import Dict, List, Optional, Tuple

import numpy as np

from bytepiece.outputs.token_files import (TOKEN_FORMATS, TokenFileWriter, read_token_file, read_token_file_metadata,
                                   token_file_metadata_path, token_file_paths)

ROLES = ("data", "index", "meta")
INTERESTING = [0, 1, 2, 3, 4, 5, 8, 9, 34, 255, 256, 65535, 65536, (1 << 31) - 1, 1 << 31, (1 << 32) - 1,
               1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, -1, -2, -8]
JSON_VALUES = [None, True, False, 0, 1, -1, 4, 8, 9, 70000, 1 << 70, 1.5, float("nan"), "", "bin", "npy", "<u2",
               "<i4", "<u4", "0" * 64, "g" * 64, [], {}, [1, 2]]
Files = Dict[str, Optional[bytes]]


class CaseTimeout(Exception):
    """A case ran past its time limit."""


def valid_sets(folder: str, rng: random.Random) -> List[Tuple[str, Files]]:
    """Valid token files of both layouts, for several vocabularies and document shapes."""
    sets = []
    for n in range(12):
        token_format = TOKEN_FORMATS[n % 2]
        vocab = rng.choice([300, 1000, 65536, 65537, 100000])
        docs = [[rng.randrange(vocab) for _ in range(rng.choice([0, 1, 2, 5, 40]))]
                for _ in range(rng.choice([0, 1, 3, 10]))]
        ids = np.array([i for d in docs for i in d], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum([len(d) for d in docs])]).astype(np.int64)
        path = os.path.join(folder, f"v{n}.{token_format}")
        fingerprint = "".join(rng.choice("0123456789abcdef") for _ in range(64)) if n % 3 else None
        with TokenFileWriter(path, token_format, vocab, fingerprint) as out:
            out.write(ids, offsets)
        paths = (*token_file_paths(path, token_format), token_file_metadata_path(path, token_format))
        sets.append((token_format, {role: open(p, "rb").read() for role, p in zip(ROLES, paths)}))
    return sets


def damage(rng: random.Random, token_format: str, files: Files, pool: List[Tuple[str, Files]]) -> Files:
    files = dict(files)
    for _ in range(rng.randint(1, 4)):
        role = rng.choice(ROLES)
        blob = files[role]
        op = rng.choice(["byte", "byte", "word", "word", "word", "cut", "insert", "append", "delete", "json",
                         "json", "remove", "swap"])
        if op == "remove":
            files[role] = None
            continue
        if op == "swap":  # another file in its place: of another role or another set
            files[role] = rng.choice(pool)[1][rng.choice(ROLES)]
            continue
        if blob is None:
            continue
        blob = bytearray(blob)
        at = rng.randrange(len(blob)) if blob else 0
        if op == "byte" and blob:
            blob[at] = rng.randrange(256)
        elif op == "word":
            size = rng.choice([1, 2, 4, 8])
            if rng.random() < 0.5:
                at -= at % size
            if rng.random() < 0.3:  # the header fields and first entries
                at = rng.randrange(min(len(blob), 64) or 1)
            value = rng.choice(INTERESTING + [rng.randrange(-1000, 1000), len(blob), len(blob) // 2])
            blob[at:at + size] = (value % (1 << (8 * size))).to_bytes(size, "little")
        elif op == "cut":
            del blob[at:]
        elif op == "insert":
            blob[at:at] = rng.randbytes(rng.randint(1, 16))
        elif op == "append":
            blob += rng.randbytes(rng.randint(1, 64))
        elif op == "delete":
            del blob[at:at + rng.randint(1, 16)]
        elif op == "json":
            try:
                record = json.loads(bytes(blob))
                record[rng.choice(sorted(record) + ["extra"])] = rng.choice(JSON_VALUES)
                blob = bytearray(json.dumps(record).encode())
            except (ValueError, TypeError, AttributeError):
                # Text edits of the npy header (or of a damaged JSON): a token for another.
                text = bytes(blob)
                for old, new in [(b"<u2", b"|O"), (b"<u2", b"<f8"), (b"<i8", b"<i4"), (b"False", b"True"),
                                 (b"(", b"(2, "), (b",)", b", 0)"), (b"'shape'", b"'shapes'")]:
                    if old in text and rng.random() < 0.3:
                        text = text.replace(old, new, 1)
                blob = bytearray(text)
        files[role] = bytes(blob)
    return files


def check(folder: str, token_format: str, files: Files) -> str:
    """Write ``files`` and read them: "read" (consistent), or the refusal's
    message with numbers and paths blanked; anything else raises."""
    path = os.path.join(folder, f"t.{token_format}")
    paths = (*token_file_paths(path, token_format), token_file_metadata_path(path, token_format))
    for role, target in zip(ROLES, paths):
        if os.path.lexists(target):
            os.unlink(target)
        if files[role] is not None:
            with open(target, "wb") as f:
                f.write(files[role])
    try:
        ids, offsets = read_token_file(path)
        meta = read_token_file_metadata(path)
    except (ValueError, OSError) as exc:
        message = str(exc)
        if not any(p in message for p in paths):
            raise AssertionError(f"{type(exc).__name__} names no file: {message!r}") from exc
        if "\n" in message:
            raise AssertionError(f"a message of several lines: {message!r}") from exc
        blank = message.replace(folder + os.sep, "").split(" (")[0]
        blank = re.sub(r"(damaged|is|JSON|UTF-8|format|dtype)\b.*", r"\1 ...", blank)  # drop the values
        return type(exc).__name__ + ": " + re.sub(r"-?\d+", "N", blank)[:100]
    assert ids.ndim == 1 and ids.dtype.kind in "ui", ids.dtype
    assert offsets.ndim == 1 and offsets.dtype == np.int64 and len(offsets) >= 1
    assert offsets[0] == 0 and offsets[-1] == len(ids) and bool(np.all(np.diff(offsets) >= 0))
    np.asarray(ids, dtype=np.int64).sum()  # every id can be read
    if meta is not None:
        assert (meta.documents, meta.tokens, meta.dtype) == (len(offsets) - 1, len(ids), ids.dtype.str)
    return "read"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to run (default 60)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: fresh)")
    parser.add_argument("--case-seconds", type=int, default=5, help="a case running longer is a finding")
    parser.add_argument("--findings", default="fuzz-findings", help="folder for the cases that fail")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="fuzz-token-files-")
    print(f"seed {seed}; work folder {work}", file=sys.stderr)

    def on_alarm(*_):
        raise CaseTimeout(f"a case ran past {args.case_seconds} s")

    signal.signal(signal.SIGALRM, on_alarm)
    pool = valid_sets(work, rng)
    outcomes: collections.Counter = collections.Counter()
    findings = 0
    start = time.monotonic()
    executions = 0
    while time.monotonic() - start < args.seconds:
        token_format, files = rng.choice(pool)
        case = damage(rng, token_format, files, pool)
        signal.alarm(args.case_seconds)
        try:
            outcomes[check(work, token_format, case)] += 1
        except BaseException as exc:  # a finding: anything but a consistent read or a named refusal
            signal.alarm(0)
            if isinstance(exc, KeyboardInterrupt):
                break
            findings += 1
            place = os.path.join(args.findings, f"{seed}-{executions}")
            os.makedirs(place, exist_ok=True)
            for role, blob in case.items():
                if blob is not None:
                    with open(os.path.join(place, f"{role}.{token_format}"), "wb") as f:
                        f.write(blob)
            with open(os.path.join(place, "traceback.txt"), "w") as f:
                f.write(traceback.format_exc())
            print(f"finding {findings}: {type(exc).__name__}: {exc!s:.200} (saved in {place})", file=sys.stderr)
        finally:
            signal.alarm(0)
        executions += 1
    elapsed = time.monotonic() - start
    shutil.rmtree(work, ignore_errors=True)
    print(f"{executions} executions in {elapsed:.0f} s ({executions / max(elapsed, 1e-9):.0f}/s), seed {seed}: "
          f"{outcomes['read']} consistent reads, {executions - outcomes['read'] - findings} refusals "
          f"({len(outcomes) - ('read' in outcomes)} distinct messages), {findings} findings")
    for message, count in outcomes.most_common():
        print(f"{count:>9}  {message}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
