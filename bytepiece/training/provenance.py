"""How a trained model was made, recorded in it (docs/spec/model.md §10).

The trainer gives every model it makes a provenance: the bytepiece version,
the training options (every field of
:class:`~bytepiece.training.options.TrainingOptions`, defaults filled in), the
corpus read and the ``min_count`` the run trained with (larger than the
option's when a memory budget raised it). It rides in the model file where
BytePiece 0.6.3 still loads it, ``bytepiece info`` shows it, and
:func:`options_of` gives the options back, so a model can be retrained as it
was made.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Dict, Mapping

from .options import TrainingOptions
from .stats import TrainingStats

__all__ = ["provenance_of_run", "options_of"]


def provenance_of_run(options: TrainingOptions, stats: TrainingStats) -> Dict[str, Any]:
    """The provenance of a model trained with ``options`` in a run that
    measured ``stats``: plain JSON, deterministic (no clock, no host, not
    the engine, which never changes the model), so that training twice, on
    threads or on Ray, writes the same file."""
    from .. import __version__

    values = {f.name: getattr(options, f.name) for f in fields(options)}
    values["max_vocab_size"] = list(options.max_vocab_size)
    return {
        "bytepiece": __version__,
        "algorithm": options.algorithm,
        "options": values,
        "corpus": {"documents": stats.documents, "bytes": stats.bytes},
        "min_count": stats.min_count or options.min_count,
    }


def options_of(provenance: Mapping[str, Any]) -> TrainingOptions:
    """The training options a provenance records, checked as any options are
    (ValueError or TypeError when they are not valid options)."""
    values = provenance.get("options")
    if not isinstance(values, Mapping):
        raise ValueError("the provenance records no training options")
    return TrainingOptions(**values)
