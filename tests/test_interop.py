"""bytepiece models in other libraries: Hugging Face export (identical ids),
SentencePiece export (0.6.3's file byte for byte; measured agreement),
0.6.3's convert functions, offsets and streaming decode.

The shipped 40k model has pieces that are not whole UTF-8 characters
(trained without ensure_unicode); the models trained here have none.
"""
from __future__ import annotations

import gzip
import json
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bytepiece
from conftest import FIXTURES, MODEL_40K, SAMPLE, sample_texts

SPECIAL_NAMES = ("<pad>", "<bos>", "<eos>")


def _golden_texts():
    with gzip.open(FIXTURES / "plus.40k.golden.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Models trained on the sample corpus, with and without ensure_unicode."""
    models = {}
    for ensure_unicode in (True, False):
        trainer = bytepiece.Trainer(max_vocab_size=3000, min_count=2, ensure_unicode=ensure_unicode)
        trainer.train(sample_texts())
        path = tmp_path_factory.mktemp("trained") / f"unicode{ensure_unicode}.model"
        trainer.save(path)
        models[ensure_unicode] = bytepiece.Tokenizer(path)
    return models


# -- Hugging Face ------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_exports(tmp_path_factory, trained):
    tokenizers = pytest.importorskip("tokenizers")
    folder = tmp_path_factory.mktemp("hf")
    exports = {}
    for name, tok in [("40k", bytepiece.Tokenizer(MODEL_40K)), ("unicode", trained[True]),
                      ("bytes", trained[False])]:
        tok.to_huggingface(folder / name)
        exports[name] = (tok, tokenizers.Tokenizer.from_file(str(folder / name / "tokenizer.json")))
    return exports


@pytest.mark.parametrize("name", ["40k", "unicode", "bytes"])
def test_huggingface_export_gives_identical_ids_on_real_documents(hf_exports, name):
    tok, hf = hf_exports[name]
    texts = _golden_texts() + sample_texts()[:300]
    expected = tok.encode_batch(texts)
    got = [encoding.ids for encoding in hf.encode_batch(texts, add_special_tokens=False)]
    assert got == expected
    # add_special_tokens=True (the default) adds <bos>, as encode(add_bos=True) does.
    assert [e.ids for e in hf.encode_batch(texts[:50])] == tok.encode_batch(texts[:50], add_bos=True)
    assert hf.decode_batch(got[:200], skip_special_tokens=True) == [unicodedata.normalize("NFC", t)
                                                                    for t in texts[:200]]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
       | st.sampled_from(["a\n\nb", "\n", "x\r\n\r\ny", "  lead", "你好\n\n\n世界", "e\u0301", "<pad", "x<eos>y"]))
def test_huggingface_export_agrees_on_any_string(hf_exports, text):
    # Hugging Face recognizes special tokens in any text; bytepiece when they are allowed (README).
    for tok, hf in hf_exports.values():
        ids = tok.encode(text, allowed_special="all")
        assert hf.encode(text, add_special_tokens=False).ids == ids
        assert hf.decode(ids) == tok.decode(ids, errors="replace")


def test_huggingface_special_tokens_and_transformers(hf_exports, tmp_path):
    tok, hf = hf_exports["unicode"]
    assert [hf.token_to_id(name) for name in SPECIAL_NAMES] == [0, 1, 2]
    assert hf.decode([1, *tok.encode("hi"), 2], skip_special_tokens=True) == "hi"
    transformers = pytest.importorskip("transformers")
    tok.to_huggingface(tmp_path / "export")
    fast = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "export"))
    assert (fast.pad_token_id, fast.bos_token_id, fast.eos_token_id) == (0, 1, 2)
    text = "Hugging Face 你好\nsecond line"
    assert fast(text)["input_ids"] == tok.encode(text, add_bos=True)  # <bos>: the export's default
    assert fast(text, add_special_tokens=False)["input_ids"] == tok.encode(text)


@pytest.mark.parametrize("add_special, bos, eos", [("bos", True, False), ("eos", False, True), ("both", True, True),
                                                   ("none", False, False)])
def test_huggingface_export_adds_the_special_tokens_asked(tmp_path, tok40k, add_special, bos, eos):
    tokenizers = pytest.importorskip("tokenizers")
    tok40k.to_huggingface(tmp_path / "t.json", add_special=add_special)
    hf = tokenizers.Tokenizer.from_file(str(tmp_path / "t.json"))
    text, other = "a text 分词", "and another"
    assert hf.encode(text).ids == tok40k.encode(text, add_bos=bos, add_eos=eos)
    assert hf.encode(text, add_special_tokens=False).ids == tok40k.encode(text)
    pair = hf.encode(text, other).ids
    assert pair == tok40k.encode(text, add_bos=bos, add_eos=eos) + tok40k.encode(other, add_bos=bos, add_eos=eos)
    with pytest.raises(ValueError, match="add_special"):
        tok40k.to_huggingface(tmp_path / "u.json", add_special="start")


def test_huggingface_export_refuses_a_piece_spelled_like_a_special_token(tmp_path):
    pytest.importorskip("tokenizers")
    tok = bytepiece.Tokenizer.from_pieces({b"<bos>": 5, b"ab": 3}, add_missing_bytes=True)
    with pytest.raises(ValueError, match="spelled like a special token"):
        tok.to_huggingface(tmp_path / "t.json")
    assert not (tmp_path / "t.json").exists()


# -- SentencePiece -----------------------------------------------------------------


def test_convert_to_sentencepiece_writes_063s_file_byte_for_byte(tmp_path):
    pytest.importorskip("sentencepiece")
    tok = bytepiece.Tokenizer(FIXTURES / "sample1000.model")
    tok.convert_to_sentencepiece(tmp_path / "ours.spm")
    assert (tmp_path / "ours.spm").read_bytes() == (FIXTURES / "sample1000.063.spm").read_bytes()


def test_convert_to_sentencepiece_does_not_crash_on_partial_characters(tmp_path, tok40k):
    # 0.6.3 raised UnicodeDecodeError on this model.
    spm = pytest.importorskip("sentencepiece")
    tok40k.convert_to_sentencepiece(tmp_path / "40k.spm")
    processor = spm.SentencePieceProcessor(model_file=str(tmp_path / "40k.spm"))
    assert processor.get_piece_size() > tok40k.vocab_size
    assert processor.decode(processor.encode("plain text 中文")) == "plain text 中文"


def test_sentencepiece_export_agreement(tmp_path, trained, tok40k):
    """The documented agreement levels (README, Interoperability): whole UTF-8
    models agree on nearly every text; models with partial-character pieces
    far less, as SentencePiece's lattice is made of characters."""
    pytest.importorskip("sentencepiece")
    from bytepiece.formats.sentencepiece import sentencepiece_agreement

    texts = _golden_texts()[:600]
    export = trained[True].to_sentencepiece(tmp_path / "u.model")
    assert export.unused == []
    agreement = sentencepiece_agreement(trained[True], tmp_path / "u.model", texts)
    assert agreement.text_rate >= 0.95 and agreement.boundary_rate >= 0.995
    export = tok40k.to_sentencepiece(tmp_path / "40k.model")
    assert len(export.unused) == 248 and all(_not_utf8(p) for p in export.unused)
    agreement = sentencepiece_agreement(tok40k, tmp_path / "40k.model", texts)
    assert agreement.text_rate >= 0.6 and agreement.boundary_rate >= 0.99


def _not_utf8(piece):
    try:
        piece.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def test_sentencepiece_names_that_would_collide_stay_unused(tmp_path):
    pytest.importorskip("sentencepiece")
    tok = bytepiece.Tokenizer.from_pieces({b"a b": 5, "a\u2581b".encode(): 4, b"<s>": 3}, add_missing_bytes=True)
    export = tok.to_sentencepiece(tmp_path / "c.model")
    assert sorted(export.unused) == sorted(["a\u2581b".encode(), b"<s>"])


# -- 0.6.3's convert_to_bytepiece and dictionaries ---------------------------------


def test_convert_to_bytepiece_builds_a_usable_model(tmp_path):
    words = {"北京": 50, "天安门": 30, "广场": 20, "我们": 80, "在": 100, b"bytes": 7}
    bytepiece.convert_to_bytepiece(words, tmp_path / "words.model")
    tok = bytepiece.Tokenizer(tmp_path / "words.model")
    assert tok.tokenize("我们在北京天安门广场") == [w.encode() for w in ["我们", "在", "北京", "天安门", "广场"]]
    assert tok.vocab_size == 3 + 256 + len(words)
    with pytest.raises(ValueError, match="positive integer"):
        bytepiece.convert_to_bytepiece({"x": 0}, tmp_path / "bad.model")
    assert not (tmp_path / "bad.model").exists()


# -- offsets -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
       | st.sampled_from(["cafe\u0301 au lait", "\u1100\u1161\u11a8 한국", "A\u030a\u0301x", "tab\there\n\n"]))
def test_offsets_slice_the_input_back_into_the_pieces(tok40k, text):
    ids, spans = tok40k.encode_with_offsets(text)
    assert spans.shape == (len(ids), 2)
    starts, ends = spans[:, 0], spans[:, 1]
    assert (starts <= ends).all() and (np.diff(starts) >= 0).all() and (ends <= len(text)).all()
    pieces = tok40k.ids_to_pieces(ids)
    if unicodedata.is_normalized("NFC", text):
        # Whole-character tokens are exactly their slice; the spans cover the text.
        for piece, (a, b) in zip(pieces, spans.tolist()):
            if not _not_utf8(piece):
                assert text[a:b] == piece.decode()
        assert not len(ids) or (starts[0] == 0 and ends[-1] == len(text))
    # Every token's slice, normalized, holds the token's bytes.
    for piece, (a, b) in zip(pieces, spans.tolist()):
        assert piece in unicodedata.normalize("NFC", text[a:b]).encode()
    raw = text.encode()
    ids_b, spans_b = tok40k.encode_with_offsets(raw)
    assert [raw[a:b] for a, b in spans_b.tolist()] == tok40k.ids_to_pieces(ids_b)


def test_batch_offsets_equal_one_by_one(tok40k):
    texts = ["first 文本", b"\xffbytes", "", "cafe\u0301\nline"]
    ids, offsets, spans = tok40k.encode_batch_with_offsets(texts)
    for i, text in enumerate(texts):
        one_ids, one_spans = tok40k.encode_with_offsets(text)
        assert ids[offsets[i]:offsets[i + 1]].tolist() == one_ids
        assert spans[offsets[i]:offsets[i + 1]].tolist() == one_spans.tolist()


# -- streaming decode ------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40) | st.binary(max_size=40), errors=st.sampled_from(["ignore", "replace"]))
def test_streaming_decode_equals_whole_decode_for_every_prefix(tok40k, text, errors):
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "ignore")
    ids = tok40k.encode(text, alpha=0.5, seed=1)  # sampled: more partial-character pieces
    decoder = tok40k.stream_decoder(errors=errors)
    streamed = ""
    for k, token_id in enumerate(ids):
        streamed += decoder.push(token_id)
        whole = tok40k.decode_bytes(ids[:k + 1])
        # What has come out is the longest whole-UTF-8 text of the prefix.
        assert whole.decode("utf-8", errors).startswith(streamed)
    streamed += decoder.finish()
    assert streamed == tok40k.decode(ids, errors=errors)


def test_streaming_decoder_checks_ids_and_its_state(tok40k):
    decoder = tok40k.stream_decoder()
    with pytest.raises(ValueError):
        decoder.push(tok40k.vocab_size)
    with pytest.raises(TypeError):
        decoder.push("5")
    assert decoder.push(1) == ""  # special ids add nothing
    decoder.finish()
    with pytest.raises(ValueError, match="finished"):
        decoder.push(5)
    with pytest.raises(LookupError):
        tok40k.stream_decoder(errors="no-such-policy")


def test_dictionary_import_equals_063s_convert_to_bytepiece(tmp_path):
    from bytepiece.formats.dictionary import read_word_counts

    words = read_word_counts(FIXTURES / "jieba.3000.dict.txt")
    bytepiece.convert_to_bytepiece(words, tmp_path / "jieba.model")
    expected = gzip.decompress((FIXTURES / "jieba.3000.063.model.gz").read_bytes())
    assert (tmp_path / "jieba.model").read_bytes() == expected


def test_dictionary_reader_names_bad_lines(tmp_path):
    from bytepiece.formats.dictionary import read_word_counts

    bad = tmp_path / "dict.txt"
    bad.write_text("北京 50 ns\n天安门 x n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"dict.txt:2: expected 'word count \[tag\]'"):
        read_word_counts(bad)


# -- imports -------------------------------------------------------------------------


def test_huggingface_round_trip_gives_back_the_model(tmp_path, trained):
    pytest.importorskip("tokenizers")
    from bytepiece.formats.huggingface import from_huggingface

    for tok in (bytepiece.Tokenizer(MODEL_40K), trained[False].with_special_tokens(["<|endoftext|>"])):
        tok.to_huggingface(tmp_path / "t.json")
        imported = from_huggingface(tmp_path / "t.json").model
        assert imported.pieces == tok.model.pieces and imported.ids == tok.model.ids
        assert imported.scores().tolist() == tok.model.scores().tolist()
        assert imported.special_tokens == tok.model.special_tokens


def test_huggingface_trained_unigram_imports_with_its_segmentation(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from bytepiece.formats.huggingface import from_huggingface

    hf = tokenizers.Tokenizer(tokenizers.models.Unigram())
    hf.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    trainer = tokenizers.trainers.UnigramTrainer(
        vocab_size=1500, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>",
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    texts = [t.replace("\n", " ") for t in sample_texts()]
    hf.train_from_iterator(texts[:1000], trainer)
    hf.save(str(tmp_path / "hf.json"))
    tok = bytepiece.Tokenizer(from_huggingface(tmp_path / "hf.json").model)
    held_out = texts[1000:1300]
    assert tok.encode_batch(held_out) == [e.ids for e in hf.encode_batch(held_out, add_special_tokens=False)]


def test_sentencepiece_unigram_imports_with_its_segmentation(tmp_path):
    spm = pytest.importorskip("sentencepiece")
    from bytepiece.formats.sentencepiece import from_sentencepiece

    texts = [t.replace("\n", " ") for t in sample_texts()]
    (tmp_path / "train.txt").write_text("\n".join(texts[:1000]), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(tmp_path / "train.txt"), model_prefix=str(tmp_path / "sp"), vocab_size=4000,
        model_type="unigram", normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=False, byte_fallback=True, minloglevel=2)
    imported = from_sentencepiece(tmp_path / "sp.model")
    assert imported.notes == []
    tok = bytepiece.Tokenizer(imported.model)
    processor = spm.SentencePieceProcessor(model_file=str(tmp_path / "sp.model"))
    held_out = texts[1000:1400]
    same = sum(tok.encode(t) == processor.encode(t) for t in held_out)
    # SentencePiece adds float32 scores in float32, bytepiece in float64: near
    # ties may fall the other way (documented: 99.6% on the GIMP manual).
    assert same >= 0.97 * len(held_out)
    assert tok.decode(tok.encode("héllo wörld")) == "héllo wörld"  # unknown characters: the byte pieces


def test_imports_refuse_what_they_cannot_use(tmp_path):
    from bytepiece.formats.huggingface import from_huggingface

    (tmp_path / "bpe.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": {}, "merges": []}}))
    with pytest.raises(ValueError, match="only Unigram"):
        from_huggingface(tmp_path / "bpe.json")
    (tmp_path / "u.json").write_text(json.dumps({"model": {"type": "Unigram", "vocab": [["a", -1.0]]}}))
    with pytest.raises(ValueError, match="reserves ids 0-2"):
        from_huggingface(tmp_path / "u.json")


# -- special tokens and extension ------------------------------------------------


def test_special_tokens_are_never_forged_by_default(tok40k, tmp_path):
    tok = tok40k.with_special_tokens(["<|endoftext|>", "<|user|>"])
    end, user = tok.special_tokens["<|endoftext|>"], tok.special_tokens["<|user|>"]
    assert (end, user) == (tok40k.vocab_size, tok40k.vocab_size + 1) and tok.vocab_size == tok40k.vocab_size + 2
    text = "hello<|endoftext|> <|user|>hi"
    plain = tok.encode(text)
    assert end not in plain and user not in plain and plain == tok40k.encode(text)
    allowed = tok.encode(text, allowed_special="all")
    assert allowed == tok40k.encode("hello") + [end] + tok40k.encode(" ") + [user] + tok40k.encode("hi")
    assert tok.encode(text, allowed_special={"<|user|>"}).count(end) == 0
    assert tok.decode(allowed) == text and tok.decode(plain) == text
    assert tok.encode_batch([text, "x"], allowed_special="all") == [allowed, tok.encode("x")]
    ids, offsets = tok.encode_batch_numpy([text], allowed_special="all")
    assert ids.tolist() == allowed
    with pytest.raises(ValueError, match="not special tokens"):
        tok.encode(text, allowed_special={"<|nope|>"})
    with pytest.raises(ValueError, match="already a piece"):
        tok.with_special_tokens(["the"])


def test_special_tokens_survive_saving_and_063_reads_the_file(tok40k, tmp_path):
    tok = tok40k.with_special_tokens(["<|endoftext|>"])
    tok.save(tmp_path / "m.model")
    again = bytepiece.Tokenizer(tmp_path / "m.model")
    assert again.special_tokens == tok.special_tokens and again.model == tok.model
    # 0.6.3 reads an entry as [id, ..., count]: the token is an ordinary piece
    # there, with its id, and every other piece and id is unchanged.
    data = json.loads((tmp_path / "m.model").read_text(encoding="utf-8"))
    as_063 = {k: (v[0], v[-1]) for k, v in data.items()}
    assert len(as_063) == tok40k.vocab_size - 3 + 1
    assert all(isinstance(token_id, int) and isinstance(count, int) for token_id, count in as_063.values())


def test_extend_keeps_every_id_and_uses_the_new_pieces(tok40k):
    tok = tok40k.extend(["GIMP", "笔刷工具", "xyzzy"])
    assert tok.vocab_size == tok40k.vocab_size + 3
    assert tok.model.bytes_by_id()[:tok40k.vocab_size] == tok40k.model.bytes_by_id()
    assert tok.tokenize("GIMP 笔刷工具 xyzzy") == [b"GIMP", b" ", "笔刷工具".encode(), b" ", b"xyzzy"]
    texts = sample_texts()[:200]
    assert tok.encode_batch(texts) == tok40k.encode_batch(texts)  # text without the new pieces: unchanged
    counted = tok40k.extend({"xyzzy": 5})
    assert counted.model.counts[-1] == 5
    with pytest.raises(ValueError, match="already in the vocabulary"):
        tok40k.extend(["the"])


# -- command line ----------------------------------------------------------------


def test_cli_export_import_round_trip(tmp_path, capsys):
    pytest.importorskip("tokenizers")
    from bytepiece.cli import main

    assert main(["export", str(MODEL_40K), "--format", "hf", "-o", str(tmp_path / "hf")]) == 0
    assert "identical ids" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "hf" / "tokenizer.json"), "--format", "hf", "-q",
                 "-o", str(tmp_path / "back.model")]) == 0
    assert bytepiece.Tokenizer(tmp_path / "back.model").model.pieces == bytepiece.Tokenizer(MODEL_40K).model.pieces


def test_cli_sentencepiece_export_reports_and_can_refuse(tmp_path, capsys):
    pytest.importorskip("sentencepiece")
    from bytepiece.cli import main

    out = tmp_path / "m.spm"
    assert main(["export", str(MODEL_40K), "--format", "sentencepiece", "-o", str(out), "--sample", str(SAMPLE),
                 "--field", "text", "--sample-size", "100"]) == 0
    err = capsys.readouterr().err
    assert "248 bytepiece pieces unused" in err and "% of texts identical" in err
    earlier = out.read_bytes()
    # The agreement is measured on the temporary file: a refusal leaves the earlier file as it was.
    assert main(["export", str(MODEL_40K), "--format", "sentencepiece", "-o", str(out), "--sample", str(SAMPLE),
                 "--field", "text", "--sample-size", "100", "--min-agreement", "1.0"]) == 1
    assert "refused" in capsys.readouterr().err and out.read_bytes() == earlier
    assert [p.name for p in tmp_path.iterdir()] == ["m.spm"]  # no temporary file left behind
    fresh = tmp_path / "fresh.spm"
    assert main(["export", str(MODEL_40K), "--format", "sentencepiece", "-o", str(fresh), "--sample-size", "50",
                 "--sample", str(SAMPLE), "--field", "text", "--min-agreement", "1.0"]) == 1
    assert not fresh.exists()


def test_cli_extend_and_allowed_special(tmp_path, tok40k):
    from bytepiece.cli import main

    terms = tmp_path / "terms.tsv"
    terms.write_text("GIMP\t50\n笔刷工具\n", encoding="utf-8")
    out = tmp_path / "ext.model"
    assert main(["extend", str(MODEL_40K), "--pieces-file", str(terms), "--special", "<|endoftext|>", "-q",
                 "-o", str(out)]) == 0
    tok = bytepiece.Tokenizer(out)
    assert tok.special_tokens["<|endoftext|>"] == tok40k.vocab_size + 2
    assert tok.model.bytes_by_id()[:tok40k.vocab_size] == tok40k.model.bytes_by_id()
    src = tmp_path / "in.txt"
    src.write_text("GIMP<|endoftext|>\n")
    for extra, expected in [([], tok.encode("GIMP<|endoftext|>")),
                            (["--allowed-special", "all"], [tok.piece_to_id(b"GIMP"), tok.vocab_size - 1])]:
        assert main(["encode", "-q", "-m", str(out), str(src), "-o", str(tmp_path / "ids"), *extra]) == 0
        assert (tmp_path / "ids").read_text().split() == [str(i) for i in expected]
