"""bytepiece: a byte-level Unigram tokenizer with a C core.

Train a vocabulary on raw text by n-gram new-word discovery, then segment
text with a Viterbi decoder that can also sample segmentations (subword
regularization). A drop-in successor of BytePiece 0.6.3: same model files,
same API, same token ids.
"""
from typing import TYPE_CHECKING, Any, List

try:
    from . import _core  # noqa: F401  (the compiled core, built by pip install)
except ImportError as exc:
    import os as _os

    raise ImportError(
        f"bytepiece's compiled core (bytepiece._core) is missing from {_os.path.dirname(__file__)}: this is a "
        "source folder that was not built. Python imports it instead of the installed package when it runs in "
        "the clone's root; build it there with `pip install -e .`, or run from another directory."
    ) from exc
from .model import Model
from .formats.native import load_model, save_model
from .text import normalize, split_chunks
from .corpus import Corpus
from .tokenizer import SAMPLERS, Tokenizer, UnknownTokenError

if TYPE_CHECKING:
    from .formats.dictionary import convert_to_bytepiece
    from .trainer import Trainer

__all__ = [
    "Tokenizer", "Trainer", "Corpus", "UnknownTokenError", "SAMPLERS", "Model", "load_model", "save_model",
    "split_chunks", "normalize", "convert_to_bytepiece",
]
__version__ = "1.0.0.dev0"

# Training, and 0.6.3's dictionary conversion (which prunes), load on first
# use: `import bytepiece` loads only what tokenizing needs.
_LAZY = {"Trainer": ".trainer", "convert_to_bytepiece": ".formats.dictionary"}


def __getattr__(name: str) -> Any:
    """``Trainer`` and ``convert_to_bytepiece``, imported on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # later uses find it without this function
    return value


def __dir__() -> List[str]:
    """The module's names, the lazy ones included."""
    return sorted([*globals(), *_LAZY])
