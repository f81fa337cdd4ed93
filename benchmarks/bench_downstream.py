"""Tokenizers compared where it counts: a small language model trained on each one's ids.

    python benchmarks/bench_downstream.py TRAIN.jsonl --eval NAME=PATH.jsonl [--eval ...]
        [--systems bytepiece-em bytepiece-063 sp-bpe sp-unigram hf-bpe hf-bpe-superword
                   bytepiece-em-sr0.1 bytepiece-em-sr0.5]
        [--vocab-size 8000] [--seeds 3] [--tokens 500000] [--lm-bytes 1000000]
        [--width 128] [--layers 2] [--heads 4] [--context 128] [--batch 16]
        [--noise 0.05] [--threads 2] [--device auto] [--json OUT.json]
        [--bytepiece NAME:KEY=VALUE,...]

Every system's tokenizer is trained on TRAIN (the `text` field of each JSON
line) less a held-out part (every 20th document). Then, for each seed, the
same small causal transformer (PyTorch; pre-LN, learned positions, tied
embeddings, AdamW with warmup and cosine decay) is trained from the same
initial weights on that tokenizer's ids of the same text (the first
`--lm-bytes` of the training documents, each ended by an end-of-document
id) for the same number of tokens (`--tokens`: better compression means
more text seen), and evaluated in **bits per byte** (the model's total
negative log-likelihood, in bits, over the UTF-8 bytes of the text, so that
tokenizers of any granularity compare) on:

- `heldout`: the held-out documents of TRAIN (the training domain);
- each `--eval NAME=PATH` (other domains);
- `noisy`: the held-out documents with injected noise, where subword
  regularization is claimed to help: each word, with probability `--noise`,
  gets a typo (a letter dropped, doubled, swapped with the next or replaced)
  and, with the same probability, its casing changed (Capitalized or UPPER).

`--bytepiece NAME:max_piece_length=128` adds a bytepiece system trained with
those Trainer options (``algorithm`` defaults to "em"; as bench_quality's).
`bytepiece-em-srA` is bytepiece-em's tokenizer with subword regularization
during LM training: the training text is sampled afresh (alpha A, a new
seed) every epoch, and evaluation uses the best segmentation, as for every
other system. Each figure is the mean and the standard deviation over the
seeds (which set the initial weights, the order of batches and the
samples). Peers (sentencepiece, tokenizers) and PyTorch are benchmark
dependencies (`pip install -e '.[bench]'`), never bytepiece's; the model
runs on a GPU when one is there (`--device auto`), unchanged.
"""
import argparse
import json
import math
import os
import random
import re
import sys
import tempfile
import time

import numpy as np

from common import read_texts, utf8_bytes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_quality  # noqa: E402  (the peers' training, shared with the compression benchmark)

SYSTEMS = ("bytepiece-em", "bytepiece-063", "sp-bpe", "sp-unigram", "hf-bpe", "hf-bpe-superword",
           "bytepiece-em-sr0.1", "bytepiece-em-sr0.5")
#: Every HELDOUT_EVERY-th document of TRAIN is held out.
HELDOUT_EVERY = 20


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", help="JSON lines with a `text` field: tokenizers and the LM train on it")
    parser.add_argument("--eval", action="append", default=[], metavar="NAME=PATH",
                        help="another domain's JSON lines to evaluate on (repeatable)")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS))
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=500_000, help="training tokens per run (every system)")
    parser.add_argument("--lm-bytes", type=int, default=1_000_000,
                        help="the LM trains on the first documents of TRAIN that hold this many bytes")
    parser.add_argument("--eval-bytes", type=int, default=200_000, help="evaluate on at most this many bytes each")
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, ...")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--bytepiece", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                        help="another bytepiece system: Trainer options (algorithm em unless given)")
    args = parser.parse_args(argv)
    args.custom = dict(bench_quality.parse_bytepiece(spec) for spec in args.bytepiece)
    for system in args.systems:
        if system not in SYSTEMS and system.split("-sr")[0] not in args.custom:
            parser.error(f"unknown system {system!r}; choose from {', '.join(SYSTEMS)} or a --bytepiece name")
    args.systems += [name for name in args.custom if name not in args.systems]
    return args


# -- text ---------------------------------------------------------------------


def first_bytes(texts, limit):
    """The first documents of ``texts`` holding at most ``limit`` UTF-8 bytes (at least one)."""
    taken, total = [], 0
    for text in texts:
        size = len(text.encode("utf-8"))
        if taken and total + size > limit:
            break
        taken.append(text)
        total += size
    return taken


def add_noise(texts, rate, seed):
    """``texts`` with about ``rate`` of the words given a typo and, as often, a
    change of casing (deterministic in ``seed``). A word is a run of ASCII
    letters: a letter dropped, doubled, swapped with the next or replaced;
    Capitalized or UPPER. Text without spaces (CJK) counts each other
    character as a word: it is dropped, doubled or swapped with the next."""
    rng = random.Random(seed)

    def typo(word):
        k = rng.randrange(max(1, len(word) - 1))
        kind = rng.randrange(4 if word.isascii() else 3)
        if kind == 0:
            return word[:k] + word[k + 1:]
        if kind == 1:
            return word[:k] + word[k] + word[k:]
        if kind == 2:
            return word[:k] + word[k + 1:k + 2] + word[k] + word[k + 2:]
        return word[:k] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[k + 1:]

    def noisy_word(match):
        word = match.group(0)
        if word.isascii():
            if len(word) >= 2 and rng.random() < rate:
                word = typo(word)
            if rng.random() < rate:
                word = word.upper() if rng.random() < 0.5 else word[:1].upper() + word[1:]
            return word
        pairs = [word[k:k + 2] for k in range(0, len(word), 2)]
        return "".join(typo(pair) if rng.random() < rate else pair for pair in pairs)

    return [_LETTERS.sub(noisy_word, text) for text in texts]


#: Runs of ASCII letters, and runs of other letters (CJK and the like).
_LETTERS = re.compile(r"[A-Za-z]+|[^\W\d_A-Za-z]+")


# -- tokenizers -----------------------------------------------------------------


class Encoder:
    """One trained tokenizer: ``vocab_size`` and ``encode(texts, alpha, seed)``
    -> one int64 array per text (alpha and seed only for bytepiece)."""

    def __init__(self, system, path):
        self.system = system
        if system.startswith("sp-"):
            import sentencepiece as spm

            self._sp = spm.SentencePieceProcessor(model_file=path)
            self.vocab_size = self._sp.get_piece_size()
        elif system.startswith("hf-"):
            from tokenizers import Tokenizer

            self._hf = Tokenizer.from_file(path)
            self.vocab_size = self._hf.get_vocab_size()
        else:
            import bytepiece

            self._bp = bytepiece.Tokenizer(path)
            self.vocab_size = self._bp.vocab_size

    def encode(self, texts, alpha=-1.0, seed=None):
        if self.system.startswith("sp-"):
            return [np.asarray(ids, dtype=np.int64) for ids in self._sp.encode(texts)]
        if self.system.startswith("hf-"):
            return [np.asarray(e.ids, dtype=np.int64) for e in self._hf.encode_batch(texts)]
        ids, offsets = self._bp.encode_batch_numpy(texts, alpha=alpha, seed=seed)
        return np.split(ids.astype(np.int64), offsets[1:-1])


def stream(encoded, end_id):
    """One id array: every document's ids, each followed by ``end_id``."""
    parts = []
    for ids in encoded:
        parts.append(ids)
        parts.append(np.array([end_id], dtype=np.int64))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


# -- the language model ---------------------------------------------------------


def build_model(torch, vocab, args):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(args.width), nn.LayerNorm(args.width)
            self.qkv = nn.Linear(args.width, 3 * args.width)
            self.out = nn.Linear(args.width, args.width)
            self.up, self.down = nn.Linear(args.width, 4 * args.width), nn.Linear(4 * args.width, args.width)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, args.heads, d // args.heads).permute(2, 0, 3, 1, 4)
            x = x + self.out(F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d))
            return x + self.down(F.gelu(self.up(self.ln2(x))))

    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, args.width)
            self.position = nn.Embedding(args.context, args.width)
            self.blocks = nn.ModuleList([Block() for _ in range(args.layers)])
            self.ln = nn.LayerNorm(args.width)
            nn.init.normal_(self.embed.weight, std=0.02)
            nn.init.normal_(self.position.weight, std=0.02)

        def forward(self, ids):
            h = self.embed(ids) + self.position.weight[: ids.shape[1]]
            for block in self.blocks:
                h = block(h)
            return self.ln(h) @ self.embed.weight.T  # tied embeddings

    return LanguageModel()


def train_lm(torch, encoder, train_texts, args, seed, alpha, device):
    """A model trained on ``args.tokens`` tokens of ``train_texts``; with
    ``alpha`` >= 0 the text is sampled afresh every epoch."""
    F = torch.nn.functional
    vocab = encoder.vocab_size + 1  # + the end-of-document id
    torch.manual_seed(seed)
    model = build_model(torch, vocab, args).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1, betas=(0.9, 0.95))
    per_step = args.batch * args.context
    steps = max(1, args.tokens // per_step)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup) * (
        0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))))
    rng = np.random.default_rng(seed)
    epoch, data, order, position = 0, None, None, 0
    model.train()
    for _ in range(steps):
        if data is None or position + args.batch > len(order):  # a new epoch: windows in a new order
            if data is None or alpha >= 0:
                encoded = encoder.encode(train_texts, alpha=alpha, seed=seed * 1000 + epoch) if alpha >= 0 \
                    else encoder.encode(train_texts)
                data = torch.from_numpy(stream(encoded, vocab - 1))
            starts = np.arange(0, max(1, len(data) - args.context - 1), args.context)
            order, position, epoch = rng.permutation(starts), 0, epoch + 1
        index = torch.from_numpy(order[position:position + args.batch])
        position += args.batch
        windows = torch.stack([data[i:i + args.context + 1] for i in index.tolist()]).to(device)
        logits = model(windows[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), windows[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    return model, epoch


def bits_per_byte(torch, model, encoder, texts, args, device):
    """Total negative log-likelihood of ``texts`` (their best segmentation, each
    ended by the end-of-document id), in bits, over their UTF-8 bytes."""
    F = torch.nn.functional
    vocab = encoder.vocab_size + 1
    data = torch.from_numpy(stream(encoder.encode(texts), vocab - 1))
    total = 0.0
    model.eval()
    with torch.no_grad():
        # Windows of context + 1 ids that overlap by one: every id but the first is predicted once.
        windows = [data[s:s + args.context + 1] for s in range(0, max(1, len(data) - 1), args.context)]
        full = [w for w in windows if len(w) == args.context + 1]
        groups = [torch.stack(full[k:k + args.batch]) for k in range(0, len(full), args.batch)]
        groups += [w[None] for w in windows if 2 <= len(w) < args.context + 1]  # the short last one
        for group in groups:
            group = group.to(device)
            logits = model(group[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, vocab), group[:, 1:].reshape(-1), reduction="sum").item()
    return total / math.log(2) / utf8_bytes(texts)


# -- the run ---------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    texts = read_texts(args.train)
    heldout = [t for i, t in enumerate(texts) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    training = [t for i, t in enumerate(texts) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1]
    lm_texts = first_bytes(training, args.lm_bytes)
    corpora = {"heldout": first_bytes(heldout, args.eval_bytes)}
    for spec in args.eval:
        name, _, path = spec.partition("=")
        corpora[name] = first_bytes(read_texts(path), args.eval_bytes)
    corpora["noisy"] = add_noise(corpora["heldout"], args.noise, seed=12345)
    print(f"device {device}; tokenizers of {args.vocab_size} trained on {len(training)} documents "
          f"({utf8_bytes(training) / 1e6:.1f} MB); the LM trains on {len(lm_texts)} documents "
          f"({utf8_bytes(lm_texts) / 1e6:.2f} MB) for {args.tokens} tokens; evaluation: "
          + ", ".join(f"{name} {utf8_bytes(c) / 1e3:.0f} KB" for name, c in corpora.items()), flush=True)

    results = {"args": vars(args), "device": str(device), "systems": {}}
    with tempfile.TemporaryDirectory() as workdir:
        train_path = os.path.join(workdir, "train.jsonl")
        with open(train_path, "w", encoding="utf-8") as f:
            for text in training:
                f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        encoders = {}
        for system in args.systems:
            base = system.split("-sr")[0]
            if base not in encoders:
                tokenizer_dir = os.path.join(workdir, base)
                os.makedirs(tokenizer_dir)
                options = {"algorithm": "em"} if base == "bytepiece-em" else {}
                if base in args.custom:
                    options = {"algorithm": "em", **args.custom[base]}
                path, seconds, _ = bench_quality.train(base, options, train_path, args.vocab_size, args.threads,
                                                       tokenizer_dir)
                encoders[base] = Encoder(base, path)
                print(f"  trained {base} in {seconds:.1f} s (vocab {encoders[base].vocab_size})", flush=True)
            encoder = encoders[base]
            alpha = float(system.split("-sr")[1]) if "-sr" in system else -1.0
            row = {"bytes_per_token": {name: utf8_bytes(c) / sum(len(ids) for ids in encoder.encode(c))
                                       for name, c in corpora.items()},
                   "bits_per_byte": {name: [] for name in corpora}, "seconds": []}
            for seed in range(args.seeds):
                start = time.perf_counter()
                model, epochs = train_lm(torch, encoder, lm_texts, args, seed, alpha, device)
                for name, corpus in corpora.items():
                    row["bits_per_byte"][name].append(bits_per_byte(torch, model, encoder, corpus, args, device))
                row["seconds"].append(time.perf_counter() - start)
                row["epochs"] = epochs
                print(f"  {system} seed {seed}: " + ", ".join(
                    f"{name} {values[-1]:.4f}" for name, values in row["bits_per_byte"].items())
                    + f" bits/byte ({epochs} epochs, {row['seconds'][-1]:.0f} s)", flush=True)
            results["systems"][system] = row
    print_table(results, list(corpora))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return results


def print_table(results, corpora):
    seeds = results["args"]["seeds"]
    print(f"\nbits per byte (lower is better), mean ± standard deviation over {seeds} seeds; bytes/token in brackets")
    print(f"{'system':<22}" + "".join(f"{name:>24}" for name in corpora))
    for system, row in results["systems"].items():
        cells = []
        for name in corpora:
            values = np.array(row["bits_per_byte"][name])
            spread = values.std(ddof=1) if len(values) > 1 else 0.0
            cells.append(f"{values.mean():.4f} ± {spread:.4f} [{row['bytes_per_token'][name]:.2f}]")
        print(f"{system:<22}" + "".join(f"{cell:>24}" for cell in cells))


if __name__ == "__main__":
    main()
