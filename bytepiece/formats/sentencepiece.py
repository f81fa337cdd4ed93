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
(0.6.3 crashed on these with UnicodeDecodeError), a piece holding a NUL
character (SentencePiece refuses those), and a piece whose name would
repeat another's (a piece holding ``▁`` beside the same one with a space, or
a piece spelled ``<s>``). SentencePiece then segments some texts
differently; :func:`sentencepiece_agreement` measures how often.

User-defined special tokens become control pieces at their ids, under their
names. Two names are resolved rather than refused: a special token named
``<unk>``, ``<s>`` or ``</s>`` keeps that name, and the reserved id that
would have had it takes bytepiece's own name instead (``<pad>``, ``<bos>``,
``<eos>``; the file's ``unk_piece`` / ``bos_piece`` / ``eos_piece`` say so);
a special token named like a byte piece (``<0x41>``: an imported byte-
fallback token) becomes that byte piece at its id, as in the file it came
from. A special token that SentencePiece cannot hold (a name with a NUL, a
byte name whose byte piece is already another id, the name ``▁``, which is
how SentencePiece spells the piece of a space) is refused, naming it,
before anything is written. Every file is loaded in SentencePiece from its
temporary name before it replaces anything at the path.
"""
from __future__ import annotations

import itertools
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Set, Tuple, Union

from .._core import MODE_BEST
from ..encoding import Encoder, Segmentation
from ..model import SPECIAL_TOKENS, Model
from ..outputs import PathLike, atomic_file

__all__ = ["SentencePieceExport", "to_sentencepiece", "sentencepiece_agreement", "Agreement", "SentencePieceImport",
           "from_sentencepiece"]

if TYPE_CHECKING:
    from ..tokenizer import Tokenizer

# ModelProto.SentencePiece.Type
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6
_TYPES = {_NORMAL: "normal", _UNKNOWN: "unknown", _CONTROL: "control", _USER_DEFINED: "user-defined",
          _UNUSED: "unused", _BYTE: "byte"}
#: 0.6.3's names of ids 0, 1, 2 in a SentencePiece export.
_RESERVED_NAMES = ("<unk>", "<s>", "</s>")
_BYTE_NAME = re.compile(r"<0x([0-9A-F]{2})>")


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


def _is_byte_piece(piece: bytes, layout: str) -> bool:
    """Whether a single-byte piece is written as SentencePiece's byte piece at
    its id (used only for what no piece covers) rather than as a normal piece."""
    if layout == "0.6.3":
        return len(repr(piece)) != 4  # 0.6.3: anything but a printable ASCII character
    return not 0 < piece[0] < 0x80  # SentencePiece refuses "\0" as a normal piece


def _layout(model: Model, layout: str) -> Tuple[List[Tuple[str, float, int]], List[bytes], Dict[str, str]]:
    """The SentencePiece pieces of ``model`` as (name, score, type), in id
    order and then the byte pieces appended at the end; the bytepiece pieces
    left unused; and the trainer_spec names of ids 0-2 that differ from
    SentencePiece's defaults. ValueError naming what cannot be written."""
    scores = model.scores().tolist()
    table = model.bytes_by_id()
    piece_at: Dict[int, Tuple[bytes, float]] = {
        token_id: (piece, scores[k]) for k, (piece, token_id) in enumerate(zip(model.pieces, model.ids))}
    special_at = {token_id: name for name, token_id in model.special_tokens}
    special_names = set(special_at.values())
    # Ids 0-2: 0.6.3's names, unless a special token has one (then bytepiece's own name).
    reserved = [default if default not in special_names else own
                for default, own in zip(_RESERVED_NAMES, SPECIAL_TOKENS)]
    spec_names = {key: name for key, name, default in zip(("unk_piece", "bos_piece", "eos_piece"), reserved,
                                                          _RESERVED_NAMES) if name != default}
    byte_piece_id = {piece[0]: token_id for token_id, (piece, _) in piece_at.items()
                     if len(piece) == 1 and _is_byte_piece(piece, layout)}
    byte_specials: Dict[int, int] = {}  # byte -> the special token's id that becomes its byte piece
    for token_id, name in sorted(special_at.items()):
        if "\0" in name:
            raise ValueError(f"cannot export to SentencePiece: the special token {name!r:.60} (id {token_id}) holds "
                             "a NUL character, which SentencePiece refuses in any name")
        match = _BYTE_NAME.fullmatch(name)
        if match:
            byte = int(match.group(1), 16)
            if byte in byte_piece_id:
                raise ValueError(
                    f"cannot export to SentencePiece: the special token {name!r} (id {token_id}) has the name of "
                    f"the byte piece of byte 0x{byte:02X}, which is already the piece {table[byte_piece_id[byte]]!r} "
                    f"(id {byte_piece_id[byte]}) in the {layout} layout")
            byte_specials[byte] = token_id
    # Names SentencePiece keeps in its table of reserved pieces, and names a
    # normal piece must not take (so that no name is ambiguous).
    taken: Set[str] = {*reserved, *special_names, *(f"<0x{b:02X}>" for b in range(256))}
    normal_names: Set[str] = set()
    entries: List[Optional[Tuple[str, float, int]]] = [None] * model.vocab_size
    for token_id, name in enumerate(reserved):
        entries[token_id] = (name, 0.0, _UNKNOWN if token_id == 0 else _CONTROL)
    for token_id, name in special_at.items():
        match = _BYTE_NAME.fullmatch(name)
        entries[token_id] = (name, 0.0, _BYTE if match else _CONTROL)
    unused_at: Dict[int, bytes] = {}
    tail: List[Tuple[str, float, int]] = []
    for token_id in sorted(piece_at):
        piece, score = piece_at[token_id]
        if len(piece) == 1 and _is_byte_piece(piece, layout):  # a byte piece, only for what no piece covers
            entries[token_id] = (f"<0x{piece[0]:02X}>", score, _BYTE)
            continue
        if len(piece) == 1 and piece[0] not in byte_specials:
            tail.append((f"<0x{piece[0]:02X}>", -100.0, _BYTE))
        try:
            name = piece.decode("utf-8").replace(" ", "\u2581")
        except UnicodeDecodeError:
            name = ""
        if name in special_names:  # only through "▁": a special token is never a piece's text
            special_id = next(i for i, n in special_at.items() if n == name)
            raise ValueError(f"cannot export to SentencePiece: the special token {name!r} (id {special_id}) would "
                             f"be spelled like the piece {piece!r} (id {token_id}), as SentencePiece writes spaces "
                             "as \u2581; rename the special token")
        if not name or "\0" in name or name in taken or name in normal_names:
            unused_at[token_id] = piece
            continue
        normal_names.add(name)
        entries[token_id] = (name, score, _NORMAL)
    # Placeholders after every real name is known, so that none can take one.
    for token_id, piece in unused_at.items():
        name = f"<unused:{piece.hex()}>"
        for k in itertools.count(1):
            if name not in taken and name not in normal_names:
                break
            name = f"<unused:{piece.hex()}:{k}>"
        normal_names.add(name)
        entries[token_id] = (name, piece_at[token_id][1], _UNUSED)
    everything = [entry for entry in entries if entry is not None] + tail
    assert len(everything) == model.vocab_size + len(tail)  # the model's ids are 0..vocab_size-1
    return everything, list(unused_at.values()), spec_names


def _check_loads(path: str, pieces: int) -> None:
    """ValueError unless SentencePiece loads the file at ``path`` with ``pieces`` pieces."""
    import sentencepiece as spm  # type: ignore[import-untyped]

    try:
        processor = spm.SentencePieceProcessor(model_file=path)
    except Exception as exc:  # SentencePiece raises RuntimeError or OSError with its own message
        raise ValueError(f"SentencePiece cannot load the export ({exc}); nothing was written") from None
    if processor.get_piece_size() != pieces:
        raise ValueError(f"SentencePiece reads {processor.get_piece_size()} pieces from the export, not {pieces}; "
                         "nothing was written")


def to_sentencepiece(model: Model, path: PathLike, layout: str = "bytepiece",
                     check: Optional[Callable[[str], None]] = None) -> SentencePieceExport:
    """Write ``model`` as a SentencePiece Unigram ``.model`` at ``path``.

    ``layout="0.6.3"`` is exactly 0.6.3's file, where the control bytes
    (``\\n``, tab, ...) are byte pieces, which SentencePiece uses only for
    characters no piece covers (so it avoids them: "s" + "\\n" loses to "es\\n"
    although bytepiece prefers it). ``layout="bytepiece"`` (the default) makes
    every ASCII byte a normal piece at its id and adds its byte piece at the
    end, which brings SentencePiece's segmentation much closer to bytepiece's.

    The file is written under a temporary name, loaded in SentencePiece, then
    passed to ``check`` (if given: e.g. to measure agreement), and only then
    renamed to ``path``: a ValueError (what SentencePiece cannot hold, or a
    refused check) leaves any earlier file at ``path`` untouched.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    pb = _proto()
    everything, unused, spec_names = _layout(model, layout)
    piece_type = pb.ModelProto.SentencePiece
    proto = pb.ModelProto(
        pieces=[piece_type(piece=name, score=score) if kind == _NORMAL else
                piece_type(piece=name, score=score, type=kind) for name, score, kind in everything],
        trainer_spec=pb.TrainerSpec(model_type=1, vocab_size=len(everything), split_by_unicode_script=False,
                                    byte_fallback=True, **spec_names),
        normalizer_spec=pb.NormalizerSpec(name="identity", precompiled_charsmap=b"", add_dummy_prefix=False,
                                          remove_extra_whitespaces=False),
    )

    def checked(temp: str) -> None:
        _check_loads(temp, len(everything))
        if check is not None:
            check(temp)

    with atomic_file(path, check=checked) as f:
        f.write(proto.SerializeToString())
    return SentencePieceExport(os.fspath(path), len(everything), unused)


@dataclass(frozen=True)
class Agreement:
    """How often another tokenizer cut texts as bytepiece does: texts with
    identical ids, and bytepiece's token boundaries (byte offsets) that the
    other tokenizer also has. A rate over nothing (no texts, no boundaries)
    is NaN, never a claim of agreement."""

    texts: int
    identical_texts: int
    boundaries: int
    shared_boundaries: int

    @property
    def text_rate(self) -> float:
        """The share of texts whose ids are identical (NaN for no texts)."""
        return self.identical_texts / self.texts if self.texts else float("nan")

    @property
    def boundary_rate(self) -> float:
        """The share of bytepiece's token boundaries that the other tokenizer
        has too (NaN when the texts have none)."""
        return self.shared_boundaries / self.boundaries if self.boundaries else float("nan")


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


#: Texts encoded at a time when measuring agreement (memory stays bounded).
_AGREEMENT_BATCH = 1000


def sentencepiece_agreement(model: Union[Model, "Tokenizer"], model_path: PathLike,
                            texts: Iterable[str]) -> Agreement:
    """Encode ``texts`` (NFC-normalized, as bytepiece does) with ``model``
    (its best segmentation, as ``Tokenizer.encode_batch``; a Tokenizer
    stands for its model) and with the SentencePiece model at ``model_path``
    (as written by :func:`to_sentencepiece`), and compare."""
    import sentencepiece as spm  # type: ignore[import-untyped]

    if not isinstance(model, Model):
        model = model.model
    encoder = Encoder(model.segmenter())
    best = Segmentation(MODE_BEST, -1.0, 0)
    processor = spm.SentencePieceProcessor(model_file=os.fspath(model_path))
    table = model.bytes_by_id()

    def length_of(token_id: int) -> int:  # byte pieces (at any id) and ids past bytepiece's are one byte
        if token_id >= len(table) or processor.is_byte(token_id):
            return 1
        return len(table[token_id])

    total = Agreement(0, 0, 0, 0)
    batches = iter(texts)
    while True:
        batch = [unicodedata.normalize("NFC", t) for t in itertools.islice(batches, _AGREEMENT_BATCH)]
        if not batch:
            return total
        part = compare_ids(encoder.encode_lists(batch, best, num_threads=None), processor.encode(batch), length_of)
        total = Agreement(total.texts + part.texts, total.identical_texts + part.identical_texts,
                          total.boundaries + part.boundaries, total.shared_boundaries + part.shared_boundaries)


@dataclass(frozen=True)
class SentencePieceImport:
    """A model read from a SentencePiece ``.model``, with ``notes`` on what
    bytepiece does differently with it (normalization, dummy prefix) and on
    special tokens it renamed."""

    model: Model
    notes: List[str]


def _unknown_type(item: Any) -> Optional[int]:
    """The value of a piece's type field that protobuf did not recognize
    (it then reads the type as NORMAL), or None."""
    try:
        from google.protobuf.unknown_fields import UnknownFieldSet  # type: ignore[import-untyped]
    except ImportError:  # an older protobuf: the method on the message
        fields = [(f.field_number, f.data) for f in item.UnknownFields()]
    else:
        fields = [(f.field_number, f.data) for f in UnknownFieldSet(item)]
    return next((data for number, data in fields if number == 3), None)


def from_sentencepiece(path: PathLike) -> SentencePieceImport:
    """A bytepiece model from a SentencePiece Unigram ``.model``: same ids,
    same scores (see :mod:`bytepiece.formats.imports`), ``▁`` read as a
    space. bytepiece applies no SentencePiece normalizer and adds no dummy
    prefix: its segmentation equals SentencePiece's on text that the
    normalizer leaves as it is, given a leading space when the model adds a
    dummy prefix (the notes say which apply).

    ValueError naming the file (and the token) for anything but a complete
    Unigram model: an empty, truncated or corrupt file, a piece that is
    empty, not text, longer than MAX_PIECE_LEN bytes or of an unknown type, a
    score that is not finite or beyond ±MAX_ABS_SCORE, a malformed byte
    piece, two pieces of the same text; OSError when it cannot be read.
    """
    from .imports import ScoredVocabulary, read_source

    path = os.fspath(path)
    pb = _proto()
    proto = pb.ModelProto()
    data = read_source(path)
    try:
        proto.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError (and whatever a hostile file makes it raise)
        raise ValueError(f"{path}: not a SentencePiece model ({exc or type(exc).__name__})") from None
    what = "an empty file" if not data else f"{len(data)} bytes"
    for part in ("trainer_spec", "normalizer_spec"):
        if not proto.HasField(part):
            raise ValueError(f"{path}: not a complete SentencePiece model ({what} without a {part}: truncated, "
                             "or another kind of file)")
    if not proto.pieces:
        raise ValueError(f"{path}: the SentencePiece model has no pieces")
    spec = proto.trainer_spec
    if spec.model_type not in (0, 1):
        raise ValueError(f"{path}: a SentencePiece model of type {spec.model_type}; "
                         "only Unigram models (type 1) import")
    notes: List[str] = []
    if spec.HasField("vocab_size") and spec.vocab_size != len(proto.pieces):
        if spec.vocab_size > len(proto.pieces):
            raise ValueError(f"{path}: the SentencePiece model declares {spec.vocab_size} pieces but holds "
                             f"{len(proto.pieces)} (truncated?)")
        # Vocabularies extended after training (pieces appended) keep the old size.
        notes.append(f"the source holds {len(proto.pieces)} pieces, more than the {spec.vocab_size} it was trained "
                     "with (pieces added later): all are imported")
    vocabulary = ScoredVocabulary(source=path)
    escape = proto.normalizer_spec.escape_whitespaces if proto.normalizer_spec.HasField("escape_whitespaces") else True
    user_defined = 0
    for token_id, item in enumerate(proto.pieces):
        name = item.piece
        if not isinstance(name, str):  # protobuf hands back bytes that are not UTF-8
            raise ValueError(f"{path}: piece {token_id} {name!r:.60} is not UTF-8 text")
        unknown = _unknown_type(item)
        if unknown is not None:
            raise ValueError(f"{path}: piece {token_id} {name!r:.60} has the unknown type {unknown}")
        kind = item.type or _NORMAL
        if kind in (_NORMAL, _USER_DEFINED):
            user_defined += kind == _USER_DEFINED
            text = name.replace("\u2581", " ") if escape else name
            try:
                piece = text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"{path}: piece {token_id} {name!r:.60} is not valid text") from None
            vocabulary.add_piece(token_id, piece, item.score, name)
        elif kind == _BYTE:
            match = _BYTE_NAME.fullmatch(name)
            if not match:
                raise ValueError(f"{path}: piece {token_id} {name!r:.60} is a byte piece, which must be named "
                                 "<0x00> to <0xFF>")
            vocabulary.add_byte(token_id, int(match.group(1), 16))
        else:
            vocabulary.add_special(token_id, name)
    model = vocabulary.model()
    normalizer = proto.normalizer_spec
    if normalizer.precompiled_charsmap or normalizer.name not in ("", "identity"):
        notes.append(f"the source normalizes text ({normalizer.name or 'custom'}); bytepiece applies NFC only")
    if not normalizer.HasField("add_dummy_prefix") or normalizer.add_dummy_prefix:
        notes.append("the source adds a dummy prefix: prepend a space to text to segment as it does")
    if not normalizer.HasField("remove_extra_whitespaces") or normalizer.remove_extra_whitespaces:
        notes.append("the source collapses runs of whitespace; bytepiece keeps them")
    if user_defined:
        notes.append(f"{user_defined} user-defined symbol(s) are ordinary pieces with their scores: SentencePiece "
                     "always cuts them out of text, bytepiece where they score best")
    return SentencePieceImport(model, notes + vocabulary.notes)
