"""What a training run is asked for: the options that decide the model, and every default, once.

:class:`TrainingOptions` holds the options the trained model depends on
(docs/spec/training.md §0). Every engine takes it and nothing else of the
caller's; ``bytepiece train`` makes one flag per field, with the help and
default written here (:func:`option_help`).

The defaults live in two named presets, because the library and the command
line differ in two of them on purpose:

- :data:`API_DEFAULTS`, for ``Trainer()`` and ``Trainer.train``: algorithm
  ``"0.6.3"`` on one thread, BytePiece 0.6.3's own defaults, so that code
  written for 0.6.3 gets 0.6.3's models (the drop-in promise).
- :data:`CLI_DEFAULTS`, for ``bytepiece train``: algorithm ``"em"`` on every
  core. The command has no 0.6.3 callers to keep, so it gets the better
  compression and the whole machine.

Neither thread count changes the model (docs/spec/training.md §6). ``order``
and ``min_count`` default to the chosen algorithm's values, which its entry
in the registry holds (:mod:`bytepiece.training.registry`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Iterator, Optional, Protocol, Sequence, Tuple, Union

from .._core import MAX_ORDER, MAX_PIECE_LEN, NUM_SPECIAL
from ..validation import check_int
from .registry import ALGORITHMS, Algorithm, get_algorithm

__all__ = ["Defaults", "API_DEFAULTS", "CLI_DEFAULTS", "TrainingOptions", "MIN_VOCAB_SIZE", "option_help",
           "as_training_options"]

#: 256 single bytes + the special ids.
MIN_VOCAB_SIZE = 256 + NUM_SPECIAL


@dataclass(frozen=True)
class Defaults:
    """The defaults of one way of calling the trainer: what each option left
    out becomes. ``num_threads`` None: every core this process may use.
    ``order`` and ``min_count`` are not here: they are the algorithm's."""

    algorithm: str
    num_threads: Optional[int]
    max_vocab_size: int = 10000
    max_piece_length: int = 36
    isolate_digits: bool = False
    ensure_unicode: bool = True
    batch_size: int = 1000
    max_ngram_model_bytes: Optional[int] = None


#: ``Trainer()``: BytePiece 0.6.3's algorithm on one thread, 0.6.3's models.
API_DEFAULTS = Defaults(algorithm="0.6.3", num_threads=1)
#: ``bytepiece train``: the better compression ("em") on every core.
CLI_DEFAULTS = Defaults(algorithm="em", num_threads=None)


def _option(flag: str, help: str, size: bool = False) -> Any:
    """A field with its command-line flag and its help (without the default,
    which :func:`option_help` adds); ``size``: the flag takes a size in bytes
    such as 1G."""
    return field(metadata={"flag": flag, "help": help, "size": size})


@dataclass(frozen=True, init=False)
class TrainingOptions:
    """The options a trained model depends on, checked, with every default
    filled in: the one input that every engine takes.

    ``algorithm``: how the vocabulary is chosen from the pieces found (a name
    in the registry: "0.6.3" or "em"). ``max_vocab_size``: the vocabulary
    sizes, each >= 259, largest first (one model per size from one run).
    ``order``: longest n-gram of the n-gram model (1..8). ``min_count``:
    n-grams and pieces seen fewer times are dropped. ``max_piece_length``:
    longest piece in bytes. ``max_candidates``: the most candidate pieces
    longer than a byte that pruning starts from, the first by (count, length,
    bytes) (docs/spec/training.md §9); 0: no cap. ``isolate_digits``: every
    digit is a piece of its own. ``ensure_unicode``: no piece starts inside a
    UTF-8 character. ``max_ngram_model_bytes``: the most bytes the finished
    n-gram model may take; after counting, ``min_count`` is raised to the
    least value that makes it fit, and the run reports and records it
    (:mod:`bytepiece.training.budget`); None: no bound (an engine given
    ``max_memory`` then takes half of it).

    The constructor takes keywords, with :data:`API_DEFAULTS` for those left
    out and the algorithm's ``order``, ``min_count`` and ``max_candidates``
    for None; it raises
    TypeError or ValueError for a value out of range. The fields are listed in
    the order ``bytepiece train --help`` shows their flags.
    """

    max_vocab_size: Tuple[int, ...] = _option(
        "--vocab-size", "vocabulary size, >= 259; repeat for several models from one run")
    algorithm: str = _option("--algorithm", "how the vocabulary is chosen from the pieces found")
    order: int = _option("--order", f"longest n-gram of the language model, 1..{MAX_ORDER}")
    min_count: int = _option("--min-count", "drop n-grams and pieces seen fewer times")
    max_piece_length: int = _option("--max-piece-length", "longest piece in bytes")
    max_candidates: int = _option(
        "--max-candidates", "most candidate pieces (longer than a byte) pruning starts from, the most frequent; "
        "0: no cap")
    max_ngram_model_bytes: Optional[int] = _option(
        "--max-ngram-bytes", "most bytes the finished n-gram model may take (e.g. 1G): min_count is raised, and "
        "reported, as far as that needs (default: no bound; with --max-memory, half of it)", size=True)
    isolate_digits: bool = _option("--isolate-digits", "make every digit a piece of its own")
    ensure_unicode: bool = _option("--no-ensure-unicode", "allow pieces to start inside a UTF-8 character")

    def __init__(
        self,
        *,
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
        chosen = get_algorithm(algorithm)
        order = check_int("order", chosen.order if order is None else order, 1)
        if order > MAX_ORDER:
            raise ValueError(f"order must be at most {MAX_ORDER}, got {order}")
        sizes = list(max_vocab_size) if isinstance(max_vocab_size, (list, tuple)) else [max_vocab_size]
        if not sizes:
            raise ValueError("max_vocab_size must name at least one size")
        checked = tuple(sorted((check_int("max_vocab_size", s, MIN_VOCAB_SIZE) for s in sizes), reverse=True))
        max_piece_length = check_int("max_piece_length", max_piece_length, 1)
        if max_piece_length > MAX_PIECE_LEN:
            raise ValueError(f"max_piece_length must be at most {MAX_PIECE_LEN}, got {max_piece_length}")
        min_count = check_int("min_count", chosen.min_count if min_count is None else min_count, 1)
        max_candidates = check_int("max_candidates",
                                   chosen.max_candidates if max_candidates is None else max_candidates, 0)
        if 0 < max_candidates < checked[0] - MIN_VOCAB_SIZE:  # the largest vocabulary could never be filled
            raise ValueError(f"max_candidates must be 0 (no cap) or at least the largest vocabulary size minus "
                             f"{MIN_VOCAB_SIZE} ({checked[0] - MIN_VOCAB_SIZE}), got {max_candidates}")
        if max_ngram_model_bytes is not None:
            max_ngram_model_bytes = check_int("max_ngram_model_bytes", max_ngram_model_bytes, 1)
        # Frozen: the fields are set once, here.
        for name, value in (("algorithm", chosen.name), ("order", order), ("max_vocab_size", checked),
                            ("max_piece_length", max_piece_length), ("min_count", min_count),
                            ("max_candidates", max_candidates), ("max_ngram_model_bytes", max_ngram_model_bytes),
                            ("isolate_digits", bool(isolate_digits)), ("ensure_unicode", bool(ensure_unicode))):
            object.__setattr__(self, name, value)


class HasTrainingOptions(Protocol):
    """Anything that carries training options, such as a :class:`bytepiece.Trainer`."""

    @property
    def options(self) -> TrainingOptions:
        """The training options."""
        ...


def as_training_options(given: Union[TrainingOptions, HasTrainingOptions]) -> TrainingOptions:
    """``given`` if it is :class:`TrainingOptions`, else its ``options`` (an
    engine may be handed a Trainer)."""
    if isinstance(given, TrainingOptions):
        return given
    options = getattr(given, "options", None)
    if not isinstance(options, TrainingOptions):
        raise TypeError(f"an engine trains with TrainingOptions (or a Trainer), not {type(given).__name__}")
    return options


def _default_first(defaults: Defaults) -> Iterator[Algorithm]:
    """The registered algorithms, ``defaults``' own first."""
    yield ALGORITHMS[defaults.algorithm]
    yield from (a for name, a in ALGORITHMS.items() if name != defaults.algorithm)


def option_help(name: str, defaults: Defaults) -> str:
    """The one-line help of the option ``name`` (a field of
    :class:`TrainingOptions`) with its default under ``defaults``: the
    algorithms with their summaries, the algorithm's own ``order`` and
    ``min_count``, nothing for a switch (off unless given)."""
    (option,) = (f for f in fields(TrainingOptions) if f.name == name)
    text: str = option.metadata["help"]
    if name == "algorithm":
        return "; ".join(f"{a.name}{' (default)' if a.name == defaults.algorithm else ''}: {a.summary}"
                         for a in _default_first(defaults))
    if not hasattr(defaults, name):  # the algorithm's
        return f"{text} (default: {', '.join(f'{getattr(a, name)} with {a.name}' for a in _default_first(defaults))})"
    default = getattr(defaults, name)
    return text if isinstance(default, bool) or default is None else f"{text} (default {default})"
