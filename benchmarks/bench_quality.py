"""Vocabulary quality: bytes per token on the training text and on other domains, bytepiece vs peers.

    python benchmarks/bench_quality.py TRAIN.jsonl --eval NAME=PATH.jsonl [--eval ...]
        [--sizes 8000 32000 80000] [--systems bytepiece-063 bytepiece-em sp-bpe sp-unigram hf-bpe
        sp-bpe-superword hf-bpe-superword hf-bpe-superword-lines]
        [--bytepiece NAME:KEY=VALUE,...] [--threads 2]

Trains every system at every size on TRAIN (the `text` field of each JSON
line) and prints bytes per token (UTF-8 bytes / tokens; higher is better) on
TRAIN and on each --eval corpus, with training time and the peak resident
memory of the training process (each training runs in a fresh process).
After each size, the ratios of every bytepiece system to the best peer on
each corpus, and its training time over bytepiece-063's.
Systems:

- bytepiece-063: `Trainer()`, 0.6.3's algorithm and defaults (order 6, min_count 2);
- bytepiece-em: `Trainer(algorithm="em")`, the default of `bytepiece train`;
- any `--bytepiece NAME:order=8,min_count=4` (Trainer keyword arguments);
- sp-bpe, sp-unigram: SentencePiece, lossless (identity normalizer, no dummy
  prefix, whitespace kept, byte fallback), one sentence per line, with
  whitespace-only pieces allowed (runs of spaces in code would otherwise cost
  a token per space: the fairer setting for the peer);
- hf-bpe: Hugging Face tokenizers' ByteLevelBPETokenizer.
- sp-bpe-superword, hf-bpe-superword: the same BPEs without splitting at
  whitespace (SentencePiece ``split_by_whitespace=False``; HF ByteLevel with
  ``use_regex=False``), so tokens may span words, as SuperBPE's second stage:
  the strongest compressors among the peers (much slower to train).
  hf-bpe-superword learns from whole documents, so its tokens may span
  line breaks; hf-bpe-superword-lines learns from their lines, so that, as
  bytepiece's pieces, none does.

The peers are imported only when asked for; install them in the benchmark's
environment (never project dependencies).
"""
import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time

from common import PEER_SYSTEMS, read_texts, train_peer, utf8_bytes

PEERS = PEER_SYSTEMS


def _train_bytepiece(texts, size, options, threads, workdir):
    import bytepiece

    trainer = bytepiece.Trainer(max_vocab_size=size, **options)
    trainer.train(texts, num_threads=threads)
    path = os.path.join(workdir, "model")
    trainer.save(path)
    return path


def _train(system, options, train_path, size, threads, workdir, queue):
    texts = read_texts(train_path)
    start = time.perf_counter()
    if system in PEERS:
        path = train_peer(system, texts, size, threads, workdir)
    else:
        path = _train_bytepiece(texts, size, options, threads, workdir)
    seconds = time.perf_counter() - start
    queue.put((path, seconds, peak_bytes()))


def peak_bytes():
    """The peak resident memory of this process. Linux's VmHWM, which starts
    afresh at exec: ru_maxrss keeps the parent's peak across fork and exec,
    so in a spawned child it reports the benchmark's own memory whenever that
    is larger (as it was at the larger sizes before this was used)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def train(system, options, train_path, size, threads, workdir):
    """(model path, seconds, peak bytes) of one training in a fresh process."""
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(
        target=_train, args=(system, options, train_path, size, threads, workdir, queue))
    process.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Exception:  # queue.Empty: still training, or failed
            if not process.is_alive():
                raise RuntimeError(f"training {system} at {size} failed (exit code {process.exitcode})") from None
    process.join()
    return result


def tokens_of(system, path, texts):
    """Total tokens of `texts` under the trained model."""
    if system.startswith("sp-"):
        import sentencepiece as spm

        processor = spm.SentencePieceProcessor(model_file=path)
        return sum(len(ids) for ids in processor.encode(texts))
    if system.startswith("hf-"):
        from tokenizers import Tokenizer

        return sum(len(e.ids) for e in Tokenizer.from_file(path).encode_batch(texts))
    import bytepiece

    ids, _ = bytepiece.Tokenizer(path).encode_batch_numpy(texts)
    return len(ids)


def parse_bytepiece(spec):
    name, _, rest = spec.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        options[key] = json.loads(value) if value[:1] in "0123456789-[{tf\"" else value
    return name, options


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train")
    parser.add_argument("--eval", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8000, 32000, 80000])
    parser.add_argument("--systems", nargs="+", default=["bytepiece-063", "bytepiece-em", *PEERS])
    parser.add_argument("--bytepiece", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                        help="a bytepiece configuration to add, e.g. o8m4:order=8,min_count=4")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    configs = {"bytepiece-063": {}, "bytepiece-em": {"algorithm": "em"}}
    configs.update(parse_bytepiece(spec) for spec in args.bytepiece)
    builtin = ("bytepiece-063", "bytepiece-em")
    systems = args.systems + [name for name in configs if name not in args.systems and name not in builtin]
    corpora = {"train": read_texts(args.train)}
    for spec in args.eval:
        name, _, path = spec.partition("=")
        corpora[name] = read_texts(path)
    sizes = {name: utf8_bytes(texts) for name, texts in corpora.items()}
    print("corpora: " + ", ".join(f"{name} {sizes[name] / 1e6:.2f} MB" for name in corpora))
    header = f"{'system':22s} {'size':>6s} " + " ".join(f"{name:>10s}" for name in corpora) + "   train s  peak GB"
    print("bytes/token (higher is better)")
    print(header)
    for size in args.sizes:
        results = {}
        for system in systems:
            with tempfile.TemporaryDirectory() as workdir:
                path, seconds, peak = train(system, configs.get(system, {}), args.train, size, args.threads, workdir)
                rates = [sizes[name] / max(tokens_of(system, path, texts), 1) for name, texts in corpora.items()]
            results[system] = (rates, seconds)
            print(f"{system:22s} {size:6d} " + " ".join(f"{r:10.3f}" for r in rates)
                  + f"   {seconds:7.1f}  {peak / 1e9:7.2f}", flush=True)
        peers = [results[s][0] for s in systems if s in PEERS]
        if not peers:
            continue
        best = [max(column) for column in zip(*peers)]
        for system in systems:
            if system in PEERS:
                continue
            rates, seconds = results[system]
            line = f"  {system} / best peer: " + " ".join(f"{r / b - 1:+.1%}" for r, b in zip(rates, best))
            if "bytepiece-063" in results:
                line += f"; training time x{seconds / results['bytepiece-063'][1]:.2f} of bytepiece-063"
            print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
