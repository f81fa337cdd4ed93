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
  bytepiece does so only when asked (``allowed_special``).

With a directory as the path, ``tokenizer_config.json`` and
``special_tokens_map.json`` are written beside ``tokenizer.json`` so that
``transformers.AutoTokenizer.from_pretrained(directory)`` loads it.
"""
from __future__ import annotations

import json
import math
import os
from fractions import Fraction
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple, Union

from ..model import SPECIAL_TOKENS, Model
from ..outputs import atomic_file

__all__ = ["byte_alphabet", "serde_decimal", "HuggingFaceExport", "to_huggingface", "HuggingFaceImport",
           "from_huggingface"]

PathLike = Union[str, "os.PathLike[str]"]


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


def _tokenizer(model: Model) -> Any:
    try:
        from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers  # type: ignore[import-untyped]
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
    tokenizer.add_special_tokens([AddedToken(name, special=True, normalized=False) for name in specials])
    return tokenizer


def _with_exact_scores(text: str) -> Tuple[str, List[int]]:
    """The tokenizer.json ``text`` with its Unigram scores written by
    :func:`serde_decimal`, and the ids whose scores tokenizers reads one ulp
    off (checked by loading the result in tokenizers)."""
    from tokenizers import Tokenizer

    data = json.loads(text)
    vocab = data["model"]["vocab"]
    data["model"]["vocab"] = "\0vocab\0"
    rows = ", ".join(f"[{json.dumps(name, ensure_ascii=False)}, {serde_decimal(score)[0]}]" for name, score in vocab)
    text = json.dumps(data, ensure_ascii=False).replace(json.dumps("\0vocab\0"), f"[{rows}]", 1)
    loaded = json.loads(Tokenizer.from_str(text).to_str())["model"]["vocab"]  # the scores as Rust holds them
    return text, [i for i, ((_, want), (_, got)) in enumerate(zip(vocab, loaded)) if want != got]


@dataclass(frozen=True)
class HuggingFaceExport:
    """What :func:`to_huggingface` wrote: the ``files``, and the pieces whose
    scores Hugging Face reads one ulp off (``inexact``; usually none, see
    :func:`serde_decimal`): ids can differ from bytepiece's only on exact
    ties that involve them."""

    files: List[str]
    inexact: List[bytes]


def to_huggingface(model: Model, path: PathLike) -> HuggingFaceExport:
    """Write ``model`` as a Hugging Face tokenizer: ``path`` itself when it
    names a ``.json`` file, else the directory ``path`` (created if needed)
    with ``tokenizer.json``, ``tokenizer_config.json`` and
    ``special_tokens_map.json``. Returns the files written (each appears
    whole or not at all). Needs the ``tokenizers`` package."""
    path = os.fspath(path)
    text, inexact = _with_exact_scores(_tokenizer(model).to_str(pretty=False))
    if path.endswith(".json"):
        files = {path: text}
    else:
        os.makedirs(path, exist_ok=True)
        names: Dict[str, str] = dict(zip(("pad_token", "bos_token", "eos_token"), SPECIAL_TOKENS))
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 1 << 30,
                  "clean_up_tokenization_spaces": False, **names}
        files = {os.path.join(path, "tokenizer.json"): text,
                 os.path.join(path, "tokenizer_config.json"): json.dumps(config, indent=2),
                 os.path.join(path, "special_tokens_map.json"): json.dumps(names, indent=2)}
    for target, content in files.items():
        with atomic_file(target, "w", encoding="utf-8") as f:
            f.write(content)
    table = model.bytes_by_id()
    return HuggingFaceExport(list(files), [table[i] for i in inexact])


@dataclass(frozen=True)
class HuggingFaceImport:
    """A model read from a Hugging Face ``tokenizer.json``, with ``notes`` on
    what bytepiece does differently with it (normalizer, pre-tokenizer)."""

    model: Model
    notes: List[str]


def _components(node: Any) -> List[Dict[str, Any]]:
    """A normalizer or pre-tokenizer and, for a Sequence, its parts."""
    if not node:
        return []
    parts = node.get("pretokenizers") or node.get("normalizers")
    return [node] if parts is None else [c for part in parts for c in _components(part)]


def from_huggingface(path: PathLike) -> HuggingFaceImport:
    """A bytepiece model from a Hugging Face Unigram ``tokenizer.json``: same
    ids, same scores (see :mod:`bytepiece.formats.imports`). Token names are
    mapped back to bytes: through the byte alphabet when the pre-tokenizer is
    ByteLevel, ``▁`` to a space with Metaspace, else as UTF-8. bytepiece runs
    no Hugging Face normalizer or pre-tokenizer of its own (only NFC and its
    chunks); the notes say what the source does beyond that. A tokenizer
    exported by :func:`to_huggingface` imports back to the same model.
    ValueError for another model type."""
    from .imports import ScoredVocabulary

    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a tokenizer.json ({exc})") from None
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict) or model.get("type") != "Unigram":
        kind = model.get("type") if isinstance(model, dict) else None
        raise ValueError(f"{path}: a {kind or 'non-Unigram'} model; only Unigram tokenizers import")
    pre = _components(data.get("pre_tokenizer"))
    kinds = {c.get("type") for c in pre}
    notes: List[str] = []
    if "ByteLevel" in kinds:
        inverse = {ch: b for b, ch in enumerate(byte_alphabet())}

        def to_bytes(name: str) -> bytes:
            return bytes(inverse[ch] for ch in name)
    else:
        replacement = next((c.get("replacement", "\u2581") for c in pre if c.get("type") == "Metaspace"), None)

        def to_bytes(name: str) -> bytes:
            return (name.replace(replacement, " ") if replacement else name).encode("utf-8")
        if replacement:
            notes.append("the source's Metaspace adds a prefix space: prepend one to segment as it does")
    for kind in sorted(k for k in kinds - {"ByteLevel", "Metaspace"} if k):
        if kind != "Split":
            notes.append(f"the source pre-tokenizes with {kind}; bytepiece only cuts after runs of newlines")
    for c in _components(data.get("normalizer")):
        if c.get("type") != "NFC":
            notes.append(f"the source normalizes with {c.get('type')}; bytepiece applies NFC only")
    specials = {item["id"]: item["content"] for item in data.get("added_tokens") or []}
    vocabulary = ScoredVocabulary()
    unk_id = model.get("unk_id")
    for token_id, (name, score) in enumerate(model["vocab"]):
        if token_id in specials or token_id == unk_id:
            vocabulary.add_special(token_id, specials.get(token_id, name))
        elif model.get("byte_fallback") and len(name) == 6 and name.startswith("<0x") and name.endswith(">"):
            vocabulary.add_byte(token_id, int(name[3:5], 16))
        else:
            try:
                vocabulary.add_piece(token_id, to_bytes(name), score)
            except KeyError:
                raise ValueError(f"{path}: token {name!r} is not in the byte-level alphabet") from None
    return HuggingFaceImport(vocabulary.model(), notes)
