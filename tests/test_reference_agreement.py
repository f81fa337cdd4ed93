"""The C core against the pure-Python reference decoder: same cases, both backends.

The samplers draw counter-based random numbers that the reference reproduces,
so with the same stream key every mode must agree id for id.
"""
import gzip
import json
import random
import unicodedata

import pytest

from bytepiece import _core
from reference import MODE_BEST, MODE_SAMPLE_PERFECT, MODE_SAMPLE_VITERBI, stream_key
from conftest import FIXTURES, reference_for, core_encode

MODES = [
    (MODE_BEST, -1.0),
    (MODE_SAMPLE_PERFECT, 0.0),
    (MODE_SAMPLE_PERFECT, 0.1),
    (MODE_SAMPLE_PERFECT, 1.0),
    (MODE_SAMPLE_PERFECT, 50.0),
    (MODE_SAMPLE_VITERBI, 0.0),
    (MODE_SAMPLE_VITERBI, 0.1),
    (MODE_SAMPLE_VITERBI, 2.0),
]

EDGE_CASES = [
    b"",
    b"\n",
    b"\n\n\nabc",
    b"abc\n",
    b"a\r\nb\r\n\r\n",
    b"\x00\x00\xff\xfe",
    b"\xe4\xbd\xa0\xe5\xa5\xbd",  # 你好
    b"\xe4\xbd",  # a truncated character
    "é café NFC 😀👍🏽 👨‍👩‍👧".encode(),
    b"x" * 5000,
    b"ab\n" * 300,
]


def golden_texts(limit):
    with gzip.open(FIXTURES / "plus.40k.golden.jsonl.gz", "rt", encoding="utf-8") as f:
        docs = [json.loads(line)["text"] for line in f]
    rng = random.Random(5)
    return [unicodedata.normalize("NFC", t).encode() for t in rng.sample(docs, limit)]


def random_bytes(count, seed):
    rng = random.Random(seed)
    alphabet = b"ab \n\xe4\xbd\xa0\x00\xff"
    return [bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(count)]


@pytest.mark.parametrize("mode,alpha", MODES)
def test_core_equals_reference_on_real_text(tok40k, ref40k, mode, alpha):
    for i, data in enumerate(golden_texts(60) + EDGE_CASES):
        key = stream_key(1234, i)
        assert core_encode(tok40k, data, mode, alpha, key) == ref40k.encode(data, mode, alpha, key), data[:60]


@pytest.mark.parametrize("mode,alpha", MODES)
def test_core_equals_reference_on_random_bytes_tiny_vocab(tiny, mode, alpha):
    ref = reference_for(tiny)
    for i, data in enumerate(random_bytes(300, seed=mode * 100 + int(alpha * 10))):
        key = stream_key(99, i)
        assert core_encode(tiny, data, mode, alpha, key) == ref.encode(data, mode, alpha, key), data


def test_stream_keys_agree_between_c_and_python():
    for seed, stream in [(0, 0), (1, 0), (2**64 - 1, 7), (123456789, 2**40)]:
        assert _core.stream_key(seed, stream) == stream_key(seed, stream)


def test_trie_lookup_finds_every_piece_and_nothing_else(tok40k):
    model = tok40k.model
    pieces = set(model.pieces)
    for piece, token_id in zip(model.pieces, model.ids):
        assert tok40k.model.segmenter().lookup(piece) == token_id
        prefix = piece[:-1]
        if prefix and prefix not in pieces:
            assert tok40k.model.segmenter().lookup(prefix) == -1
    assert tok40k.model.segmenter().lookup(b"") == -1
    assert tok40k.model.segmenter().lookup(b"\xff" * 40) == -1
