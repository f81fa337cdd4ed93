"""Encoding a corpus into token files in shards on a Ray cluster.

    encode_on_ray("my.model", ["corpus/*.jsonl.gz"], "train.bin", field="text", add_eos=True)
    encode_on_ray("my.model", ray.data.read_parquet("s3://bucket/corpus"), "train.npy")

The driver plans shards as training does (it lists the files and cuts
uncompressed line files into byte ranges, or takes a Dataset's blocks as object
references); one task per shard reads the shard, encodes it and writes its own
token file. Neither the corpus nor the ids pass through the driver: it sees
counts only. The output is one token file per shard, ``train.00000.bin`` ...,
and a manifest, ``train.bin.manifest.json``, that lists them in corpus order
(docs/spec/token_files.md §7). Joined in that order, the shards hold exactly
the ids of ``bytepiece encode`` (or ``sample``) with the same options on one
machine: the ``.bin`` files concatenated are its ``.bin`` byte for byte.

Sampling draws document ``d``'s ids from stream ``d`` of the run's seed
(``d·n + j`` for sample ``j`` of ``n``), where ``d`` counts from the start of
the corpus, as on one machine. A shard's first document is the sum of the
documents before it, so a sampling run first counts each shard's documents in
tasks (lines, without decoding them: cheap next to encoding) and starts
encoding a shard as soon as the counts of the shards before it are in. The
best segmentation uses no stream and skips the count.

Whole or not at all: every task writes its shard, whole (:class:`TokenFileWriter`),
into a hidden staging folder inside the output folder; a task whose worker dies
is rerun by Ray and writes the same shard again over the same name. Only when
every shard is in does the driver check them, rename them to their final names
and write the manifest, last. A failed run removes the staging folder and
leaves no manifest and no shard under a final name (an earlier run's files stay
as they were).

The output folder must be one every node writes and the driver reads at the
same path (a shared file system), as the input files must be. Ray is an
optional dependency (``pip install bytepiece[ray]``), imported only when this
module is used.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple, Union

import numpy as np

from ..corpus import Corpus, in_batches
from ..model import Model
from ..progress import progress_bar
from ..ray_support import crash_once, import_ray, ray_session, worker_tokenizer
from ..special import AllowedSpecial
from ..tokenizer import SAMPLERS, Tokenizer
# Only the light module of shards: the workers that encode never load the training engine.
from ..training.sources import FileShard, ReadOptions, plan_shards, shard_documents, shard_lines
from ..validation import check_num_threads
from .atomic import PathLike, check_writable
from .token_files import (TOKEN_FORMATS, TokenFileWriter, TokenManifest, read_token_file_metadata, read_token_manifest,
                          token_file_metadata_path, token_file_paths, token_manifest_path, token_shard_path,
                          write_token_manifest)

__all__ = ["encode_on_ray", "count_documents", "RayEncodeResult", "WorkerStats", "worker_lines",
           "MIN_SHARD_BYTES", "MAX_SHARD_BYTES", "TASK_RETRIES"]

#: How often Ray reruns a task whose worker process died (as in training).
TASK_RETRIES = 3
# CRASH_ONCE_ENV (bytepiece.ray_support), the tests' fault injection, names the
# tasks of encoding count-3, encode-3, ...

#: The bounds of the automatic shard size: about four shards per CPU, so that
#: the cluster stays busy to the end, but no shard so small that a task's fixed
#: costs show, nor so large that one task holds up the run.
MIN_SHARD_BYTES = 1 << 20
MAX_SHARD_BYTES = 64 << 20
_SHARDS_PER_CPU = 4


def _ray() -> Any:
    return import_ray("encoding on Ray")


# -- what the tasks do (module-level functions, wrapped by ray.remote on first use) ---------------


def count_documents(shard: FileShard, options: ReadOptions) -> int:
    """How many documents :func:`bytepiece.training.sources.read_shard` reads
    from ``shard``, found without decoding them: each line of plain text, each
    non-blank JSON line (one that is not a document with its field makes the
    run fail when it is encoded), one per whole file, a parquet file's rows."""
    if shard.path.endswith(".parquet"):
        import pyarrow.parquet as pq  # type: ignore[import-untyped]  # optional (bytepiece[ray])

        return int(pq.ParquetFile(shard.path).metadata.num_rows)
    if options.whole_file:
        return 1
    corpus = Corpus([shard.path], field=options.field, errors=options.errors)
    lines = shard_lines(shard, corpus)
    if options.field is None:
        return sum(1 for _ in lines)
    return sum(1 for _, raw in lines if raw.strip())  # Corpus skips blank JSON lines


def _count_task(shard: FileShard, options: ReadOptions, index: int) -> Tuple[int, float, str]:
    """(documents, seconds, worker) of one shard's count."""
    start = time.perf_counter()
    crash_once(f"count-{index}")
    return count_documents(shard, options), time.perf_counter() - start, _worker_name()


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _block_info(block: Any) -> Tuple[int, int]:
    """(rows, bytes) of a Dataset block (a pyarrow Table)."""
    return block.num_rows, block.nbytes


@dataclass(frozen=True)
class _Job:
    """What every encode task of a run needs besides its shard."""

    model: List[Any]  # [the model's object reference]: in a list, so that Ray passes the reference as it is
    fingerprint: str
    token_format: str
    read: ReadOptions
    alpha: float
    sampler: str
    seed: Optional[int]
    n: int
    add_bos: bool
    add_eos: bool
    normalize: bool
    allowed_special: AllowedSpecial
    batch_size: int
    threads: int
    staging: str

    def staged(self, index: int) -> str:
        """The data file of shard ``index`` in the staging folder."""
        return os.path.join(self.staging, f"shard-{index}.{self.token_format}")


@dataclass(frozen=True)
class _ShardResult:
    index: int
    documents: int
    tokens: int
    seconds: float
    worker: str


def _encode_task(job: _Job, shard: Any, index: int, first_document: Optional[int],
                 expected: Optional[int]) -> Optional[_ShardResult]:
    """Encode one shard into its token file in the staging folder. With
    sampling, ``first_document`` is the corpus-wide number of its first
    document and ``expected`` its count from the counting pass. None when
    the staging folder is not there: the run has failed and the driver
    removed it (nothing to report), or this node does not share the output
    folder (the driver, which sees the folder, says so)."""
    if not os.path.isdir(job.staging):
        return None
    try:
        return _encode_shard(job, shard, index, first_document, expected)
    except OSError:
        if not os.path.isdir(job.staging):  # removed while this task ran: the run has failed already
            return None
        raise


def _encode_shard(job: _Job, shard: Any, index: int, first_document: Optional[int],
                  expected: Optional[int]) -> _ShardResult:
    start = time.perf_counter()
    worker = _worker_name()
    tok = worker_tokenizer(job.fingerprint, job.model)
    n = job.n
    documents = 0
    with TokenFileWriter(job.staged(index), job.token_format, tok.vocab_size, job.fingerprint) as out:
        for batch in in_batches(shard_documents(shard, job.read), job.batch_size):
            texts = batch if n == 1 else [text for text in batch for _ in range(n)]
            # Document d's copy j draws from stream d * n + j of the seed, d counted from the corpus's start.
            first = ((first_document or 0) + documents) * n
            out.write(*tok.encode_batch_numpy(texts, alpha=job.alpha, sampler=job.sampler, seed=job.seed,
                                              num_threads=job.threads, normalize=job.normalize, first_stream=first,
                                              add_bos=job.add_bos, add_eos=job.add_eos,
                                              allowed_special=job.allowed_special))
            documents += len(batch)
            crash_once(f"encode-{index}")  # after a batch: a crash leaves a half-written shard behind
        if expected is not None and documents != expected:
            raise ValueError(f"{shard}: {documents} documents now, but {expected} when they were counted: the file "
                             "changed during the run")
    return _ShardResult(index, out.documents, out.tokens, time.perf_counter() - start, worker)


class _Tasks:
    """The remote forms of the tasks, made once per run."""

    def __init__(self, ray: Any, threads: int) -> None:
        remote = ray.remote(max_retries=TASK_RETRIES)
        self.count = remote(_count_task)
        self.block_info = remote(_block_info)
        self.encode = ray.remote(max_retries=TASK_RETRIES, num_cpus=threads)(_encode_task)


# -- what the driver does -------------------------------------------------------------------------


@dataclass
class WorkerStats:
    """What one worker process did: ``worker`` is ``host:pid``; ``seconds``
    the time its tasks ran (busy, not waiting); ``bytes`` of input (file bytes
    of its shards, as on disk; a Dataset block's Arrow bytes)."""

    worker: str
    shards: int = 0
    documents: int = 0
    tokens: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def mb_per_s(self) -> float:
        """Input MB (10^6 bytes) per second of its tasks' time."""
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


@dataclass
class RayEncodeResult:
    """What :func:`encode_on_ray` wrote and measured: the ``manifest`` (its
    shards and totals), ``input_bytes`` read, the shards planned (``shards``;
    those that held no document get no file), the cluster's ``cpus``,
    ``seconds`` from planning to the manifest, ``startup_seconds`` of starting
    or joining Ray, the ``seed`` sampling drew from (None for the best
    segmentation), and each worker's figures."""

    manifest: TokenManifest
    input_bytes: int
    shards: int
    cpus: int
    seconds: float
    startup_seconds: float
    seed: Optional[int]
    workers: List[WorkerStats] = field(default_factory=list)

    @property
    def documents(self) -> int:
        """Documents written (with ``n`` samples each, ``n`` per input document)."""
        return self.manifest.documents

    @property
    def tokens(self) -> int:
        """Ids written."""
        return self.manifest.tokens

    @property
    def mb_per_s(self) -> float:
        """Input MB (10^6 bytes) per second of the run, Ray's start-up excluded."""
        return self.input_bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def _shard_bytes(total: int, cpus: int) -> int:
    return int(min(MAX_SHARD_BYTES, max(MIN_SHARD_BYTES, -(-total // (_SHARDS_PER_CPU * cpus)))))


def _is_paths(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike)) or (
        isinstance(source, (list, tuple)) and all(isinstance(p, (str, os.PathLike)) for p in source))


def _input_files(source: Any, options: ReadOptions) -> List[str]:
    """The files of ``source`` (paths, globs, directories), each a regular file
    this process can read; OSError or ValueError naming the one that is not."""
    patterns = [os.fspath(source)] if isinstance(source, (str, os.PathLike)) else [os.fspath(p) for p in source]
    if not patterns or "-" in patterns:
        raise ValueError("encoding on Ray reads files on the workers: name them (standard input cannot be shared)")
    # Corpus checks the options and that every file exists and can be read.
    paths = Corpus(patterns, field=options.field, whole_file=options.whole_file, errors=options.errors,
                   spool=False).paths
    for path in paths:
        if not os.path.isfile(path):
            raise ValueError(f"encoding on Ray reads files on the workers: {path} is not a regular file (a pipe, FIFO "
                             "or device cannot be shared); save it to a file, or encode without Ray")
    return paths


def encode_on_ray(model: Union[PathLike, Model, Tokenizer], source: Any, output: PathLike, *,
                  token_format: Optional[str] = None, field: Optional[str] = None, whole_file: bool = False,
                  errors: str = "strict", alpha: float = -1.0, sampler: str = "perfect", seed: Optional[int] = None,
                  n: int = 1, add_bos: bool = False, add_eos: bool = False, normalize: bool = True,
                  allowed_special: AllowedSpecial = (), batch_size: int = 1000, threads_per_task: int = 1,
                  shard_bytes: Optional[int] = None, address: Optional[str] = None,
                  progress: Optional[bool] = None) -> RayEncodeResult:
    """Encode ``source`` with ``model`` on Ray into token files in shards and
    their manifest; returns what was written and measured.

    ``source``: file paths, globs or directories that every node can read
    (read as ``bytepiece encode`` reads them: ``field`` of JSON lines,
    ``whole_file``, ``errors``; ``.gz``, ``.parquet``), or a
    ``ray.data.Dataset`` whose ``field`` column (default ``text``) holds the
    documents, in its order. ``output``: ``NAME.bin`` or ``NAME.npy`` (or
    ``token_format``); the shards are ``NAME.00000.bin`` ... and the manifest
    ``NAME.bin.manifest.json``, in a folder every node writes at the same path.

    The ids are those of :meth:`Tokenizer.encode_batch_numpy` over the whole
    corpus in one batch with the same options (``alpha``, ``sampler``,
    ``seed``, ``add_bos``, ``add_eos``, ``normalize``, ``allowed_special``):
    document ``d`` from stream ``d``. With ``n`` > 1 (sampling only) each
    document is written ``n`` times, copy ``j`` from stream ``d·n + j``, as
    ``bytepiece sample --n`` does. Sampling without a ``seed`` draws one (in
    the result).

    ``batch_size``: documents per step of a task; ``threads_per_task``: threads
    (and CPUs reserved) per task; ``shard_bytes``: bytes of file per shard
    (default about four shards per CPU, 1 to 64 MB). ``address``: the cluster
    to join (None: the one this process is connected to, else a new
    one-machine Ray on the loopback address).

    Everything about the options, the model, the inputs and the output is
    checked before Ray starts. A failed run raises the task's own error and
    leaves no manifest and no shard under a final name.
    """
    # Everything that can be wrong fails here, before Ray starts.
    tok = model if isinstance(model, Tokenizer) else Tokenizer(model)
    output = os.fspath(output)
    fmt = token_format or ("npy" if output.endswith(".npy") else "bin")
    if fmt not in TOKEN_FORMATS:
        raise ValueError(f"token_format must be one of {TOKEN_FORMATS}, got {fmt!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    sampling = alpha >= 0
    if n > 1 and not sampling:
        raise ValueError(f"n > 1 samples each document: alpha must be >= 0, got {alpha}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
    threads = check_num_threads(threads_per_task, "threads_per_task")
    if shard_bytes is not None and (isinstance(shard_bytes, bool) or not isinstance(shard_bytes, int)
                                    or shard_bytes < 1):
        raise ValueError(f"shard_bytes must be a positive integer, got {shard_bytes!r}")
    # The options as the tasks will use them (alpha, sampler, the special tokens' names), on no text.
    tok.encode_batch_numpy([], alpha=alpha, sampler=sampler, seed=0, allowed_special=allowed_special)
    manifest_path = token_manifest_path(output, fmt)
    for path in (manifest_path, *token_file_paths(token_shard_path(output, fmt, 0, 1), fmt),
                 token_file_metadata_path(token_shard_path(output, fmt, 0, 1), fmt)):
        check_writable(path)
    options = ReadOptions(field=field, whole_file=whole_file, errors=errors)
    files = _input_files(source, options) if _is_paths(source) else None
    if files is None and not hasattr(source, "to_arrow_refs"):
        raise TypeError(f"encode_on_ray takes file paths or globs, or a ray.data.Dataset, not "
                        f"{type(source).__name__}")
    if sampling and seed is None:
        seed = secrets.randbits(64)  # one seed for the whole run, as on one machine

    started_at = time.perf_counter()
    ray = _ray()
    with ray_session(ray, address, quiet=progress is False):
        startup = time.perf_counter() - started_at
        job = _Job(model=[ray.put(tok.model)], fingerprint=tok.model.fingerprint(), token_format=fmt, read=options,
                   alpha=alpha, sampler=sampler, seed=seed, n=n, add_bos=add_bos, add_eos=add_eos,
                   normalize=normalize, allowed_special=allowed_special, batch_size=batch_size, threads=threads,
                   staging="")
        result = _encode(ray, job, tok, source if files is None else files, output, manifest_path, shard_bytes,
                         progress)
        result.startup_seconds = startup
        return result


def _plan(ray: Any, tasks: _Tasks, source: Any, options: ReadOptions, shard_bytes: Optional[int],
          cpus: int) -> Tuple[List[Any], List[int], Optional[List[int]]]:
    """(shards, their sizes in bytes, their documents when known without reading them)."""
    if isinstance(source, list):  # files
        total = sum(os.path.getsize(p) for p in source)
        shards = plan_shards(source, shard_bytes or _shard_bytes(total, cpus), options)
        sizes = [(s.end if s.end is not None else os.path.getsize(s.path)) - s.start for s in shards]
        return shards, sizes, None
    blocks = source.to_arrow_refs()
    info = ray.get([tasks.block_info.remote(block) for block in blocks])
    return blocks, [int(b) for _, b in info], [int(r) for r, _ in info]


def _encode(ray: Any, job: _Job, tok: Tokenizer, source: Any, output: str, manifest_path: str,
            shard_bytes: Optional[int], progress: Optional[bool]) -> RayEncodeResult:
    start = time.perf_counter()
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    tasks = _Tasks(ray, job.threads)
    shards, sizes, known_counts = _plan(ray, tasks, source, job.read, shard_bytes, cpus)
    folder = os.path.dirname(os.path.abspath(manifest_path))
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(manifest_path)}.", suffix=".part", dir=folder)
    try:
        job = _Job(**{**job.__dict__, "staging": staging})
        results, counted = _run_tasks(ray, tasks, job, shards, sizes, known_counts, progress)
        manifest = _publish(job, results, output, manifest_path, tok)
    finally:
        _remove_folder(staging)  # whatever killed attempts or a failed run left there
    workers: Dict[str, WorkerStats] = {}
    for worker, seconds in counted:  # the counting pass is part of a worker's time
        workers.setdefault(worker, WorkerStats(worker)).seconds += seconds
    for r in results:
        w = workers.setdefault(r.worker, WorkerStats(r.worker))
        w.shards += 1
        w.documents += r.documents
        w.tokens += r.tokens
        w.bytes += sizes[r.index]
        w.seconds += r.seconds
    return RayEncodeResult(manifest=manifest, input_bytes=sum(sizes), shards=len(shards), cpus=cpus,
                           seconds=time.perf_counter() - start, startup_seconds=0.0, seed=job.seed,
                           workers=sorted(workers.values(), key=lambda w: w.worker))


def _remove_folder(folder: str) -> None:
    """Remove ``folder`` and what is in it. A task of a failed run may be
    creating a file there meanwhile (then the folder is not empty when it is
    removed): try again. Tasks never create the folder, so once it is gone it
    stays gone."""
    for _ in range(50):
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.lexists(folder):
            return
        time.sleep(0.1)


def _run_tasks(ray: Any, tasks: _Tasks, job: _Job, shards: List[Any], sizes: List[int],
               known_counts: Optional[List[int]], progress: Optional[bool]
               ) -> Tuple[List[_ShardResult], List[Tuple[str, float]]]:
    """Run one encode task per shard (after counting, when sampling needs the
    corpus-wide document numbers) and wait for them with a progress line;
    returns their results in shard order and the (worker, seconds) of the counts."""
    sampling = job.alpha >= 0
    total = len(shards)
    encoding: Dict[Any, int] = {}  # encode task -> shard
    counting: Dict[Any, int] = {}  # count task -> shard
    counts: Dict[int, int] = {}
    counted: List[Tuple[str, float]] = []
    next_shard, first_document = 0, 0

    def launch_ready() -> None:
        # A shard's encoding starts as soon as it knows its first document.
        nonlocal next_shard, first_document
        while next_shard < total and (not sampling or next_shard in counts):
            k = next_shard
            expected = counts.get(k) if sampling else None
            encoding[tasks.encode.remote(job, shards[k], k, first_document if sampling else None, expected)] = k
            first_document += counts.get(k, 0)
            next_shard += 1

    if sampling and known_counts is not None:
        counts = dict(enumerate(known_counts))
    elif sampling:
        counting = {tasks.count.remote(shard, job.read, k): k for k, shard in enumerate(shards)}
    results: List[_ShardResult] = []
    bar = progress_bar(f"Encode, 0/{total} shards", total=sum(sizes), unit="B", enabled=progress)
    try:
        launch_ready()
        while counting or encoding:
            done, _ = ray.wait([*counting, *encoding], num_returns=1, timeout=1.0)
            for ref in done:
                if ref in counting:
                    documents, seconds, worker = ray.get(ref)
                    counts[counting.pop(ref)] = documents
                    counted.append((worker, seconds))
                    launch_ready()
                    continue
                result = ray.get(ref)
                encoding.pop(ref)
                if result is None:  # the task did not find the staging folder, which is here
                    raise OSError(f"a worker found no {job.staging}: the output folder must be on a file system "
                                  "that every node shares, at the same path")
                results.append(result)
                bar.set_description(f"Encode, {len(results)}/{total} shards", refresh=False)
                bar.update(sizes[result.index])
    finally:
        # On a failure the other tasks are not cancelled (ray.cancel racing a task
        # that completes can abort the driver in Ray 2.x): the driver removes the
        # staging folder, so that those still queued fail at once and those
        # running fail to put their shard there; none is launched after this.
        bar.close()
    return sorted(results, key=lambda r: r.index), counted


def _publish(job: _Job, results: List[_ShardResult], output: str, manifest_path: str,
             tok: Tokenizer) -> TokenManifest:
    """Check every staged shard, rename them to their final names in corpus
    order and write the manifest, last. Shards without documents get no file
    (a Megatron-LM blend cannot hold an empty dataset)."""
    fmt = job.token_format
    kept = [r for r in results if r.documents]
    for r in kept:
        staged = job.staged(r.index)
        try:
            meta = read_token_file_metadata(staged, fmt)
        except FileNotFoundError:
            meta = None
        if meta is None or not all(os.path.isfile(p) for p in token_file_paths(staged, fmt)):
            raise OSError(f"the workers wrote shard {r.index} into {job.staging}, but this machine does not see it "
                          "there: the output folder must be on a file system that every node shares, at the same "
                          "path")
        if (meta.documents, meta.tokens, meta.model_fingerprint) != (r.documents, r.tokens, job.fingerprint):
            raise ValueError(f"shard {r.index} in {job.staging} records {meta.documents} documents and {meta.tokens} "
                             f"ids, but its task wrote {r.documents} and {r.tokens}: another process wrote there")
    previous = _previous_shards(manifest_path)
    finals = []
    for j, r in enumerate(kept):
        final = token_shard_path(output, fmt, j, len(kept))
        staged = job.staged(r.index)
        for src, dst in zip((*token_file_paths(staged, fmt), token_file_metadata_path(staged, fmt)),
                            (*token_file_paths(final, fmt), token_file_metadata_path(final, fmt))):
            os.replace(src, dst)
        finals.append((final, r.documents, r.tokens))
    manifest = write_token_manifest(manifest_path, fmt, tok.vocab_size, job.fingerprint, finals)
    # The shards of an earlier run to the same name that this run did not replace
    # (it had more of them) would sit beside the new ones as if they belonged.
    written = {os.path.abspath(path) for path, _, _ in finals}
    for path in previous - written:
        for stale in (*token_file_paths(path, fmt), token_file_metadata_path(path, fmt)):
            with contextlib.suppress(OSError):
                os.unlink(stale)
    return manifest


def _previous_shards(manifest_path: str) -> Set[str]:
    """The data files listed by the manifest already at ``manifest_path``, if it is one."""
    try:
        return {os.path.abspath(shard.path) for shard in read_token_manifest(manifest_path).shards}
    except (OSError, ValueError):
        return set()


def worker_lines(result: RayEncodeResult, limit: int = 16) -> List[str]:
    """One line per worker (``host:pid``: shards, MB, busy seconds, MB/s), or,
    beyond ``limit`` workers, the slowest, the median and the fastest."""
    workers = result.workers
    rows = [f"  worker {w.worker}: {w.shards} shards, {w.bytes / 1e6:.1f} MB in {w.seconds:.2f} s of tasks, "
            f"{w.mb_per_s:.1f} MB/s" for w in workers]
    if len(rows) <= limit:
        return rows
    ranked = sorted(workers, key=lambda w: w.mb_per_s)
    rates = [w.mb_per_s for w in ranked]
    return [f"  {len(workers)} workers: slowest {rates[0]:.1f} MB/s ({ranked[0].worker}), median "
            f"{float(np.median(rates)):.1f} MB/s, fastest {rates[-1]:.1f} MB/s ({ranked[-1].worker})"]
