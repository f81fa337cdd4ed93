"""SentencePiece ``.model`` files: BytePiece 0.6.3's conversion, and the agreement it keeps.

The layout is 0.6.3's ``convert_to_sentencepiece``, so that ids agree: id 0
is ``<unk>`` (bytepiece's ``<pad>``), 1 ``<s>``, 2 ``</s>``, then every piece
at its bytepiece id: a piece of several bytes, or a printable ASCII byte,
as a normal piece (spaces written ``▁``); any other single byte as the byte
piece ``<0xXX>``; and at the end the byte pieces of the printable ASCII bytes
(score -100), which byte fallback needs. The normalizer is the identity, with
no dummy prefix and no whitespace removal; the model is a Unigram with byte
fallback. Scores are float32 (SentencePiece's type).

``layout="bytepiece"`` (the default of ``bytepiece export``) differs in one
respect: every ASCII byte, control bytes such as ``\\n`` included, is a normal
piece at its id (0.6.3 made control bytes byte pieces, which SentencePiece
only uses for otherwise unknown characters).

What a character-level lattice cannot express stays unused (type UNUSED, a
placeholder name, never output): a piece that is not whole UTF-8 characters
(0.6.3 crashed on these with UnicodeDecodeError), and a piece whose name would
repeat another's (a piece holding ``▁`` beside the same one with a space, or
a piece spelled ``<s>``). SentencePiece then segments some texts differently;
:func:`sentencepiece_agreement` measures how often.
"""
from __future__ import annotations

import itertools
import os
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, List, Set, Union

from ..model import Model
from ..outputs import atomic_file

__all__ = ["SentencePieceExport", "to_sentencepiece", "sentencepiece_agreement", "Agreement", "SentencePieceImport",
           "from_sentencepiece"]

PathLike = Union[str, "os.PathLike[str]"]

# ModelProto.SentencePiece.Type
_NORMAL, _UNKNOWN, _CONTROL, _UNUSED, _BYTE = 1, 2, 3, 5, 6


def _proto() -> Any:
    try:
        from sentencepiece import sentencepiece_model_pb2  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ImportError("SentencePiece export needs the sentencepiece package (with protobuf): "
                          "pip install sentencepiece protobuf") from exc
    return sentencepiece_model_pb2


@dataclass(frozen=True)
class SentencePieceExport:
    """What :func:`to_sentencepiece` wrote: the number of pieces in the
    ``.model``, and the bytepiece pieces left unused because SentencePiece
    cannot express them (``unused``: those pieces)."""

    path: str
    pieces: int
    unused: List[bytes]


LAYOUTS = ("bytepiece", "0.6.3")


def to_sentencepiece(model: Model, path: PathLike, layout: str = "bytepiece") -> SentencePieceExport:
    """Write ``model`` as a SentencePiece Unigram ``.model`` at ``path`` (the
    file appears whole or not at all).

    ``layout="0.6.3"`` is exactly 0.6.3's file, where the control bytes
    (``\\n``, tab, ...) are byte pieces, which SentencePiece uses only for
    characters no piece covers (so it avoids them: "s" + "\\n" loses to "es\\n"
    although bytepiece prefers it). ``layout="bytepiece"`` (the default) makes
    every ASCII byte a normal piece at its id and adds its byte piece at the
    end, which brings SentencePiece's segmentation much closer to bytepiece's.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    pb = _proto()
    piece_type = pb.ModelProto.SentencePiece
    pieces = [piece_type(piece="<unk>", score=0, type=_UNKNOWN), piece_type(piece="<s>", score=0, type=_CONTROL),
              piece_type(piece="</s>", score=0, type=_CONTROL)]
    tail = []
    names: Set[str] = {"<unk>", "<s>", "</s>"} | {f"<0x{b:02X}>" for b in range(256)}
    unused: List[bytes] = []
    scores = model.scores()
    order = sorted(range(len(model.pieces)), key=model.ids.__getitem__)
    specials = sorted((token_id, name) for name, token_id in model.special_tokens)
    for i in order:
        while specials and specials[0][0] < model.ids[i]:  # user-defined special tokens: control pieces
            pieces.append(piece_type(piece=specials.pop(0)[1], score=0, type=_CONTROL))
        piece, score = model.pieces[i], float(scores[i])
        # (SentencePiece refuses "\\0" as a normal piece: it stays a byte piece.)
        ascii_byte = len(repr(piece)) == 4 if layout == "0.6.3" else 0 < piece[0] < 0x80
        if len(piece) == 1 and not ascii_byte:  # a byte piece, only for what no piece covers
            pieces.append(piece_type(piece=f"<0x{piece[0]:02X}>", score=score, type=_BYTE))
            continue
        if len(piece) == 1:
            tail.append(piece_type(piece=f"<0x{piece[0]:02X}>", score=-100, type=_BYTE))
        try:
            name = piece.decode("utf-8").replace(" ", "\u2581")
        except UnicodeDecodeError:
            name = None
        if name is None or name in names:
            unused.append(piece)
            pieces.append(piece_type(piece=f"<unused:{piece.hex()}>", score=score, type=_UNUSED))
            continue
        names.add(name)
        pieces.append(piece_type(piece=name, score=score))
    pieces += [piece_type(piece=name, score=0, type=_CONTROL) for _, name in specials]
    everything = pieces + tail
    proto = pb.ModelProto(
        pieces=everything,
        trainer_spec=pb.TrainerSpec(model_type=1, vocab_size=len(everything), split_by_unicode_script=False,
                                    byte_fallback=True),
        normalizer_spec=pb.NormalizerSpec(name="identity", precompiled_charsmap=b"", add_dummy_prefix=False,
                                          remove_extra_whitespaces=False),
    )
    with atomic_file(path) as f:
        f.write(proto.SerializeToString())
    return SentencePieceExport(os.fspath(path), len(everything), unused)


@dataclass(frozen=True)
class Agreement:
    """How often another tokenizer cut texts as bytepiece does: texts with
    identical ids, and bytepiece's token boundaries (byte offsets) that the
    other tokenizer also has."""

    texts: int
    identical_texts: int
    boundaries: int
    shared_boundaries: int

    @property
    def text_rate(self) -> float:
        """The share of texts whose ids are identical."""
        return self.identical_texts / self.texts if self.texts else 1.0

    @property
    def boundary_rate(self) -> float:
        """The share of bytepiece's token boundaries that the other tokenizer has too."""
        return self.shared_boundaries / self.boundaries if self.boundaries else 1.0


def compare_ids(expected: Iterable[List[int]], got: Iterable[List[int]], length_of: Any) -> Agreement:
    """The :class:`Agreement` of two parallel sequences of id lists;
    ``length_of(id)`` is the byte length of a token (for both tokenizers)."""
    texts = identical = boundaries = shared = 0
    for a, b in zip(expected, got):
        texts += 1
        cuts = set(itertools.accumulate(length_of(i) for i in a))
        boundaries += len(cuts)
        if a == b:
            identical += 1
            shared += len(cuts)
        else:
            shared += len(cuts & set(itertools.accumulate(length_of(i) for i in b)))
    return Agreement(texts, identical, boundaries, shared)


def sentencepiece_agreement(tokenizer: Any, model_path: PathLike, texts: Iterable[str]) -> Agreement:
    """Encode ``texts`` (NFC-normalized, as bytepiece does) with ``tokenizer``
    and with the SentencePiece model at ``model_path`` (as written by
    :func:`to_sentencepiece`), and compare."""
    import sentencepiece as spm  # type: ignore[import-untyped]

    processor = spm.SentencePieceProcessor(model_file=os.fspath(model_path))
    texts = [unicodedata.normalize("NFC", t) for t in texts]
    table = tokenizer.model.bytes_by_id()

    def length_of(token_id: int) -> int:  # ids past bytepiece's are the appended one-byte pieces
        return len(table[token_id]) if token_id < len(table) else 1

    return compare_ids(tokenizer.encode_batch(texts), processor.encode(texts), length_of)


@dataclass(frozen=True)
class SentencePieceImport:
    """A model read from a SentencePiece ``.model``, with ``notes`` on what
    bytepiece does differently with it (normalization, dummy prefix)."""

    model: Model
    notes: List[str]


def from_sentencepiece(path: PathLike) -> SentencePieceImport:
    """A bytepiece model from a SentencePiece Unigram ``.model``: same ids,
    same scores (see :mod:`bytepiece.formats.imports`), ``▁`` read as a
    space. bytepiece applies no SentencePiece normalizer and adds no dummy
    prefix: its segmentation equals SentencePiece's on text that the
    normalizer leaves as it is, given a leading space when the model adds a
    dummy prefix (the notes say which apply). ValueError for a BPE model."""
    from .imports import ScoredVocabulary

    pb = _proto()
    proto = pb.ModelProto()
    with open(os.fspath(path), "rb") as f:
        try:
            proto.ParseFromString(f.read())
        except Exception as exc:  # protobuf's DecodeError
            raise ValueError(f"{path}: not a SentencePiece model ({exc})") from None
    if proto.trainer_spec.model_type not in (0, 1):
        raise ValueError(f"{path}: a SentencePiece model of type {proto.trainer_spec.model_type}; "
                         "only Unigram models (type 1) import")
    vocabulary = ScoredVocabulary()
    escape = proto.normalizer_spec.escape_whitespaces if proto.normalizer_spec.HasField("escape_whitespaces") else True
    for token_id, item in enumerate(proto.pieces):
        kind = item.type or _NORMAL
        if kind in (_NORMAL, 4):  # normal and user-defined
            text = item.piece.replace("\u2581", " ") if escape else item.piece
            vocabulary.add_piece(token_id, text.encode("utf-8"), item.score)
        elif kind == _BYTE:
            vocabulary.add_byte(token_id, int(item.piece[3:5], 16))
        else:
            vocabulary.add_special(token_id, item.piece)
    notes = []
    spec = proto.normalizer_spec
    if spec.precompiled_charsmap or spec.name not in ("", "identity"):
        notes.append(f"the source normalizes text ({spec.name or 'custom'}); bytepiece applies NFC only")
    if not spec.HasField("add_dummy_prefix") or spec.add_dummy_prefix:
        notes.append("the source adds a dummy prefix: prepend a space to text to segment as it does")
    if not spec.HasField("remove_extra_whitespaces") or spec.remove_extra_whitespaces:
        notes.append("the source collapses runs of whitespace; bytepiece keeps them")
    return SentencePieceImport(vocabulary.model(), notes)
