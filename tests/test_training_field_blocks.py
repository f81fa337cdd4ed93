"""Training reads JSON lines by blocks, each line's field found in C
(primitives.chunk_field_blocks): the same batches, chunks, duplicate
estimate, errors and models as reading the documents with json.loads
(chunk_batches of the corpus's documents, the oracle)."""
import json

import pytest

import bytepiece
from bytepiece import Trainer
from bytepiece.corpus import field_pipeline_applies
from bytepiece.training import primitives, thread_engine
from bytepiece.training.primitives import DuplicateEstimate, chunk_batches, chunk_field_blocks
from conftest import SAMPLE, sample_texts

# Lines where the scan's answer and its doubts matter: multi-byte text longer
# than a chunk in characters or only in bytes (a byte count would cut it),
# text NFC changes, escapes, surrogate pairs, a repeated name (json.loads
# keeps the last), nested fields, \r, blank lines, repeated documents.
LINES = [
    json.dumps({"text": "plain ascii words " * 5}),
    json.dumps({"text": "漢字" * 4000}, ensure_ascii=False),  # 8000 characters, 24000 bytes
    json.dumps({"text": "字" * 10500 + "a" * 20}, ensure_ascii=False),  # past the chunk in characters
    json.dumps({"text": "e\u0301 cafe\u0301 \u212b"}, ensure_ascii=False),  # NFC changes it
    json.dumps({"text": "e\u0301 \u00e9 \U0001f600"}),  # escaped, a surrogate pair
    '{"text": "first", "text": "last one"}',
    '{"id": 3, "meta": {"text": "x"}, "text": "nested \\" quote \\\\ and \\n newline\\r"}',
    "",
    "   \t",
    json.dumps({"text": "plain ascii words " * 5}),
    json.dumps({"text": "1234 digits ٣٤٥ and\n\n\n" + "\n" * 150 + "lines"}, ensure_ascii=False),
    json.dumps({"text": ""}),
]


def write_lines(path, lines, end="\n"):
    path.write_bytes(("\n".join(lines) + end).encode("utf-8"))
    return path


def batches(items):
    return [(bytes(p.data), p.offsets.tolist(), n) for p, n in items]


@pytest.mark.parametrize("block_bytes", [1, 100, 1 << 20])
@pytest.mark.parametrize("batch_documents", [1, 3, 1000])
@pytest.mark.parametrize("end", ["\n", ""])
def test_field_blocks_cut_what_json_loads_reads(tmp_path, monkeypatch, block_bytes, batch_documents, end):
    monkeypatch.setattr(primitives, "FIELD_BLOCK_BYTES", block_bytes)
    corpus = bytepiece.Corpus([str(write_lines(tmp_path / "c.jsonl", LINES * 3, end))], field="text")
    assert field_pipeline_applies(corpus)
    seen, expected_seen = DuplicateEstimate(rate=1), DuplicateEstimate(rate=1)
    got = batches(chunk_field_blocks(corpus, batch_documents, seen))
    expected = batches(chunk_batches(list(corpus), False, batch_documents, expected_seen))
    assert got == expected
    assert (seen.sampled, seen.repeats) == (expected_seen.sampled, expected_seen.repeats) != (0, 0)


def test_field_blocks_read_nested_fields_and_replaced_utf8(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"m": {"t": "ok \xff bad"}}\n{"m": {"t": "fine"}, "t": 1}\n')
    corpus = bytepiece.Corpus([str(path)], field="m.t", errors="replace")
    assert batches(chunk_field_blocks(corpus, 10)) == batches(chunk_batches(list(corpus), False, 10))


@pytest.mark.parametrize("bad, errors", [
    ('{"text": "a"', "strict"),  # not JSON
    ('{"other": "a"}', "strict"),  # no field
    ('{"text": 5}', "strict"),  # not a string
    ('["text"]', "strict"),  # not an object
    ('{"text": "lone \\ud800 surrogate"}', "strict"),  # no UTF-8 for it
])
def test_field_blocks_raise_the_errors_of_json_loads(tmp_path, bad, errors):
    path = write_lines(tmp_path / "c.jsonl", LINES[:3] + [bad] + LINES[3:])
    corpus = bytepiece.Corpus([str(path)], field="text", errors=errors)
    with pytest.raises(ValueError) as oracle:
        list(chunk_batches(list(corpus), False, 2))
    with pytest.raises(type(oracle.value)) as raised:
        list(chunk_field_blocks(corpus, 2))
    assert str(raised.value) == str(oracle.value)


def test_field_blocks_name_the_file_and_line_of_invalid_utf8(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"text": "a"}\n\n{"text": "\xc3("}\n')
    corpus = bytepiece.Corpus([str(path)], field="text")
    with pytest.raises(ValueError, match=r"c\.jsonl:3: invalid UTF-8") as raised:
        list(chunk_field_blocks(corpus, 2))
    with pytest.raises(ValueError) as oracle:
        list(corpus)
    assert str(raised.value) == str(oracle.value)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("algorithm", ["em", "0.6.3"])
def test_training_on_a_json_corpus_reads_by_blocks_and_trains_the_same_models(monkeypatch, threads, algorithm):
    corpus = bytepiece.Corpus([str(SAMPLE)], field="text")
    texts = list(corpus)
    calls = []
    real = thread_engine.chunk_field_blocks

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(thread_engine, "chunk_field_blocks", spy)
    by_blocks = Trainer(max_vocab_size=[900, 500], algorithm=algorithm)
    by_blocks.train(corpus, num_threads=threads, batch_size=50, progress=False)
    assert calls == [corpus, corpus]  # both passes read blocks
    oracle = Trainer(max_vocab_size=[900, 500], algorithm=algorithm)
    oracle.train(texts, num_threads=threads, batch_size=50, progress=False)
    assert len(calls) == 2  # a list is read the old way
    assert [m.pieces for m in by_blocks.models()] == [m.pieces for m in oracle.models()]
    assert [m.counts for m in by_blocks.models()] == [m.counts for m in oracle.models()]


def test_digits_and_plain_text_corpora_keep_the_document_path(tmp_path, monkeypatch):
    monkeypatch.setattr(thread_engine, "chunk_field_blocks", None)  # calling it would fail
    path = write_lines(tmp_path / "c.jsonl", [json.dumps({"text": t}) for t in sample_texts(40, seed=4)])
    Trainer(max_vocab_size=300, isolate_digits=True).train(bytepiece.Corpus([str(path)], field="text"),
                                                           progress=False)
    Trainer(max_vocab_size=300).train(bytepiece.Corpus([str(path)]), progress=False)  # lines as documents
