"""Hugging Face ``tokenizer.json``: a byte-level Unigram that gives bytepiece's ids.

The exported tokenizer does what bytepiece does, step by step:

- normalizer: NFC;
- pre-tokenizer: split after every run of ``\\n`` (bytepiece's chunks), then
  ByteLevel without a prefix space or regex, which maps each byte to one
  printable character (GPT-2's byte alphabet), so every byte string is a
  string of the vocabulary's alphabet;
- model: Unigram over the pieces in that alphabet, ids as in bytepiece, each
  piece's score bytepiece's float64 score (JSON keeps every bit). Its
  Viterbi keeps the first-found of equal-scoring paths, which is bytepiece's
  rule (the longest piece ending at a position wins);
- decoder: ByteLevel (bytes back to text);
- special tokens ``<pad>`` ``<bos>`` ``<eos>`` at ids 0, 1, 2 (and the
  model's user-defined special tokens) as Hugging Face special tokens.
  Hugging Face recognizes special tokens written in the input text;
  bytepiece does so only when asked (``allowed_special``);
- post-processor: what ``add_special_tokens=True`` (transformers' default)
  adds, as chosen by ``add_special``: ``<bos>`` first (``"bos"``, the
  default, as Llama-style tokenizers do), ``<eos>`` last (``"eos"``), both
  (``"both"``), or nothing (``"none"``). bytepiece's ``encode(text,
  add_bos=..., add_eos=...)`` gives the same ids;
  ``add_special_tokens=False`` gives ``encode(text)``'s.

With a directory as the path, ``tokenizer_config.json`` and
``special_tokens_map.json`` are written beside ``tokenizer.json`` so that
``transformers.AutoTokenizer.from_pretrained(directory)`` loads it.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import tempfile
from fractions import Fraction
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from ..model import SPECIAL_TOKENS, Model
from ..outputs import PathLike, atomic_files

__all__ = ["byte_alphabet", "serde_decimal", "HuggingFaceExport", "to_huggingface", "HuggingFaceImport",
           "from_huggingface", "ADD_SPECIAL"]


def byte_alphabet() -> List[str]:
    """``byte_alphabet()[b]`` is the character that byte ``b`` stands for in
    a byte-level vocabulary (GPT-2's ``bytes_to_unicode``): printable Latin-1
    bytes stand for themselves, the others for U+0100 onwards, in order."""
    printable = set(range(0x21, 0x7F)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    alphabet, extra = [], 0
    for b in range(256):
        if b in printable:
            alphabet.append(chr(b))
        else:
            alphabet.append(chr(0x100 + extra))
            extra += 1
    return alphabet


def _serde_reads(digits: int, exponent: int) -> float:
    """What serde_json reads from the decimal ``digits / 10**exponent``."""
    return float(digits) / 10.0**exponent


def _decimal(digits: int, exponent: int) -> str:
    text = str(digits).rjust(exponent + 1, "0")
    return text[:-exponent] + "." + text[-exponent:]


def serde_decimal(x: float) -> Tuple[str, bool]:
    """A decimal that serde_json reads back as ``x``, and whether it reads
    back exactly.

    Rust's serde_json, as tokenizers builds it (without its float_roundtrip
    feature), reads a decimal as ``(digits as f64) / 10^exponent``: two
    roundings, so the shortest repr of a float can come back one ulp off
    (``-11.136727677023625`` does), and one ulp decides exact Viterbi ties.
    This returns the shortest repr when serde_json reads it right, else the
    first decimal of 15 to 18 (then fewer) fraction digits whose digits are a
    double near ``x * 10^exponent`` that this reading maps to ``x``. About one
    float in a few thousand has no such decimal: then its shortest repr (read
    one ulp off by serde_json, exactly by everything else) and False.
    """
    if x == 0 or not math.isfinite(x):
        return repr(float(x)), True
    sign, magnitude = ("-" if x < 0 else ""), abs(x)
    text = repr(magnitude)
    if "e" not in text:
        whole, _, fraction = text.partition(".")
        digits = int(whole + fraction)
        if digits < 1 << 64 and _serde_reads(digits, len(fraction)) == magnitude:
            return sign + text, True
    exact = Fraction(magnitude)
    for exponent in (15, 16, 17, 18, *range(14, 0, -1)):
        nearest = float(round(exact * 10**exponent))
        if not 0 < nearest < 2.0**64:
            continue
        for step in range(-6, 7):
            candidate = nearest + step * math.ulp(nearest)
            if candidate == int(candidate) and _serde_reads(int(candidate), exponent) == magnitude:
                return sign + _decimal(int(candidate), exponent), True
    return repr(float(x)), False  # one ulp off in Rust, exact for every other reader


#: What the exported tokenizer adds with ``add_special_tokens=True``.
ADD_SPECIAL = ("bos", "eos", "both", "none")


def _post_processor(processors: Any, add_special: str) -> Any:
    """The TemplateProcessing that puts <bos>/<eos> around each sequence as ``add_special`` says."""
    bos = ["<bos>"] if add_special in ("bos", "both") else []
    eos = ["<eos>"] if add_special in ("eos", "both") else []
    single = bos + ["$A"] + eos
    pair = single + bos + ["$B:1"] + eos
    return processors.TemplateProcessing(single=" ".join(single), pair=" ".join(pair),
                                         special_tokens=[("<bos>", 1), ("<eos>", 2)])


def _tokenizer(model: Model, add_special: str = "bos") -> Any:
    try:
        from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ImportError("Hugging Face export needs the tokenizers package: pip install tokenizers") from exc
    alphabet = byte_alphabet()
    table = model.bytes_by_id()
    scores = model.scores()
    score_by_id = dict(zip(model.ids, scores.tolist()))
    vocab: List[Tuple[str, float]] = [(name, 0.0) for name in SPECIAL_TOKENS]
    user_specials = dict((token_id, name) for name, token_id in model.special_tokens)
    specials = list(SPECIAL_TOKENS) + [name for name, _ in model.special_tokens]
    seen = set(specials)
    for token_id in range(len(SPECIAL_TOKENS), model.vocab_size):
        if token_id in user_specials:
            vocab.append((user_specials[token_id], 0.0))
            continue
        name = "".join(alphabet[b] for b in table[token_id])
        if name in seen:
            raise ValueError(f"cannot export: the piece {table[token_id]!r} is spelled like a special token "
                             f"({name!r}) in the byte-level vocabulary")
        seen.add(name)
        vocab.append((name, score_by_id[token_id]))
    tokenizer = Tokenizer(models.Unigram(vocab, None, False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex("\n+"), behavior="merged_with_previous"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = _post_processor(processors, add_special)
    tokenizer.add_special_tokens([AddedToken(name, special=True, normalized=False) for name in specials])
    return tokenizer


def _with_exact_scores(text: str) -> Tuple[str, List[int]]:
    """The tokenizer.json ``text`` with its Unigram scores written by
    :func:`serde_decimal`, and the ids whose scores tokenizers reads one ulp
    off (checked by loading the result in tokenizers)."""
    from tokenizers import Tokenizer

    data = json.loads(text)
    vocab = data["model"]["vocab"]
    # A placeholder for the vocabulary that nothing else in the file spells (token names are any text).
    whole = json.dumps(data, ensure_ascii=False)
    placeholder = next(json.dumps(f"\0vocab{k}\0") for k in itertools.count()
                       if json.dumps(f"\0vocab{k}\0") not in whole)
    data["model"]["vocab"] = json.loads(placeholder)
    rows = ", ".join(f"[{json.dumps(name, ensure_ascii=False)}, {serde_decimal(score)[0]}]" for name, score in vocab)
    text = json.dumps(data, ensure_ascii=False).replace(placeholder, f"[{rows}]", 1)
    try:
        loaded = json.loads(Tokenizer.from_str(text).to_str())["model"]["vocab"]  # the scores as Rust holds them
    except Exception as exc:  # tokenizers raises plain Exception
        raise ValueError(f"Hugging Face tokenizers cannot read the export ({exc}); nothing was written") from None
    return text, [i for i, ((_, want), (_, got)) in enumerate(zip(vocab, loaded)) if want != got]


@dataclass(frozen=True)
class HuggingFaceExport:
    """What :func:`to_huggingface` wrote: the ``files``, and the pieces whose
    scores Hugging Face reads one ulp off (``inexact``; usually none, see
    :func:`serde_decimal`): ids can differ from bytepiece's only on exact
    ties that involve them."""

    files: List[str]
    inexact: List[bytes]


def _check_loads(path: str, model: Model) -> None:
    """ValueError unless tokenizers loads the ``tokenizer.json`` at ``path``
    with bytepiece's vocabulary size and every special token at its id."""
    from tokenizers import Tokenizer

    try:
        loaded = Tokenizer.from_file(path)
    except Exception as exc:  # tokenizers raises plain Exception
        raise ValueError(f"Hugging Face tokenizers cannot load the export ({exc}); nothing was written") from None
    size = loaded.get_vocab_size(with_added_tokens=True)
    if size != model.vocab_size:
        raise ValueError(f"Hugging Face tokenizers reads {size} tokens from the export, not {model.vocab_size}; "
                         "nothing was written")
    for name, token_id in [*zip(SPECIAL_TOKENS, range(len(SPECIAL_TOKENS))), *model.special_tokens]:
        if loaded.token_to_id(name) != token_id:
            raise ValueError(f"Hugging Face tokenizers gives the special token {name!r:.60} the id "
                             f"{loaded.token_to_id(name)}, not {token_id}; nothing was written")


def _check_transformers(temps: List[str], names: List[str]) -> None:
    """When transformers is installed: ValueError unless
    ``AutoTokenizer.from_pretrained`` loads the files ``temps`` (the
    temporary names of a directory export's ``names``) with <pad> <bos>
    <eos> at ids 0, 1, 2."""
    try:
        import transformers  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return
    with tempfile.TemporaryDirectory() as folder:
        for temp, name in zip(temps, names):  # the files under their final names, without copying them
            os.symlink(os.path.abspath(temp), os.path.join(folder, name))
        try:
            loaded = transformers.AutoTokenizer.from_pretrained(folder)
        except Exception as exc:  # whatever transformers raises
            raise ValueError(f"transformers cannot load the export ({exc}); nothing was written") from None
    ids = (loaded.pad_token_id, loaded.bos_token_id, loaded.eos_token_id)
    if ids != (0, 1, 2):
        raise ValueError(f"transformers gives <pad> <bos> <eos> the ids {ids}, not (0, 1, 2); nothing was written")


def to_huggingface(model: Model, path: PathLike, add_special: str = "bos") -> HuggingFaceExport:
    """Write ``model`` as a Hugging Face tokenizer: ``path`` itself when it
    names a ``.json`` file, else the directory ``path`` (created if needed)
    with ``tokenizer.json``, ``tokenizer_config.json`` and
    ``special_tokens_map.json``. Needs the ``tokenizers`` package.
    ``add_special``: what ``add_special_tokens=True`` adds (:data:`ADD_SPECIAL`):
    ``"bos"`` (the default), ``"eos"``, ``"both"`` or ``"none"``.

    The files are written under temporary names and the ``tokenizer.json``
    loaded in tokenizers (a directory also in transformers, when it is
    installed) before any of them is renamed into place, so they
    all land together or none does (any earlier files stay as they were);
    ValueError for what the format cannot hold (a piece spelled like a
    special token) or a file tokenizers refuses. Returns the files written.
    """
    path = os.fspath(path)
    if add_special not in ADD_SPECIAL:
        raise ValueError(f"add_special must be one of {', '.join(ADD_SPECIAL)}, got {add_special!r}")
    text, inexact = _with_exact_scores(_tokenizer(model, add_special).to_str(pretty=False))
    created = None
    if path.endswith(".json"):
        files = {path: text}
    else:
        if os.path.exists(path) and not os.path.isdir(path):
            raise FileExistsError(f"cannot write a Hugging Face tokenizer to {path}: it is a file; name a "
                                  "directory, or a .json file for tokenizer.json alone")
        if not os.path.isdir(path):
            created = os.path.abspath(path)
        os.makedirs(path, exist_ok=True)
        names: Dict[str, str] = dict(zip(("pad_token", "bos_token", "eos_token"), SPECIAL_TOKENS))
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 1 << 30,
                  "clean_up_tokenization_spaces": False, "add_bos_token": add_special in ("bos", "both"),
                  "add_eos_token": add_special in ("eos", "both"), **names}
        files = {os.path.join(path, "tokenizer.json"): text,
                 os.path.join(path, "tokenizer_config.json"): json.dumps(config, indent=2),
                 os.path.join(path, "special_tokens_map.json"): json.dumps(names, indent=2)}
    def check(temps: List[str]) -> None:
        _check_loads(temps[0], model)
        if len(temps) > 1:
            _check_transformers(temps, [os.path.basename(name) for name in files])

    try:
        with atomic_files(list(files), "w", encoding="utf-8", check=check) as handles:
            for handle, content in zip(handles, files.values()):
                handle.write(content)
    except BaseException:
        if created is not None:  # the directory made for this export, still empty
            with contextlib.suppress(OSError):
                os.rmdir(created)
        raise
    table = model.bytes_by_id()
    return HuggingFaceExport(list(files), [table[i] for i in inexact])


@dataclass(frozen=True)
class HuggingFaceImport:
    """A model read from a Hugging Face ``tokenizer.json``, with ``notes`` on
    what bytepiece does differently with it (normalizer, pre-tokenizer,
    added tokens) and on special tokens it renamed."""

    model: Model
    notes: List[str]


def _components(node: Any, where: str, path: str) -> List[Dict[str, Any]]:
    """A normalizer or pre-tokenizer and, for a Sequence, its parts (in order,
    without recursion: a hostile file may nest Sequences deeply)."""
    result: List[Dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        if not isinstance(item, dict):
            raise ValueError(f"{path}: the {where} must be an object or null, got {type(item).__name__}")
        if not isinstance(item.get("type"), (str, type(None))):
            raise ValueError(f"{path}: a {where} has the type {item.get('type')!r:.40}; a type is a string")
        parts = item.get("pretokenizers", item.get("normalizers"))
        if parts is None:
            result.append(item)
        elif not isinstance(parts, list):
            raise ValueError(f"{path}: a {where} Sequence must hold a list, got {type(parts).__name__}")
        else:
            stack.extend(reversed(parts))
    return result


_HF_BYTE_NAME = re.compile(r"<0x([0-9A-F]{2})>")


def _read_json(path: str) -> Any:
    from .imports import read_source

    raw = read_source(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a tokenizer.json (not UTF-8 text: byte {exc.start} is "
                         f"0x{raw[exc.start]:02x})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{path}: not a tokenizer.json (JSON nested too deeply)") from None
    except ValueError as exc:  # invalid JSON, or a number of more digits than Python reads
        raise ValueError(f"{path}: not a tokenizer.json ({exc})") from None


def from_huggingface(path: PathLike) -> HuggingFaceImport:
    """A bytepiece model from a Hugging Face Unigram ``tokenizer.json``: same
    ids, same scores (see :mod:`bytepiece.formats.imports`). Token names are
    mapped back to bytes: through the byte alphabet when the pre-tokenizer is
    ByteLevel, ``▁`` to a space with Metaspace, else as UTF-8. Added tokens
    (those past the base vocabulary too) are special tokens at their ids.
    bytepiece runs no Hugging Face normalizer or pre-tokenizer of its own
    (only NFC and its chunks); the notes say what the source does beyond
    that. A tokenizer exported by :func:`to_huggingface` imports back to the
    same model.

    ValueError naming the file (and the token) for anything else: another
    model type, malformed JSON or structure, a score that is not a finite
    number within ±MAX_ABS_SCORE, a token name that maps to no bytes, ids
    with gaps; OSError when the file cannot be read.
    """
    from .imports import ScoredVocabulary

    path = os.fspath(path)
    data = _read_json(path)
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict) or model.get("type") != "Unigram":
        kind = model.get("type") if isinstance(model, dict) else None
        shown = f"a {kind!r:.40} model" if kind is not None else "not a tokenizer.json with a model"
        raise ValueError(f"{path}: {shown}; only Unigram tokenizers import")
    vocab = model.get("vocab")
    if not isinstance(vocab, list):
        raise ValueError(f"{path}: the Unigram model has no vocab list (got {type(vocab).__name__})")
    unk_id = model.get("unk_id")
    if unk_id is not None and (isinstance(unk_id, bool) or not isinstance(unk_id, int)
                               or not 0 <= unk_id < len(vocab)):
        raise ValueError(f"{path}: unk_id is {unk_id!r:.40}, not an id of the vocab (0..{len(vocab) - 1}) or null")
    byte_fallback = model.get("byte_fallback", False)
    if not isinstance(byte_fallback, (bool, type(None))):
        raise ValueError(f"{path}: byte_fallback is {byte_fallback!r:.40}, not true or false")
    added = data.get("added_tokens")
    if not isinstance(added, (list, type(None))):
        raise ValueError(f"{path}: added_tokens must be a list, got {type(added).__name__}")
    specials: Dict[int, str] = {}
    ordinary_added = 0
    for k, item in enumerate(added or []):
        token_id = item.get("id") if isinstance(item, dict) else None
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(token_id, bool) or not isinstance(token_id, int) or token_id < 0 or \
                not isinstance(content, str):
            raise ValueError(f"{path}: added token {k} must be an object with an integer 'id' (0 or more) and a "
                             f"string 'content', got {item!r:.80}")
        if token_id in specials:
            raise ValueError(f"{path}: two added tokens have the id {token_id} ({specials[token_id]!r:.40} and "
                             f"{content!r:.40})")
        specials[token_id] = content
        ordinary_added += item.get("special") is False
    pre = _components(data.get("pre_tokenizer"), "pre_tokenizer", path)
    kinds = [c.get("type") for c in pre]
    notes: List[str] = []
    if "ByteLevel" in kinds:
        inverse = {ch: b for b, ch in enumerate(byte_alphabet())}

        def to_bytes(name: str) -> bytes:
            return bytes(inverse[ch] for ch in name)
    else:
        replacement = next((c.get("replacement", "\u2581") for c in pre if c.get("type") == "Metaspace"), None)
        if replacement is not None and (not isinstance(replacement, str) or not replacement):
            raise ValueError(f"{path}: the Metaspace replacement is {replacement!r:.40}, not a character")

        def to_bytes(name: str) -> bytes:
            return (name.replace(replacement, " ") if replacement else name).encode("utf-8")
        if replacement:
            notes.append("the source's Metaspace adds a prefix space: prepend one to segment as it does")
    for kind in sorted({k for k in kinds if k} - {"ByteLevel", "Metaspace", "Split"}):
        notes.append(f"the source pre-tokenizes with {kind}; bytepiece only cuts after runs of newlines")
    for c in _components(data.get("normalizer"), "normalizer", path):
        if c.get("type") != "NFC":
            notes.append(f"the source normalizes with {c.get('type')}; bytepiece applies NFC only")
    if ordinary_added:
        notes.append(f"{ordinary_added} added token(s) that Hugging Face matches in text as ordinary tokens are "
                     "special tokens here, matched only when allowed (allowed_special)")
    vocabulary = ScoredVocabulary(source=path)
    for token_id, entry in enumerate(vocab):
        if not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], str):
            raise ValueError(f"{path}: vocab entry {token_id} must be [token, score], got {entry!r:.80}")
        name, score = entry
        if token_id in specials:
            vocabulary.add_special(token_id, specials[token_id])
        elif token_id == unk_id:
            vocabulary.add_special(token_id, name)
        elif byte_fallback and _HF_BYTE_NAME.fullmatch(name):
            vocabulary.add_byte(token_id, int(name[3:5], 16))
        else:
            try:
                piece = to_bytes(name)
            except KeyError:
                raise ValueError(f"{path}: token {token_id} {name!r:.60} is not in the byte-level alphabet") from None
            except UnicodeEncodeError:
                raise ValueError(f"{path}: token {token_id} {name!r:.60} is not valid text") from None
            vocabulary.add_piece(token_id, piece, score, name)
    for token_id in sorted(i for i in specials if i >= len(vocab)):  # added tokens past the base vocabulary
        vocabulary.add_special(token_id, specials[token_id])
    return HuggingFaceImport(vocabulary.model(), notes + vocabulary.notes)
