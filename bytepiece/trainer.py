"""Trainer: the front of training: options -> engine -> models -> save.

The algorithm is BytePiece 0.6.3's "new word discovery" (docs/spec/training.md):
corpus -> n-gram counts -> BNLM segmentation -> pieces -> pruning -> model.
``algorithm="0.6.3"`` (the default) keeps 0.6.3's pruning and defaults, so
its models equal 0.6.3's; ``algorithm="em"`` chooses the pieces by hard EM
and pruning by gain and compresses better, above all on text unlike the
training corpus. The work is done under :mod:`bytepiece.training`: the
options and their defaults (``training.options``), the engines that run the
steps (threads of this process, a Ray cluster) and the algorithms, chosen by
name in ``training.registry``. No engine changes the model.
"""
from __future__ import annotations

import os
from dataclasses import fields
from typing import Any, Dict, List, Optional, Sequence, Union

from .formats.native import save_model
from .model import Model
from .outputs import PathLike
from .training.options import API_DEFAULTS, TrainingOptions
from .training.provenance import provenance_of_run
from .training.registry import ALGORITHMS, get_engine
from .training.sources import ReadOptions
from .training.stats import TrainingStats
from .validation import check_num_threads

__all__ = ["Trainer", "ALGORITHMS"]


class Trainer:
    """BytePiece's Unigram trainer by n-gram new-word discovery.

    ``order``: longest n-gram of the n-gram model (1..8); longer lets the
    model find longer words, and needs more memory. ``max_vocab_size``: the
    vocabulary size (>= 259), or a list of sizes: one model per size from a
    single run. ``max_piece_length``: longest piece in bytes. ``min_count``:
    n-grams and pieces seen fewer times are dropped (larger = smaller,
    cleaner models). ``isolate_digits``: every digit is a piece of its own.
    ``ensure_unicode``: no piece starts inside a UTF-8 character.
    ``algorithm``: "0.6.3" (default: 0.6.3's models, bit for bit) or "em"
    (better compression). ``order`` and ``min_count`` default to the
    algorithm's values (6 and 2 for "0.6.3", 8 and 4 for "em").
    ``max_candidates``: the most candidate pieces (longer than a byte) that
    pruning starts from, the most frequent ones; None: the algorithm's
    default, large enough that it leaves the models of corpora up to about
    1 GB unchanged; 0: no cap (docs/spec/training.md §9).
    ``max_ngram_model_bytes``: the most bytes the finished n-gram model may
    take; min_count is raised as far as that needs, and the run says so
    (``stats.min_count``; None: no bound, or half of ``max_memory`` when a
    run is given one).

    The defaults are :data:`bytepiece.training.API_DEFAULTS`; ``bytepiece
    train``'s differ on purpose (:data:`bytepiece.training.CLI_DEFAULTS`:
    "em", every core). The checked options are :attr:`options`; the old
    attributes (``order``, ``max_vocab_size`` ...) read them.
    """

    def __init__(
        self,
        order: Optional[int] = None,
        max_vocab_size: Union[int, Sequence[int]] = API_DEFAULTS.max_vocab_size,
        max_piece_length: int = API_DEFAULTS.max_piece_length,
        min_count: Optional[int] = None,
        isolate_digits: bool = API_DEFAULTS.isolate_digits,
        ensure_unicode: bool = API_DEFAULTS.ensure_unicode,
        algorithm: str = API_DEFAULTS.algorithm,
        max_candidates: Optional[int] = None,
        max_ngram_model_bytes: Optional[int] = None,
    ) -> None:
        options = TrainingOptions(order=order, max_vocab_size=max_vocab_size, max_piece_length=max_piece_length,
                                  min_count=min_count, isolate_digits=isolate_digits,
                                  ensure_unicode=ensure_unicode, algorithm=algorithm, max_candidates=max_candidates,
                                  max_ngram_model_bytes=max_ngram_model_bytes)
        #: The options every run of this trainer trains with.
        self.options = options
        #: One ``{piece: count}`` per vocabulary size (largest first), 0.6.3's form of the models.
        self.pieces: List[Dict[bytes, int]] = []
        #: What the last run measured (its engine's :class:`~bytepiece.training.TrainingStats`).
        self.stats: TrainingStats = TrainingStats()
        self._models: List[Model] = []

    @classmethod
    def from_options(cls, options: TrainingOptions) -> "Trainer":
        """A trainer with ``options`` (checked again, which leaves them as they are)."""
        return cls(**{f.name: getattr(options, f.name) for f in fields(options)})

    # The options under the names of 0.6.3's attributes, read-only.
    @property
    def algorithm(self) -> str:
        """``options.algorithm``."""
        return self.options.algorithm

    @property
    def order(self) -> int:
        """``options.order``."""
        return self.options.order

    @property
    def max_vocab_size(self) -> List[int]:
        """``options.max_vocab_size``, as a list (largest first)."""
        return list(self.options.max_vocab_size)

    @property
    def max_piece_length(self) -> int:
        """``options.max_piece_length``."""
        return self.options.max_piece_length

    @property
    def min_count(self) -> int:
        """``options.min_count``."""
        return self.options.min_count

    @property
    def isolate_digits(self) -> bool:
        """``options.isolate_digits``."""
        return self.options.isolate_digits

    @property
    def ensure_unicode(self) -> bool:
        """``options.ensure_unicode``."""
        return self.options.ensure_unicode

    # -- training ----------------------------------------------------------

    def train_on(self, engine: str, source: Any, **settings: Any) -> None:
        """Train on ``source`` with the engine registered as ``engine``
        ("threads", "ray", or one added with
        :func:`bytepiece.training.register_engine`), passing it ``settings``;
        keeps the models, each with its provenance (how it was made,
        docs/spec/model.md §10), and the run's statistics (:attr:`stats`)."""
        models, stats = get_engine(engine).load()(self.options, source, **settings)
        record = provenance_of_run(self.options, stats)
        self._models, self.stats = [model.with_provenance(record) for model in models], stats
        self.pieces = [dict(zip(m.pieces, m.counts)) for m in self._models]

    def train(self, texts: Any, workers: Optional[int] = API_DEFAULTS.num_threads,
              batch_size: int = API_DEFAULTS.batch_size, progress: Optional[bool] = None, *,
              num_threads: Optional[int] = None, max_memory: Optional[int] = None) -> None:
        """Train on ``texts``, a re-iterable of str (it is read twice), on the
        threads of this process.

        ``str`` is NFC-normalized; ``bytes`` are taken as they are (then the
        10,000-character chunk cap counts bytes). An iterator (a generator, an
        open file) is refused with a TypeError: it could be read only once.
        The second pass must read the same documents as the first: when its
        count of documents or of bytes differs, training stops with a
        ValueError (a file that changed, a pipe read twice), never with a
        model of the first pass's statistics alone. A ``bytepiece.Corpus``
        reads stdin and pipes twice by copying them to a temporary file.
        ``num_threads`` threads (1 .. ``validation.MAX_THREADS``; no more are
        started than the cores this process may use) run the C passes in
        parallel (the result does not depend on it; ``workers`` is 0.6.3's
        name for it); ``batch_size`` documents are processed per step.
        ``progress`` draws progress lines on stderr (None: if it is a terminal).
        ``max_memory``: the most bytes this process may hold (at least 512 MB):
        the n-gram model gets half unless ``max_ngram_model_bytes`` says
        otherwise, and the run stops with a MemoryError, saying to train on
        Ray, as soon as counting would need more.
        """
        if num_threads is None:  # 0.6.3's name for it, which its messages name
            num_threads = check_num_threads(workers, "workers")
        self.train_on("threads", texts, num_threads=num_threads, batch_size=batch_size, progress=progress,
                      max_memory=max_memory)

    def train_ray(self, source: Any, *, field: Optional[str] = None, whole_file: bool = False,
                  errors: str = "strict", address: Optional[str] = None, num_partitions: Optional[int] = None,
                  max_memory: Optional[int] = None, progress: Optional[bool] = None,
                  evaluate: bool = False) -> None:
        """Train on a Ray cluster (``pip install bytepiece[ray]``): the same
        model as :meth:`train` on the same documents, for corpora beyond one
        machine's memory.

        ``source``: file paths, globs or directories that every node can read
        (text with one document per line, JSON lines with ``field``, each
        whole file with ``whole_file``; ``.gz`` and ``.parquet`` too), or a
        ``ray.data.Dataset`` whose column ``field`` (default ``text``) holds the
        documents. The workers read the corpus; it never passes through this
        process. ``address``: the cluster (None: the Ray this process is
        connected to, else a new one on this machine, loopback only).
        ``num_partitions``: how the n-gram and piece tables are split (default
        twice the CPUs). ``max_memory``: the most bytes a worker, or this
        driver, may hold (at least 512 MB); the n-gram model gets half unless
        ``max_ngram_model_bytes`` says otherwise; the run fails early, saying
        why, when it cannot keep to it, and a bad value before Ray starts.
        ``evaluate``: read the corpus once more, in tasks, to count the tokens
        each model makes of it (``stats.training_tokens``).
        """
        self.train_on("ray", source, options=ReadOptions(field, whole_file, errors), address=address,
                      num_partitions=num_partitions, max_memory=max_memory, progress=progress, evaluate=evaluate)

    # -- results -------------------------------------------------------------

    def models(self) -> List[Model]:
        """The trained models, one per vocabulary size (largest first)."""
        if not self._models:
            raise ValueError("the trainer has not been trained yet")
        return list(self._models)

    def save_paths(self, path: PathLike) -> List[str]:
        """The files :meth:`save` writes for ``path``: ``path`` for one
        vocabulary size, ``path.SIZE`` for each size when several were asked for."""
        path = os.fspath(path)
        sizes = self.options.max_vocab_size
        return [path] if len(sizes) == 1 else [f"{path}.{size}" for size in sizes]

    def save(self, path: PathLike) -> List[str]:
        """Write the model(s) as BytePiece 0.6.3 JSON to :meth:`save_paths`
        (each file appears whole or not at all). Returns the paths."""
        models = self.models()
        paths = self.save_paths(path)
        for model, target in zip(models, paths):
            save_model(model, target)
        return paths
