"""bytepiece's speed beside its peers, like for like: the harness that
bench_tokenize.py and bench_outputs.py share.

The peers' models are trained by the benchmark itself on --train (the same
corpus as bytepiece's model; common.train_peer, bench_quality's settings),
with the same vocabulary size, and kept in --work so that reruns are quick:

- tokenizers (Hugging Face): ``hf-bpe``, byte-level BPE pre-tokenized by the
  usual GPT-2 regex, and ``hf-bpe-superword``, ``ByteLevel(use_regex=False)``
  without pre-tokenization;
- sentencepiece: ``sp-unigram``, ``sp-bpe`` and ``sp-bpe-superword``
  (``split_by_whitespace=False``), all lossless (identity normalizer, no dummy
  prefix, whitespace kept, byte fallback);
- fastokens: a BPE accelerator loading a tokenizer.json (both HF models);
- gigatoken: a BPE accelerator (HF byte-level BPE and SentencePiece BPE models).

Every accelerator is checked once (untimed) against its reference library on
the timed corpus: one whose ids differ on any document is not the same
tokenizer, is reported as such and not timed (gigatoken 0.10.0 applies the
GPT-2 regex to a ``use_regex=False`` model).

**Fresh text.** fastokens and gigatoken cache results (gigatoken a per-instance
table of pre-token encodings, fastokens per-thread and shared caches that
outlive an instance), so a second pass over the same documents measures the
cache, not the tokenizer. Every timed pass therefore runs in a fresh process
(``python peers.py worker ...``) that loads the model (untimed), tokenizes
each document of the corpus once, and exits; bytepiece and every peer alike.
For the caching peers the same worker then times a second pass on the same
instance, printed apart and labelled ``warm cache``.

**Threads.** A pass on T threads runs in a process whose CPU affinity is T
cores (unless --no-pin) with RAYON_NUM_THREADS, FASTOKENS_BPE_THREADS and
OMP_NUM_THREADS set to T, so that a library that starts threads of its own
cannot use more cores than bytepiece is given; each figure's CPU time over
wall time is printed (``cores``) to show what it used.

**Drift.** The machine's speed drifts, so every peer pass is paired with a
bytepiece pass of the same mode and threads just before it: a round runs
bytepiece, peer, bytepiece, peer, ...; the ratio printed is the median over
the rounds of the pairs' ratios, and each MB/s the best of its passes.
"""
import json
import os
import tempfile
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

#: Which peer model each library times (a tokenizer library on its own models,
#: an accelerator on the models it accepts). Order: the order of the tables.
CONTENDERS = [
    ("tokenizers", "hf-bpe"), ("tokenizers", "hf-bpe-superword"),
    ("sentencepiece", "sp-unigram"), ("sentencepiece", "sp-bpe"), ("sentencepiece", "sp-bpe-superword"),
    ("fastokens", "hf-bpe"), ("fastokens", "hf-bpe-superword"),
    ("gigatoken", "hf-bpe"), ("gigatoken", "hf-bpe-superword"), ("gigatoken", "sp-bpe"),
    ("gigatoken", "sp-bpe-superword"),
]
#: The library whose ids an accelerator must reproduce, by the model's family.
REFERENCE = {"hf": "tokenizers", "sp": "sentencepiece"}
#: Libraries that cache results across calls (timed cold; a warm figure is printed apart).
CACHING = ("fastokens", "gigatoken")
#: The Python module each library is imported as (for "is it installed").
MODULES = {"bytepiece": "bytepiece", "tokenizers": "tokenizers", "sentencepiece": "sentencepiece",
           "fastokens": "fastokens", "gigatoken": "gigatoken"}


def installed(library):
    """Whether ``library`` can be imported here (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(MODULES[library]) is not None


def parse_threads(text):
    """``"1,2,4"`` -> [1, 2, 4] (the --threads option of the speed benchmarks)."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--threads: expected thread counts separated by commas, e.g. 1,2; got {text!r}") from None
    if not counts or min(counts) < 1:
        raise ValueError(f"--threads: every thread count must be at least 1; got {text!r}")
    return counts


# -- the peers' models ---------------------------------------------------------


def _fingerprint(path):
    import hashlib

    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def peer_models(systems, train, vocab_size, work, threads=2, log=print):
    """{system: model path} of every peer model in ``systems``, trained on the
    JSON lines corpus ``train`` with ``vocab_size`` pieces, or taken from
    ``work`` where an earlier run trained it on the same corpus (keyed by its
    content). A model is trained in a folder of its own and renamed into
    place when complete, so an interrupted run never leaves half a model."""
    import shutil

    from common import read_texts, train_peer

    key = _fingerprint(train)
    paths, texts = {}, None
    for system in systems:
        folder = os.path.join(work, f"{system}-{vocab_size}-{key}")
        name = "tokenizer.json" if system.startswith("hf-") else "sp.model"
        if not os.path.exists(os.path.join(folder, name)):
            if texts is None:
                texts = read_texts(train)
            partial = folder + ".partial"
            shutil.rmtree(partial, ignore_errors=True)
            os.makedirs(partial)
            start = time.perf_counter()
            trained = train_peer(system, texts, vocab_size, threads, partial)
            if os.path.basename(trained) != name:
                raise RuntimeError(f"{system}: expected {name}, trained {trained}")
            os.replace(partial, folder)
            log(f"trained {system} ({vocab_size}) on {train} in {time.perf_counter() - start:.1f} s -> {folder}")
        paths[system] = os.path.join(folder, name)
    return paths


# -- one timed pass, in a fresh process ------------------------------------------


def _load(library, model):
    if library == "bytepiece":
        import bytepiece

        return bytepiece.Tokenizer(model)
    if library == "tokenizers":
        from tokenizers import Tokenizer

        return Tokenizer.from_file(model)
    if library == "sentencepiece":
        import sentencepiece as spm

        return spm.SentencePieceProcessor(model_file=model)
    if library == "fastokens":
        import fastokens

        return fastokens.Tokenizer.from_file(model)
    if library == "gigatoken":
        import gigatoken

        return gigatoken.Tokenizer.from_sentencepiece(model) if model.endswith(".model") else gigatoken.Tokenizer(model)
    raise ValueError(f"unknown library {library!r}")


def encoder(library, tok, mode, threads):
    """The timed call: a function of the list of texts giving the library's own
    output (what a user of that API gets), and a function turning that output
    into one list of ids per text (untimed)."""
    as_lists = list  # output already one list (or array) of ids per text
    if mode == "encode":  # per document, str in, ids out
        if library in ("tokenizers", "fastokens"):
            return (lambda texts: [tok.encode(t).ids for t in texts]), as_lists
        return (lambda texts: [tok.encode(t) for t in texts]), as_lists
    if mode == "sample":  # per document, alpha 0.1, exact sampling
        if library == "bytepiece":
            return (lambda texts: [tok.encode(t, alpha=0.1) for t in texts]), as_lists
        if library == "sentencepiece":
            return (lambda texts: [tok.encode(t, enable_sampling=True, alpha=0.1, nbest_size=-1)
                                   for t in texts]), as_lists
        raise ValueError(f"{library} has no exact sampler")
    if mode != "batch":
        raise ValueError(f"unknown mode {mode!r}")
    import numpy as np

    def split(ids, offsets):
        return [ids[a:b] for a, b in zip(offsets[:-1], offsets[1:])]

    if library == "bytepiece":
        return (lambda texts: tok.encode_batch_numpy(texts, num_threads=threads)), (lambda out: split(*out))
    if library == "tokenizers":  # encode_batch_fast: no offsets, as the others (tokenizers >= 0.21)
        batch = getattr(tok, "encode_batch_fast", tok.encode_batch)
        return (lambda texts: batch(texts)), (lambda out: [e.ids for e in out])
    if library == "sentencepiece":
        return (lambda texts: tok.encode(texts, num_threads=threads)), as_lists
    if library == "fastokens":
        return ((lambda texts: tok.encode_batch_flat(texts)),
                (lambda out: split(np.frombuffer(out[0], np.uint32), np.frombuffer(out[1], np.uint64))))
    if library == "gigatoken":
        return ((lambda texts: tok.encode_batch(texts, parallel=threads > 1)),
                (lambda out: [np.asarray(row) for row in out]))
    raise ValueError(f"unknown library {library!r}")


#: The batch API each library is timed with (the CLI's row: the whole `bytepiece encode` process).
BATCH_API = {"bytepiece": "encode_batch_numpy", "bytepiece-cli": "CLI, whole process",
             "tokenizers": "encode_batch_fast", "sentencepiece": "encode(list)", "fastokens": "encode_batch_flat",
             "gigatoken": "encode_batch"}


def _worker(argv):
    """``worker LIBRARY MODEL CORPUS MODE THREADS [--warm] [--dump FILE]``:
    loads the model, times one pass over the corpus's documents and prints one
    JSON line: seconds, CPU seconds, tokens (and warm_seconds with --warm: a
    second pass on the same instance). --dump saves the first pass's ids in FILE.npz."""
    library, model, corpus, mode, threads = argv[:5]
    threads = int(threads)
    from common import read_texts

    texts = read_texts(corpus)
    tok = _load(library, model)
    run, to_lists = encoder(library, tok, mode, threads)
    # First-call set-up (lazy imports, thread pools) on a text that is not in the corpus, so that
    # nothing of the corpus is cached before the timed pass.
    run(["(warm-up) 0123456789"] * 4)
    cpu, start = time.process_time(), time.perf_counter()
    out = run(texts)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    ids = to_lists(out)
    result = {"seconds": seconds, "cpu": cpu, "tokens": int(sum(len(x) for x in ids))}
    if "--warm" in argv:
        start = time.perf_counter()
        run(texts)
        result["warm_seconds"] = time.perf_counter() - start
    if "--dump" in argv:
        import numpy as np

        lengths = [len(x) for x in ids]
        np.savez(argv[argv.index("--dump") + 1], ids=np.concatenate([np.asarray(x, np.int64) for x in ids]),
                 offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
    print(json.dumps(result), flush=True)


def cores(threads):
    """The first ``threads`` CPUs this process may run on."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return set(allowed[:threads])


def thread_env(threads):
    """The environment of a process limited to ``threads`` threads."""
    env = dict(os.environ)
    for name in ("RAYON_NUM_THREADS", "FASTOKENS_BPE_THREADS", "OMP_NUM_THREADS"):
        env[name] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
    return env


def pinned(threads, pin):
    """A preexec_fn restricting a child process to ``threads`` cores (or None)."""
    if not pin or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = cores(threads)
    return lambda: os.sched_setaffinity(0, cpus)


@dataclass
class Pass:
    """The result of one timed pass."""
    seconds: float
    cpu: float
    tokens: int
    warm_seconds: Optional[float] = None


def timed_pass(library, model, corpus, mode, threads, pin=True, warm=False, dump=None):
    """One pass of ``library`` over ``corpus`` in a fresh process (see _worker)."""
    command = [sys.executable, os.path.abspath(__file__), "worker", library, model, os.path.abspath(corpus), mode,
               str(threads)]
    if warm:
        command.append("--warm")
    if dump:
        command += ["--dump", dump]
    run = subprocess.run(command, capture_output=True, text=True, env=thread_env(threads),
                         preexec_fn=pinned(threads, pin))
    if run.returncode != 0:
        raise RuntimeError(f"{library} {mode} on {threads} threads failed:\n{run.stderr[-2000:]}")
    return Pass(**json.loads(run.stdout.strip().splitlines()[-1]))


def timed_command(command, threads, pin=True):
    """(wall seconds, CPU seconds) of a whole command (e.g. the CLI) limited to ``threads`` cores."""
    import resource

    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=thread_env(threads), preexec_fn=pinned(threads, pin))
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)


# -- agreement of the accelerators with their reference library --------------------


def agreement(library, system, model, texts):
    """Documents of ``texts`` on which ``library``'s ids differ from those of
    the model's own library (tokenizers or sentencepiece): 0 means the same
    tokenizer. Runs in this process, untimed."""
    reference = REFERENCE[system[:2]]
    ours, theirs = _load(library, model), _load(reference, model)
    run, to_lists = encoder(library, ours, "encode", 1)
    ref_run, ref_lists = encoder(reference, theirs, "encode", 1)
    return sum(list(map(int, a)) != list(map(int, b)) for a, b in zip(to_lists(run(texts)), ref_lists(ref_run(texts))))


def decodes(library, model, ids, text):
    """Whether ``library``'s own decoder gives back ``text`` from ``ids``."""
    tok = _load(library, model)
    ids = [int(i) for i in ids]
    if library == "gigatoken":
        return tok.decode(ids) == text.encode("utf-8")
    return tok.decode(ids) == text


# -- the alternating comparison ---------------------------------------------------


@dataclass
class Row:
    """One figure of a table: a library on a model in a mode on some threads,
    and the bytepiece figure it is compared with (same mode and threads)."""
    label: str
    library: str
    model: str
    mode: str
    threads: int
    passes: List[Pass] = field(default_factory=list)
    bytepiece: List[Pass] = field(default_factory=list)  # the paired bytepiece passes (peers only)
    runner: Optional[Callable[[], Pass]] = None  # how to time a pass, when not by timed_pass (the CLI)
    dump: Optional[str] = None  # where the first pass saves its ids: DUMP.npz (DUMP.bin for the CLI)


def compare(rows, bytepiece_model, corpus, repeat, pin=True, log=print):
    """Runs ``repeat`` rounds; in each, every peer row's pass right after a
    bytepiece pass of the same mode and threads (bytepiece's own rows, which
    every mode and thread count of a peer row must have, get the passes paired
    with their peers, or one of their own where none); the rows, with their
    passes, are returned."""
    own = {(r.mode, r.threads): r for r in rows if r.library == "bytepiece"}

    def one(row, first):
        if row.runner is not None:
            return row.runner()
        return timed_pass(row.library, row.model or bytepiece_model, corpus, row.mode, row.threads, pin,
                          warm=row.library in CACHING, dump=row.dump if first else None)

    for round_ in range(repeat):
        for row in rows:
            mine = own.get((row.mode, row.threads))
            if row.library == "bytepiece":
                if not any(r.library != "bytepiece" and (r.mode, r.threads) == (row.mode, row.threads) for r in rows):
                    row.passes.append(one(row, round_ == 0))
                continue
            base = one(mine, round_ == 0 and not mine.passes)
            theirs = one(row, round_ == 0)
            row.bytepiece.append(base)
            row.passes.append(theirs)
            if mine is not None:
                mine.passes.append(base)
        log(f"  round {round_ + 1} of {repeat} done")
    return rows


def rate(size, passes, warm=False):
    """The best MB/s of ``passes`` over ``size`` bytes."""
    seconds = [p.warm_seconds if warm else p.seconds for p in passes]
    return size / min(s for s in seconds if s is not None) / 1e6


def table(rows, size, title):
    """The lines of a table of ``rows`` (MB/s, bytes/token, cores used, bytepiece's ratio)."""
    lines = [title, f"{'tokenizer':32s} {'mode':32s} {'thr':>3s} {'MB/s':>8s} {'bytes/tok':>9s} {'cores':>5s}"
                    f"  bytepiece is"]
    for row in rows:
        best = rate(size, row.passes)
        tokens = row.passes[0].tokens
        used = statistics.median(p.cpu / p.seconds for p in row.passes)
        line = f"{row.label:32s} {mode_label(row):32s} {row.threads:3d} {best:8.2f} {size / tokens:9.3f} {used:5.2f}"
        if row.bytepiece:
            ratio = statistics.median(p.seconds / b.seconds for b, p in zip(row.bytepiece, row.passes))
            line += f"  {ratio:5.2f}x"
        lines.append(line)
        if row.passes[0].warm_seconds is not None:
            warm = rate(size, row.passes, warm=True)
            ratio = statistics.median(p.warm_seconds / b.seconds for b, p in zip(row.bytepiece, row.passes))
            lines.append(f"{'  same, warm cache: 2nd pass':32s} {mode_label(row):32s} {row.threads:3d} "
                         f"{warm:8.2f} {'':9s} {'':5s}  {ratio:5.2f}x")
    return lines


def figures(rows, size):
    """The rows' figures as JSON-able dicts (what --json writes)."""
    out = []
    for row in rows:
        item = {"label": row.label, "library": row.library, "model": row.model, "mode": row.mode,
                "threads": row.threads, "mb_per_s": rate(size, row.passes), "tokens": row.passes[0].tokens,
                "bytes_per_token": size / row.passes[0].tokens, "passes": len(row.passes),
                "seconds": [p.seconds for p in row.passes], "dump": row.dump}
        if row.bytepiece:
            item["bytepiece_is"] = statistics.median(p.seconds / b.seconds for b, p in zip(row.bytepiece, row.passes))
            item["bytepiece_tokens"] = row.bytepiece[0].tokens
        if row.passes[0].warm_seconds is not None:
            item["warm_mb_per_s"] = rate(size, row.passes, warm=True)
        out.append(item)
    return out


MODE_LABELS = {"encode": "encode per document", "sample": "sample alpha 0.1 per document", "batch": "batch"}


def mode_label(row):
    """What a row times: the mode, and for batches the library's API."""
    if row.mode == "batch" and row.library in BATCH_API:
        return f"batch: {BATCH_API[row.library]}"
    return MODE_LABELS.get(row.mode, row.mode)


def rows_for(peers, models, modes, threads, bytepiece_label, extra=None):
    """The rows of a comparison: bytepiece's, ``extra(mode, threads)``'s (more
    rows compared with bytepiece's), then the peers', for each of ``modes``
    ("encode", "sample", "batch": batch at each thread count)."""
    rows = []
    for mode in modes:
        for count in (threads if mode == "batch" else [1]):
            rows.append(Row(bytepiece_label, "bytepiece", "", mode, count))
            rows.extend(extra(mode, count) if extra else [])
            for library, system in peers:
                if mode == "sample" and system != "sp-unigram":
                    continue  # exact sampling: only SentencePiece's unigram has it among the peers
                rows.append(Row(f"{library} {system}", library, models[system], mode, count))
    return rows


def available_peers(names, models, corpus_texts, log=print):
    """The (library, system) pairs of CONTENDERS to time: installed, their
    model trained, and for accelerators agreeing with the reference library."""
    chosen = []
    for library, system in CONTENDERS:
        if names is not None and library not in names and f"{library}:{system}" not in names:
            continue
        if system not in models:
            continue
        if not installed(library):
            log(f"skipped {library}: not installed (pip install '.[bench]')")
            continue
        if library not in REFERENCE.values():
            differ = agreement(library, system, models[system], corpus_texts)
            if differ:
                log(f"skipped {library} on {system}: not the same tokenizer (its ids differ from those of "
                    f"{REFERENCE[system[:2]]} on {differ} of {len(corpus_texts)} documents)")
                continue
        chosen.append((library, system))
    return chosen


# -- the command-line side of the benchmarks ---------------------------------------------


def add_arguments(parser, threads=True):
    """The options of the peers' table (bench_tokenize.py's and bench_outputs.py's);
    --threads only where ``threads`` (bench_outputs has its own)."""
    parser.add_argument("--train", metavar="TRAIN.jsonl",
                        help="the corpus MODEL was trained on: train the peers on it and time them beside bytepiece")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "bytepiece-bench-peers"),
                        help="folder where the peers' models are kept between runs (default: %(default)s)")
    if threads:
        parser.add_argument("--threads", default="1,2", help="thread counts of the batch encoders (default: 1,2)")
    parser.add_argument("--peers", help="libraries to time, separated by commas (default: every one installed of "
                                        + ", ".join(sorted(set(lib for lib, _ in CONTENDERS))) + ")")
    parser.add_argument("--vocab-size", type=int, help="the peers' vocabulary (default: MODEL's)")
    parser.add_argument("--no-pin", action="store_true", help="do not limit each pass's CPU affinity to its threads")
    parser.add_argument("--json", metavar="OUT.json", help="write the peers' figures here")
    parser.add_argument("--dump", metavar="DIR", help="save each row's ids of its first pass here (checks)")


def prepare(args, texts, vocab_size):
    """(library, system) pairs to time and {system: model path}: trained or from --work."""
    names = None if args.peers is None else [n.strip() for n in args.peers.split(",") if n.strip()]
    wanted = [(lib, system) for lib, system in CONTENDERS
              if (names is None or lib in names) and installed(lib)]
    from common import PEER_SYSTEMS

    systems = [s for s in PEER_SYSTEMS if any(s == system for _, system in wanted)]
    # Each library needs its own or its reference library's package to train its model.
    systems = [s for s in systems if installed(REFERENCE[s[:2]])]
    models = peer_models(systems, args.train, vocab_size, args.work)
    return available_peers(names, models, texts), models


def run_table(args, texts, total, vocab_size, modes, extra=None):
    """Prints (and with --json saves) the peers' table for ``modes`` (see
    rows_for; ``extra`` adds bytepiece rows such as the CLI's): the rows."""
    chosen, models = prepare(args, texts, vocab_size)
    label = f"bytepiece {os.path.splitext(os.path.basename(args.model))[0]}"
    rows = rows_for(chosen, models, modes, args.threads, label, extra)
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
        for i, row in enumerate(rows):
            row.dump = os.path.join(args.dump, f"{i:02d}-{row.library}-{row.mode}-{row.threads}")
    print(f"peers: vocabulary {vocab_size}, trained on {args.train}; timed on {args.corpus} "
          f"({len(texts)} documents, {total / 1e6:.2f} MB of UTF-8); a fresh process per pass"
          f"{'' if args.no_pin else ', pinned to its threads'}; {args.repeat} rounds", flush=True)
    compare(rows, args.model, args.corpus, args.repeat, pin=not args.no_pin)
    for line in table(rows, total, "MB/s of UTF-8 input (best pass); bytepiece is: the median over the rounds "
                                   "of peer time / time of the bytepiece pass just before it"):
        print(line)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"corpus": args.corpus, "bytes": total, "documents": len(texts), "vocab_size": vocab_size,
                       "models": models, "rows": figures(rows, total)}, f, indent=1)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        # Limits threads of libraries read at import (done by the parent's environment).
        _worker(sys.argv[2:])
    else:
        print(__doc__)
