"""What the two Ray engines share (training, ``bytepiece.training.ray_engine``,
and encoding, ``bytepiece.outputs.ray_encode``): importing Ray so that every
node it starts binds the loopback address only, and the tests' fault
injection. Light on purpose: a Ray worker that encodes imports this and not
the training engine."""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from typing import Any, Dict, Iterator, List, Optional

__all__ = ["LOOPBACK_ENV", "CRASH_ONCE_ENV", "import_ray", "init_local_ray", "ray_session", "crash_once",
           "worker_tokenizer"]

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


def init_local_ray(num_cpus: Optional[int] = None, object_store_memory: Optional[int] = None,
                   spill_dir: Optional[str] = None) -> None:
    """Start a one-machine Ray bound to the loopback address (no dashboard), with
    objects spilled to ``spill_dir`` (default: a temporary directory) when the
    object store is full."""
    ray = import_ray("a Ray on this machine")
    if os.environ.get(LOOPBACK_ENV) != "0":
        raise RuntimeError(f"a local Ray must bind the loopback address only: set {LOOPBACK_ENV}=0 "
                           "in the environment before Ray is imported")
    spill = spill_dir or tempfile.mkdtemp(prefix="bytepiece-spill-")
    ray.init(
        address="local",  # a new Ray, never one that happens to run on this machine
        num_cpus=num_cpus,
        object_store_memory=object_store_memory,
        include_dashboard=False,
        configure_logging=False,
        log_to_driver=False,
        object_spilling_directory=spill,
    )


@contextlib.contextmanager
def ray_session(ray: Any, address: Optional[str], object_store_memory: Optional[int] = None,
                quiet: bool = False) -> Iterator[None]:
    """A run on Ray: the one this process is connected to, else the cluster
    at ``address``, else a new one on this machine (:func:`init_local_ray`
    with ``object_store_memory``); the Ray started here is shut down at the
    end. A failed task's own exception (OSError, ValueError, ...) is raised
    rather than Ray's wrapper. ``quiet``: Ray's notes while it starts (such
    as how it authenticates) are not printed; its errors still are."""
    started = False
    if not ray.is_initialized():
        logger = logging.getLogger("ray")
        level = logger.level
        if quiet:
            logger.setLevel(logging.ERROR)
        try:
            if address is None:
                init_local_ray(object_store_memory=object_store_memory)
            else:
                ray.init(address=address, configure_logging=False, log_to_driver=False)
        finally:
            logger.setLevel(level)
        started = True
    try:
        yield
    except ray.exceptions.RayTaskError as error:
        raise error.as_instanceof_cause() from None
    finally:
        if started:
            ray.shutdown()


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


# The tokenizers of a worker process, kept between its tasks, so that a model
# is fetched and its trie built once per process, not once per shard: the
# encode tasks' one model, or the models a training run evaluates.
_TOKENIZERS: Dict[str, Any] = {}


def worker_tokenizer(fingerprint: str, model: List[Any], keep: int = 1) -> Any:
    """The ``bytepiece.Tokenizer`` of the model whose fingerprint is
    ``fingerprint``, from this worker's cache, else made from ``model[0]``
    (the model's object reference, in a list so that Ray passes it to the
    task unfetched) and kept. A worker serves one run at a time: the cache
    holds at most ``keep`` models (the run's), the oldest dropped first."""
    tok = _TOKENIZERS.get(fingerprint)
    if tok is None:
        import ray

        from .tokenizer import Tokenizer  # not at import: this module stays light

        while _TOKENIZERS and len(_TOKENIZERS) >= keep:
            del _TOKENIZERS[next(iter(_TOKENIZERS))]
        tok = _TOKENIZERS[fingerprint] = Tokenizer(ray.get(model[0]))
    return tok

