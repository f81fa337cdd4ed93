"""Shared fixtures: the shipped 0.6.3 model, a tiny vocabulary, helpers."""
from __future__ import annotations

import functools
import json
import math
import os
import pathlib
import random
from typing import Dict, List, Optional, Tuple

import pytest

import bytepiece
import numpy as np

import reference

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL_40K = ROOT / "data" / "models" / "bytepiece.plus.40k.zip"
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
#: The shipped sample corpus: JSON lines with a `text` field (Tang poems and English fortunes).
SAMPLE = ROOT / "data" / "sample.jsonl"

# A vocabulary over {a, b} where many segmentations compete: used by the
# exact-enumeration tests. (All other bytes are added with count 1.)
TINY_COUNTS = {b"a": 30, b"b": 20, b"ab": 25, b"ba": 10, b"aa": 8, b"aab": 6, b"bab": 4, b"abab": 3}


@functools.lru_cache(maxsize=None)
def _sample_documents() -> Tuple[str, ...]:
    with open(SAMPLE, encoding="utf-8") as f:
        return tuple(json.loads(line)["text"] for line in f)


def sample_texts(count: Optional[int] = None, seed: int = 0) -> List[str]:
    """The sample corpus's documents (read once per session), in file order,
    or ``count`` of them drawn with ``random.Random(seed)``; a fresh list."""
    texts = list(_sample_documents())
    return texts if count is None else random.Random(seed).sample(texts, count)


@pytest.fixture(scope="session")
def tok40k() -> bytepiece.Tokenizer:
    return bytepiece.Tokenizer(MODEL_40K)


@pytest.fixture(scope="session")
def tiny() -> bytepiece.Tokenizer:
    return bytepiece.Tokenizer.from_pieces(TINY_COUNTS, add_missing_bytes=True)


def reference_for(tok: bytepiece.Tokenizer) -> reference.ReferenceDecoder:
    model = tok.model
    return reference.ReferenceDecoder(model.pieces, model.scores(), model.ids)


@pytest.fixture(scope="session")
def ref40k(tok40k) -> reference.ReferenceDecoder:
    return reference_for(tok40k)


def core_encode(tok: bytepiece.Tokenizer, data: bytes, mode: int, alpha: float, key: int) -> List[int]:
    """The C segmenter's ids for ``data`` with the raw stream ``key`` (what the reference takes)."""
    keys = None if mode == bytepiece._core.MODE_BEST else np.array([key], dtype=np.uint64)
    return tok.model.segmenter().encode_lists([data], mode, alpha, keys)[0]


def segmentations(tok: bytepiece.Tokenizer, data: bytes) -> Dict[Tuple[int, ...], float]:
    """Every segmentation of ``data`` (one chunk) as ids -> its total score, by brute force."""
    scores = dict(zip(tok.model.pieces, tok.model.scores()))
    result: Dict[Tuple[int, ...], float] = {}

    def extend(start: int, ids: List[int], total: float) -> None:
        if start == len(data):
            result[tuple(ids)] = total
            return
        for end in range(start + 1, len(data) + 1):
            piece = data[start:end]
            if piece in scores:
                extend(end, ids + [tok.piece_to_id(piece)], total + scores[piece])

    extend(0, [], 0.0)
    return result


def exact_distribution(tok: bytepiece.Tokenizer, data: bytes, alpha: float) -> Dict[Tuple[int, ...], float]:
    """P(S) = exp(alpha * score(S)) / Z over all segmentations S of ``data``."""
    totals = segmentations(tok, data)
    top = max(alpha * v for v in totals.values())
    weights = {s: math.exp(alpha * v - top) for s, v in totals.items()}
    z = sum(weights.values())
    return {s: w / z for s, w in weights.items()}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Ray cluster for a module of Ray tests: head + 2 worker nodes, one CPU
    each, every one on 127.0.0.1 (the module sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
    before it imports Ray), with the fault-injection folder of
    ``bytepiece.ray_support.CRASH_ONCE_ENV``. Yields (cluster, that folder)."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from bytepiece.ray_support import CRASH_ONCE_ENV

    crash_dir = tmp_path_factory.mktemp("crash")
    saved = dict(os.environ)
    os.environ[CRASH_ONCE_ENV] = str(crash_dir)  # the nodes' workers inherit it
    node = dict(num_cpus=1, object_store_memory=100 << 20)
    cluster = Cluster(initialize_head=True, head_node_args=dict(node, include_dashboard=False))
    for _ in range(2):
        cluster.add_node(**node)
    ray.init(address=cluster.address, configure_logging=False, log_to_driver=False)
    try:
        yield cluster, crash_dir
    finally:
        ray.shutdown()
        cluster.shutdown()
        os.environ.clear()
        os.environ.update(saved)
