"""Golden files: our ids must equal BytePiece 0.6.3's, document for document."""
import gzip
import json

from conftest import FIXTURES


def load_golden():
    with gzip.open(FIXTURES / "plus.40k.golden.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_every_golden_document_matches_bytepiece_063(tok40k):
    golden = load_golden()
    assert len(golden) == 1521
    mismatches = [i for i, doc in enumerate(golden) if tok40k.encode(doc["text"]) != doc["ids"]]
    assert mismatches == [], f"{len(mismatches)} documents differ, first: {golden[mismatches[0]]['text'][:80]!r}"


def test_golden_ids_decode_back_to_nfc_text(tok40k):
    import unicodedata

    for doc in load_golden():
        assert tok40k.decode(doc["ids"]) == unicodedata.normalize("NFC", doc["text"])
