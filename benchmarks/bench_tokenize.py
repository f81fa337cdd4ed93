"""Tokenizer throughput: MB/s of UTF-8 input, ``encode`` over every document, beside the peers.

    python benchmarks/bench_tokenize.py CORPUS.jsonl MODEL [--repeat 3] [--compare-063 PYTHON]
        [--compare-spm NAME=SP.model ...]
        [--train TRAIN.jsonl [--work DIR] [--threads 1,2] [--peers LIB,...] [--vocab-size N]
         [--no-pin] [--json OUT.json] [--dump DIR]]

CORPUS is JSON lines {"text": ...} (e.g. from shared/corpus/build_dev_corpus.sh);
MODEL any bytepiece/BytePiece model. The model is loaded before timing; each
mode runs over the whole corpus in one thread, str in, list of ids out, best
of --repeat runs. The pure-Python reference decoder runs over the first
--reference-mb MB only (once).
--compare-063 names a Python interpreter with BytePiece 0.6.3 installed (a
throwaway venv, never a dependency) and times it on the same corpus in the
same run: its passes alternate with bytepiece's (one of each per round, best
of --repeat each), so a machine whose speed drifts between rounds slows
both alike and the ratios are like for like. The median of the rounds'
ratios is printed too.
--compare-spm times a SentencePiece model (the sentencepiece package must be
importable here; train it on the same corpus as MODEL, lossless:
normalization_rule_name="identity", add_dummy_prefix=False,
remove_extra_whitespaces=False, byte_fallback=True): ``encode`` per document,
and, when NAME contains "unigram", sampling with alpha 0.1 (nbest_size=-1, exact).

--train TRAIN (the corpus MODEL was trained on) adds the peers' table: the
peers of benchmarks/peers.py (tokenizers, sentencepiece, fastokens,
gigatoken: whichever are installed, or those of --peers) are trained on
TRAIN with MODEL's vocabulary size (or --vocab-size), cached in --work, and
timed on CORPUS, which they have never seen, beside bytepiece: ``encode``
per document on one thread, exact sampling (alpha 0.1; SentencePiece's
unigram) per document, and each library's batch encoder at each of
--threads (bytepiece's encode_batch_numpy). Each pass runs in a fresh
process limited to its threads (see peers.py: fastokens and gigatoken cache
results, so each document is tokenized once per process; their warm-cache
figures are printed apart, labelled); each peer pass follows a bytepiece
pass of the same mode, and the ratio is the median over --repeat rounds.
--json writes the figures; --dump DIR saves each row's ids (first pass).
"""
import argparse
import os
import subprocess
import statistics
import sys
import tempfile
import time
import unicodedata

import bytepiece
import peers
from common import best_rate, read_texts, utf8_bytes

# The pure-Python reference segmenter is the tests' oracle, not part of the package.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import reference  # noqa: E402

BASELINE_063 = r"""
import json, sys, time
import bytepiece
from bytepiece import Tokenizer
assert not hasattr(bytepiece, "__version__") or bytepiece.__version__.startswith("0."), bytepiece.__file__
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
tok = Tokenizer(sys.argv[2])
print("ready", flush=True)
for line in sys.stdin:  # one timed pass over the corpus per line: its alpha
    alpha = float(line)
    start = time.perf_counter()
    for t in texts:
        tok.encode(t, alpha=alpha)
    print(time.perf_counter() - start, flush=True)
"""


def over(fn, texts):
    """A call of ``fn`` on every text (what best_rate times)."""
    return lambda: [fn(t) for t in texts]


class Baseline063:
    """BytePiece 0.6.3 in its own interpreter, away from this checkout, timing
    one pass over the corpus whenever asked (so its passes can alternate with ours)."""

    def __init__(self, python, corpus, tok):
        self._tmp = tempfile.TemporaryDirectory()
        model_path = os.path.join(self._tmp.name, "model.json")  # 0.6.3 reads plain JSON only
        tok.save(model_path)
        self._process = subprocess.Popen([python, "-c", BASELINE_063, os.path.abspath(corpus), model_path],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                         cwd=self._tmp.name)
        if self._process.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError(f"BytePiece 0.6.3 did not start under {python}")

    def seconds(self, alpha):
        """The time of one pass of ``tok.encode(text, alpha=alpha)`` over the corpus."""
        self._process.stdin.write(f"{alpha}\n")
        self._process.stdin.flush()
        return float(self._process.stdout.readline())

    def close(self):
        """Ends the interpreter (killed if it does not exit on end of input) and removes its model."""
        try:
            self._process.stdin.close()
            self._process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        finally:
            self._tmp.cleanup()


def alternate(ours, theirs, repeat):
    """``repeat`` rounds of one pass of ``ours`` then one of ``theirs`` (each a
    function giving MB/s): (best of ours, best of theirs, median ratio of the rounds)."""
    rates = [(ours(), theirs()) for _ in range(repeat)]
    return max(r for r, _ in rates), max(b for _, b in rates), statistics.median(r / b for r, b in rates)


def time_modes(tok, texts, total, peer, repeat):
    """MB/s of each mode ({name: rate}), and the lines comparing with 0.6.3 (``peer``, or None)."""
    results, peer_lines = {}, []
    modes = [  # (name, keyword arguments, the alpha 0.6.3 is compared at, or None)
        ("deterministic", dict(), -1),
        ("perfect sampling, alpha 0.1", dict(alpha=0.1, seed=1), 0.1),
        ("viterbi sampling, alpha 0.1", dict(alpha=0.1, sampler="viterbi", seed=1), None),
    ]
    for name, kwargs, peer_alpha in modes:
        ours = over(lambda t, kw=kwargs: tok.encode(t, **kw), texts)
        if peer is None or peer_alpha is None:
            results[name] = best_rate(ours, total, repeat)
        else:
            results[name], base, ratio = alternate(lambda: best_rate(ours, total, 1),
                                                   lambda a=peer_alpha: total / peer.seconds(a) / 1e6, repeat)
            label = "deterministic" if peer_alpha < 0 else f"alpha {peer_alpha}"
            peer_lines.append(f"{'BytePiece 0.6.3 ' + label:32s} {base:8.2f} MB/s -> {name} is "
                              f"{results[name] / base:.1f}x (median of rounds {ratio:.1f}x)")
        print(f"{name:32s} {results[name]:8.2f} MB/s")
    return results, peer_lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("model")
    parser.add_argument("--reference-mb", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is reported")
    parser.add_argument("--compare-063", metavar="PYTHON", help="interpreter with BytePiece 0.6.3 installed")
    parser.add_argument("--compare-spm", metavar="NAME=PATH", action="append", default=[],
                        help="a SentencePiece model to time on the same corpus (repeatable)")
    peers.add_arguments(parser)
    args = parser.parse_args()
    try:
        args.threads = peers.parse_threads(args.threads)
    except ValueError as e:
        parser.error(str(e))

    texts = read_texts(args.corpus)
    total = utf8_bytes(texts)
    print(f"corpus: {len(texts)} documents, {total / 1e6:.2f} MB")

    start = time.perf_counter()
    tok = bytepiece.Tokenizer(args.model)
    print(f"model load: {time.perf_counter() - start:.3f} s ({tok.vocab_size} ids)")

    peer = Baseline063(args.compare_063, args.corpus, tok) if args.compare_063 else None
    try:
        results, peer_lines = time_modes(tok, texts, total, peer, args.repeat)
    finally:  # a pass that raises must not leave 0.6.3's interpreter behind
        if peer is not None:
            peer.close()
    tokens = sum(len(tok.encode(t)) for t in texts)
    print(f"deterministic: {tokens} tokens, {total / tokens:.3f} bytes/token")

    subset, size = [], 0
    for t in texts:
        if size >= args.reference_mb * 1e6:
            break
        subset.append(t)
        size += len(t.encode("utf-8"))
    model = tok.model
    ref = reference.ReferenceDecoder(model.pieces, model.scores(), model.ids)
    results["reference"] = best_rate(over(lambda t: ref.encode(unicodedata.normalize("NFC", t).encode()), subset),
                                     size, 1)
    print(f"{'pure-Python reference':32s} {results['reference']:8.2f} MB/s (first {size / 1e6:.2f} MB)")
    for line in peer_lines:
        print(line)
    for spec in args.compare_spm:
        import sentencepiece as spm

        name, _, path = spec.partition("=")
        sp = spm.SentencePieceProcessor(model_file=path)
        rate = best_rate(over(sp.encode, texts), total, args.repeat)
        print(f"{'SentencePiece ' + name:32s} {rate:8.2f} MB/s -> bytepiece is {results['deterministic'] / rate:.1f}x")
        if "unigram" in name.lower():  # BPE has no exact sampler to compare with
            sample = lambda t: sp.encode(t, enable_sampling=True, alpha=0.1, nbest_size=-1)  # noqa: E731
            rate = best_rate(over(sample, texts), total, args.repeat)
            print(f"{'SentencePiece ' + name + ' alpha 0.1':32s} {rate:8.2f} MB/s "
                  f"-> perfect sampling is {results['perfect sampling, alpha 0.1'] / rate:.1f}x")
    if args.train:
        peers.run_table(args, texts, total, args.vocab_size or tok.vocab_size, ["encode", "sample", "batch"])


if __name__ == "__main__":
    sys.exit(main())
