"""What the two Ray engines share (training, ``bytepiece.training.ray_engine``,
and encoding, ``bytepiece.outputs.ray_encode``): importing Ray so that every
node it starts binds the loopback address only, and the tests' fault
injection. Light on purpose: a Ray worker that encodes imports this and not
the training engine."""
from __future__ import annotations

import os
from typing import Any

__all__ = ["LOOPBACK_ENV", "CRASH_ONCE_ENV", "import_ray", "crash_once"]

#: Ray binds every port of a node it starts on the loopback address only when this is 0
#: in the environment before Ray is imported (Ray reads it once, at import).
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
#: The tests' fault injection: in this folder, a file NAME.crash makes the task
#: NAME kill its own worker the first time it gets there (see :func:`crash_once`),
#: so that the tests can check that Ray's retry changes nothing.
CRASH_ONCE_ENV = "BYTEPIECE_TEST_CRASH_ONCE_DIR"


def import_ray(purpose: str) -> Any:
    """The ``ray`` module, imported with :data:`LOOPBACK_ENV` set to 0 (unless
    the environment says otherwise) and usage statistics off; ImportError
    naming ``purpose`` ("training on Ray") and the extra to install when Ray
    is missing."""
    os.environ.setdefault(LOOPBACK_ENV, "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise ImportError(f"{purpose} needs Ray: pip install 'bytepiece[ray]'") from None
    return ray


def crash_once(name: str) -> None:
    """The tests' hook (:data:`CRASH_ONCE_ENV`): kill this worker process the
    first time task ``name`` gets here; a no-op unless the variable names a
    folder holding ``name.crash``."""
    folder = os.environ.get(CRASH_ONCE_ENV)
    if not folder or not os.path.exists(os.path.join(folder, name + ".crash")):
        return
    try:
        fd = os.open(os.path.join(folder, name + ".crashed"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return  # the retry
    os.close(fd)
    os._exit(1)
