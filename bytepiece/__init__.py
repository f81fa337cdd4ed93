"""bytepiece: a byte-level Unigram tokenizer with a C core.

Train a vocabulary on raw text by n-gram new-word discovery, then segment
text with a Viterbi decoder that can also sample segmentations (subword
regularization). A drop-in successor of BytePiece 0.6.3: same model files,
same API, same token ids.
"""
from .model import Model, load_model, save_model
from .text import normalize, split_chunks
from .corpus import Corpus
from .tokenizer import SAMPLERS, Tokenizer, UnknownTokenError
from .trainer import Trainer

__all__ = [
    "Tokenizer", "Trainer", "Corpus", "UnknownTokenError", "SAMPLERS", "Model", "load_model", "save_model",
    "split_chunks", "normalize",
]
__version__ = "1.0.0.dev0"
