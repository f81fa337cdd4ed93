"""Output files that appear whole or not at all.

Every file bytepiece writes (models, encoded data, token files) is written
under a temporary name in the destination folder and renamed over the final
name only when complete, so an interrupted run (Ctrl-C, an error, a full
disk) never leaves a truncated file that looks finished. Outputs are checked
before any work starts, so a bad ``-o`` is reported at once, not after an
hour of training.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Any, Callable, Iterator, List, Optional, Sequence, Union

__all__ = ["PathLike", "check_writable", "atomic_files", "atomic_file"]

#: A file name as bytepiece's functions take it, to read or to write: a str or
#: an ``os.PathLike`` (``pathlib.Path``). Defined here once (this module is
#: the one every writer goes through and imports nothing of bytepiece).
PathLike = Union[str, "os.PathLike[str]"]

# The mode a new file gets from open() (mkstemp creates 0600 files). Read once:
# os.umask can only be read by setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def check_writable(path: PathLike) -> str:
    """``path`` as a str, or an OSError saying why a file cannot be written
    there: it is a directory, or its folder is missing or not writable."""
    path = os.fspath(path)
    if not path:
        raise OSError("the output path is empty")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path}: it is a directory (name a file in it)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: the folder {folder} is not writable")
    return path


@contextlib.contextmanager
def atomic_files(paths: Sequence[PathLike], mode: str = "wb", *,
                 check: Optional[Callable[[List[str]], None]] = None,
                 **open_args: Any) -> Iterator[List[IO[Any]]]:
    """Open files to write for ``paths``, all under temporary names; when the
    with-block ends normally they are renamed to ``paths`` together, and on
    any exception (KeyboardInterrupt included) they are deleted and no final
    file is created or replaced. ``mode`` and ``open_args`` go to ``open``.

    ``check``, if given, is called with the temporary paths (parallel to
    ``paths``) once they are complete and closed, before any rename: it can
    load or measure what was written, and an exception it raises discards
    the files like any other, leaving every earlier file at ``paths`` as it was."""
    targets = [check_writable(p) for p in paths]
    temps: List[str] = []
    files: List[IO[Any]] = []
    try:
        for target in targets:
            folder, name = os.path.split(os.path.abspath(target))
            fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
            temps.append(temp)
            os.chmod(temp, 0o666 & ~_UMASK)
            files.append(os.fdopen(fd, mode, **open_args))
        yield files
        for f in files:
            f.close()  # flushes: a full disk fails here, before any rename
        if check is not None:
            check(list(temps))
        for temp, target in zip(temps, targets):
            os.replace(temp, target)
    except BaseException:
        for f in files:
            with contextlib.suppress(OSError):
                f.close()
        for temp in temps:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise


@contextlib.contextmanager
def atomic_file(path: PathLike, mode: str = "wb", *, check: Optional[Callable[[str], None]] = None,
                **open_args: Any) -> Iterator[IO[Any]]:
    """:func:`atomic_files` for one file; ``check`` gets its temporary path."""
    each = None if check is None else (lambda temps: check(temps[0]))
    with atomic_files([path], mode, check=each, **open_args) as files:
        yield files[0]
