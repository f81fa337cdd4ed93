"""What the benchmark scripts share: their common arguments, reading a JSON
lines corpus, the best rate of repeated runs, and the training of the peers
(SentencePiece and Hugging Face tokenizers) that several scripts compare with.

The scripts run as ``python benchmarks/NAME.py``, so this folder is on their
import path: ``from common import read_texts, utf8_bytes, best_rate``.
"""
import argparse
import json
import os
import time


def corpus_model_parser(doc, thread_list=False):
    """An argument parser described by the first line of ``doc`` (a script's
    docstring) with CORPUS, MODEL, --threads (2; with ``thread_list``, thread
    counts separated by commas, 1,2, left for the script to parse) and --repeat (3)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("model")
    if thread_list:
        parser.add_argument("--threads", default="1,2", help="thread counts separated by commas (default: 1,2)")
    else:
        parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    return parser


def read_texts(path):
    """The ``text`` field of every JSON line of ``path``."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def utf8_bytes(texts):
    """The UTF-8 size of ``texts`` in bytes (what the MB/s figures divide)."""
    return sum(len(t.encode("utf-8")) for t in texts)


def best_rate(fn, size, repeat):
    """The best of ``repeat`` runs of ``fn()``, in MB/s of ``size`` bytes."""
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = max(best, size / (time.perf_counter() - start) / 1e6)
    return best


#: The peers every benchmark can train (their settings: bench_quality.py's docstring).
PEER_SYSTEMS = ("sp-bpe", "sp-unigram", "hf-bpe", "sp-bpe-superword", "hf-bpe-superword", "hf-bpe-superword-lines")


def train_sentencepiece(texts, size, model_type, threads, workdir, split_by_whitespace=True):
    """A lossless SentencePiece model of ``model_type`` ("bpe" or "unigram")
    trained on ``texts`` (one sentence per line), written in ``workdir``: its path."""
    import sentencepiece as spm

    lines = os.path.join(workdir, "lines.txt")
    with open(lines, "w", encoding="utf-8") as f:
        for text in texts:
            for line in text.split("\n"):
                if line:
                    f.write(line + "\n")
    prefix = os.path.join(workdir, "sp")
    spm.SentencePieceTrainer.train(
        input=lines, model_prefix=prefix, vocab_size=size, model_type=model_type, character_coverage=0.9995,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=False,
        byte_fallback=True, max_sentence_length=1 << 16, num_threads=threads, hard_vocab_limit=False,
        allow_whitespace_only_pieces=True, split_by_whitespace=split_by_whitespace, minloglevel=2)
    return prefix + ".model"


def train_hf(texts, size, threads, workdir, superword=False, lines=False):
    """A Hugging Face byte-level BPE trained on ``texts``, saved as
    ``workdir``/tokenizer.json: its path. Sets RAYON_NUM_THREADS in this process."""
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    from tokenizers import ByteLevelBPETokenizer, Tokenizer, decoders, models, pre_tokenizers, trainers

    if superword:  # no pre-tokenization: byte-level BPE over whole documents (SuperBPE's second stage)
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
        tokenizer.decoder = decoders.ByteLevel()
        if lines:  # no token learns a line break: bytepiece's own chunk rule
            texts = [line for text in texts for line in text.split("\n") if line]
        tokenizer.train_from_iterator(texts, trainers.BpeTrainer(
            vocab_size=size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    else:
        tokenizer = ByteLevelBPETokenizer()
        tokenizer.train_from_iterator(texts, vocab_size=size, show_progress=False)
    path = os.path.join(workdir, "tokenizer.json")
    tokenizer.save(path)
    return path


def train_peer(system, texts, size, threads, workdir):
    """Trains the peer ``system`` (one of PEER_SYSTEMS) on ``texts`` with a
    vocabulary of ``size`` in ``workdir``: the model's path."""
    if system == "sp-bpe":
        return train_sentencepiece(texts, size, "bpe", threads, workdir)
    if system == "sp-unigram":
        return train_sentencepiece(texts, size, "unigram", threads, workdir)
    if system == "sp-bpe-superword":
        return train_sentencepiece(texts, size, "bpe", threads, workdir, split_by_whitespace=False)
    if system == "hf-bpe":
        return train_hf(texts, size, threads, workdir)
    if system == "hf-bpe-superword":
        return train_hf(texts, size, threads, workdir, superword=True)
    if system == "hf-bpe-superword-lines":
        return train_hf(texts, size, threads, workdir, superword=True, lines=True)
    raise ValueError(f"unknown peer {system!r}: one of {', '.join(PEER_SYSTEMS)}")
