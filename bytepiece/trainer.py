"""Trainer: corpus -> n-gram counts -> BNLM segmentation -> pieces -> pruning -> model.

The algorithm is BytePiece 0.6.3's "new word discovery" (DESIGN.md section 4);
its two passes over the corpus run in C (bp_ngram.c, bp_bnlm.c) on a pool of
``workers`` threads with the GIL released, batch by batch, so memory follows
the number of distinct n-grams and pieces, not the corpus size. The result
does not depend on ``workers``: counting is exact and partitioned by key,
segmentation is per chunk, and every later step is deterministic.
"""
from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from .model import NUM_SPECIAL, Model, PathLike, piece_scores, save_model
from .progress import Progress
from .text import normalize

__all__ = ["Trainer"]

#: Training chunks are capped at this many characters (as in 0.6.3).
MAX_CHUNK_CHARS = 10000
MAX_ORDER = 8
#: The n-gram tables split into at most this many partitions (bp_ngram.h).
MAX_PARTITIONS = 256
#: 256 single bytes + 3 special ids.
MIN_VOCAB_SIZE = 256 + NUM_SPECIAL


def _join(futures: list) -> None:
    """Wait for every future; re-raise the first error of a C pass."""
    wait(futures)
    for future in futures:
        future.result()


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return int(value)


class _Pieces:
    """Pieces with counts, as parallel sequences (pieces: bytes, counts: uint64).

    The vocabularies (``keep``) are kept in canonical order, by (length,
    bytes): a piece's token id is then 3 + its position, as 0.6.3 numbers
    them, and filtering rows in increasing order preserves it.
    """

    def __init__(self, pieces: List[bytes], counts: np.ndarray) -> None:
        self.pieces = pieces
        self.counts = counts.astype(np.uint64)
        self._packed: Optional[Tuple[bytes, np.ndarray]] = None

    def __len__(self) -> int:
        return len(self.pieces)

    def packed(self) -> Tuple[bytes, np.ndarray]:
        """(all pieces concatenated, offsets), computed once."""
        if self._packed is None:
            offsets = np.zeros(len(self.pieces) + 1, dtype=np.int64)
            np.cumsum([len(p) for p in self.pieces], out=offsets[1:])
            self._packed = (b"".join(self.pieces), offsets)
        return self._packed

    def take(self, rows: np.ndarray) -> "_Pieces":
        return _Pieces([self.pieces[i] for i in rows], self.counts[rows])

    def canonical(self) -> "_Pieces":
        order = sorted(range(len(self.pieces)), key=lambda i: (len(self.pieces[i]), self.pieces[i]))
        return self.take(np.array(order, dtype=np.int64))

    def as_dict(self) -> Dict[bytes, int]:
        return dict(zip(self.pieces, self.counts.tolist()))


def _split_counts(keep: _Pieces, texts: _Pieces) -> np.ndarray:
    """How much each kept piece gets when every text is tokenized with a
    tokenizer of the kept pieces (0.6.3's ids and scores; keep is in
    canonical order) and adds its count to each of its tokens."""
    n = len(keep)
    ids = np.arange(NUM_SPECIAL, NUM_SPECIAL + n, dtype=np.int32)
    data, offsets = keep.packed()
    vocab = _core.Vocab(data, offsets, piece_scores(keep.counts.astype(np.int64)), ids)
    text_data, text_offsets = texts.packed()
    totals = vocab.count_tokens(text_data, text_offsets, texts.counts, n + NUM_SPECIAL)
    return totals[NUM_SPECIAL:]


def _drop_wasted(keep: _Pieces) -> _Pieces:
    """Re-tokenize every kept piece with the kept vocabulary until no piece
    disappears: a piece its own vocabulary never outputs is wasted."""
    while True:
        totals = _split_counts(keep, keep)
        rows = np.flatnonzero(totals)
        survivors = _Pieces([keep.pieces[i] for i in rows], totals[rows])
        if len(survivors) == len(keep):
            return survivors
        keep = survivors


class Trainer:
    """BytePiece's Unigram trainer by n-gram new-word discovery.

    ``order``: longest n-gram of the language model (1..8); longer lets the
    model find longer words, and needs more memory. ``max_vocab_size``: the
    vocabulary size (>= 259), or a list of sizes: one model per size from a
    single run. ``max_piece_length``: longest piece in bytes. ``min_count``:
    n-grams and pieces seen fewer times are dropped (larger = smaller,
    cleaner models). ``isolate_digits``: every digit is a piece of its own.
    ``ensure_unicode``: no piece starts inside a UTF-8 character.
    """

    def __init__(
        self,
        order: int = 6,
        max_vocab_size: Union[int, Sequence[int]] = 10000,
        max_piece_length: int = 36,
        min_count: int = 2,
        isolate_digits: bool = False,
        ensure_unicode: bool = True,
    ) -> None:
        self.order = _check_int("order", order, 1)
        if self.order > MAX_ORDER:
            raise ValueError(f"order must be at most {MAX_ORDER}, got {order}")
        sizes = list(max_vocab_size) if isinstance(max_vocab_size, (list, tuple)) else [max_vocab_size]
        if not sizes:
            raise ValueError("max_vocab_size must name at least one size")
        self.max_vocab_size = sorted((_check_int("max_vocab_size", s, MIN_VOCAB_SIZE) for s in sizes), reverse=True)
        self.max_piece_length = _check_int("max_piece_length", max_piece_length, 1)
        if self.max_piece_length > _core.MAX_PIECE_LEN:
            raise ValueError(f"max_piece_length must be at most {_core.MAX_PIECE_LEN}, got {max_piece_length}")
        self.min_count = _check_int("min_count", min_count, 1)
        self.isolate_digits = bool(isolate_digits)
        self.ensure_unicode = bool(ensure_unicode)
        self.pieces: List[Dict[bytes, int]] = []
        self.stats: Dict[str, Any] = {}

    @contextlib.contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        """Record wall and CPU seconds (all threads) of one phase in stats["phases"]."""
        start, cpu = time.perf_counter(), time.process_time()
        yield
        end = time.perf_counter()
        self.stats["phases"][name] = {"wall": end - start, "cpu": time.process_time() - cpu, "start": start, "end": end}

    # -- the two passes over the corpus ----------------------------------

    def _batches(self, texts: Iterable[str], batch_size: int) -> Iterator[Tuple[bytes, np.ndarray, int]]:
        """(chunk bytes, chunk offsets, documents) per batch of documents."""
        chunks: List[bytes] = []
        docs = 0
        for text in texts:
            if not isinstance(text, (str, bytes)):
                raise TypeError(f"texts must yield str (or bytes), got {type(text).__name__}")
            chunks += normalize(text, MAX_CHUNK_CHARS, self.isolate_digits)
            docs += 1
            if docs == batch_size:
                yield self._pack(chunks, docs)
                chunks, docs = [], 0
        if docs:
            yield self._pack(chunks, docs)

    @staticmethod
    def _pack(chunks: List[bytes], docs: int) -> Tuple[bytes, np.ndarray, int]:
        offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in chunks], out=offsets[1:])
        return b"".join(chunks), offsets, docs

    def _count_ngrams(self, texts, pool, workers, batch_size, progress) -> "_core.NgramModel":
        lm = _core.NgramModel(self.order, min(workers, MAX_PARTITIONS))
        bar = Progress("Count n-grams", unit="B", enabled=progress)
        pending: list = []
        docs = 0
        for data, offsets, n in self._batches(texts, batch_size):
            if docs == 0:  # spread the work of the threads by the first batch's bytes
                lm.balance(np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256).astype(np.uint64))
            _join(pending)  # the next batch was prepared while this one counted
            pending = [pool.submit(lm.count, p, data, offsets) for p in range(lm.num_partitions)]
            bar.update(len(data))
            docs += n
        _join(pending)
        bar.close()
        self.stats["documents"] = docs
        self.stats["bytes"] = int(lm.count_of(b""))
        if self.stats["bytes"] == 0:
            raise ValueError("the corpus has no text to train on")
        self.stats["distinct_ngrams"] = sum(lm.size(j) for j in range(1, self.order + 1))
        self.stats["ngram_memory"] = lm.memory
        return lm

    def _count_pieces(self, texts, lm, pool, workers, batch_size, progress) -> _Pieces:
        counters = [_core.PieceCounter() for _ in range(workers)]
        bar = Progress("Count pieces", total=self.stats["bytes"], unit="B", enabled=progress)
        pending: list = []
        for data, offsets, _ in self._batches(texts, batch_size):
            _join(pending)
            # Contiguous runs of chunks with about the same number of bytes.
            cuts = np.searchsorted(offsets, np.linspace(0, offsets[-1], workers + 1)[1:-1])
            bounds = [0, *cuts.tolist(), len(offsets) - 1]
            pending = [
                pool.submit(_core.bnlm_count_pieces, lm, self.ensure_unicode, data,
                            offsets[bounds[w]:bounds[w + 1] + 1], counters[w])
                for w in range(workers)
            ]
            bar.update(len(data))
        _join(pending)
        for other in counters[1:]:
            counters[0].merge(other)
        bar.close()
        data, offsets, counts = counters[0].export()
        self.stats["distinct_pieces"] = len(counts)
        self.stats["piece_memory"] = sum(c.memory for c in counters)
        pieces = [data[a:b] for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
        return _Pieces(pieces, counts)

    # -- pruning -----------------------------------------------------------

    def _prune(self, found: _Pieces) -> List[Dict[bytes, int]]:
        present = {p for p in found.pieces if len(p) == 1}
        missing = [bytes([b]) for b in range(256) if bytes([b]) not in present]
        pieces = _Pieces(found.pieces + missing, np.concatenate([found.counts, np.ones(len(missing), np.uint64)]))
        lengths = np.array([len(p) for p in pieces.pieces])
        kept = (lengths == 1) | ((lengths <= self.max_piece_length) & (pieces.counts >= self.min_count))
        keep, drop = pieces.take(np.flatnonzero(kept)).canonical(), pieces.take(np.flatnonzero(~kept))
        keep.counts += _split_counts(keep, drop)
        keep = _drop_wasted(keep)
        results = []
        for size in self.max_vocab_size:  # largest first, each from the previous
            if len(keep) > size - NUM_SPECIAL:
                counts = keep.counts.tolist()
                ranked = sorted(
                    range(len(keep)),
                    key=lambda i: (len(keep.pieces[i]) > 1, -counts[i], -len(keep.pieces[i]), keep.pieces[i]),
                )
                top = keep.take(np.sort(np.array(ranked[: size - NUM_SPECIAL])))  # canonical order kept
                top.counts += _split_counts(top, keep.take(np.array(ranked[size - NUM_SPECIAL:])))
                keep = _drop_wasted(top)
            results.append(keep.as_dict())
        return results

    # -- public API --------------------------------------------------------

    def train(self, texts: Iterable[str], workers: int = 1, batch_size: int = 1000,
              progress: Optional[bool] = None) -> None:
        """Train on ``texts``, a re-iterable of str (it is read twice).

        ``str`` is NFC-normalized; ``bytes`` are taken as they are (then the
        10,000-character chunk cap counts bytes).
        ``workers`` threads run the C passes in parallel (the result does not
        depend on it); ``batch_size`` documents are processed per step.
        ``progress`` draws progress lines on stderr (None: if it is a terminal).
        """
        workers = _check_int("workers", workers, 1)
        batch_size = _check_int("batch_size", batch_size, 1)
        if iter(texts) is texts:
            raise TypeError("texts must be re-iterable (a list, or an object whose __iter__ starts over): "
                            "training reads it twice, and an iterator can be read only once")
        self.stats = {"workers": workers, "phases": {}}
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            with self._phase("count n-grams"):
                lm = self._count_ngrams(texts, pool, workers, batch_size, progress)
            with self._phase("prune n-grams"):
                lm.finish(self.min_count)
            with self._phase("count pieces"):
                found = self._count_pieces(texts, lm, pool, workers, batch_size, progress)
        del lm
        with self._phase("prune pieces"):
            self.pieces = self._prune(found)
        self.stats["seconds"] = time.perf_counter() - start

    def models(self) -> List[Model]:
        """The trained models, one per vocabulary size (largest first)."""
        if not self.pieces:
            raise ValueError("the trainer has not been trained yet")
        out = []
        for pieces in self.pieces:
            ordered = sorted(pieces.items(), key=lambda item: (len(item[0]), item[0]))
            out.append(Model(tuple(p for p, _ in ordered), tuple(range(NUM_SPECIAL, NUM_SPECIAL + len(ordered))),
                             tuple(c for _, c in ordered)))
        return out

    def save(self, path: PathLike) -> List[str]:
        """Write the model(s) as BytePiece 0.6.3 JSON: ``path`` for one size,
        ``path.SIZE`` for each size when several were asked for. Returns the paths."""
        path = os.fspath(path)
        models = self.models()
        paths = [path] if len(models) == 1 else [f"{path}.{size}" for size in self.max_vocab_size]
        for model, target in zip(models, paths):
            save_model(model, target)
        return paths
