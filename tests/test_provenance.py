"""A trained model records how it was made (docs/spec/model.md §10): written
where BytePiece 0.6.3 still loads it, read by both readers alike, kept by
every edit, shown by `bytepiece info`, and never a change of ids."""
import base64
import json
import pickle
import subprocess
import sys

import pytest

import bytepiece
from bytepiece import Trainer
from bytepiece.formats.native import _load_plain_model, dump_model, load_model, parse_model, save_model
from bytepiece.model import MAX_PROVENANCE_BYTES, model_from_counts
from bytepiece.training.options import TrainingOptions
from bytepiece.training.provenance import options_of
from conftest import TINY_COUNTS, sample_texts

TINY = model_from_counts(TINY_COUNTS, add_missing_bytes=True)



@pytest.fixture(scope="module", params=["em", "0.6.3"])
def trained(request):
    texts = sample_texts(300, seed=5)
    trainer = Trainer(algorithm=request.param, min_count=2, max_vocab_size=[900, 600], order=4)
    trainer.train(texts, progress=False)
    return texts, trainer


def read_like_063(raw: bytes):
    """What BytePiece 0.6.3's Tokenizer takes from a model file: each entry's id first and count last."""
    data = json.loads(raw)
    return {base64.b64decode(k): (v[0], v[-1]) for k, v in data.items()}


def test_a_trained_model_records_its_options_corpus_and_version(trained):
    texts, trainer = trained
    for model in trainer.models():
        record = model.provenance
        assert record["bytepiece"] == bytepiece.__version__
        assert record["algorithm"] == trainer.options.algorithm
        assert options_of(record) == trainer.options  # every option, defaults filled in, comes back
        assert record["corpus"] == {"documents": len(texts), "bytes": trainer.stats.bytes}
        assert record["corpus"]["bytes"] >= sum(len(t.encode("utf-8")) for t in texts)
        assert record["min_count"] == trainer.stats.min_count == 2


def test_the_provenance_round_trips_through_the_file_on_the_fast_path(trained, tmp_path):
    _, trainer = trained
    for path in trainer.save(tmp_path / "m.model"):
        raw = open(path, "rb").read()
        fast = _load_plain_model(raw)
        assert fast is not None  # one four-item entry, a provenance: still the one-pass reader
        general = parse_model(json.loads(raw))
        assert fast == general == load_model(path)
        assert fast.provenance == general.provenance and fast.provenance["corpus"]["documents"] == 300
        assert options_of(load_model(path).provenance) == trainer.options


def test_the_provenance_changes_no_id_and_063_reads_the_same_vocabulary(trained, tmp_path):
    texts, trainer = trained
    model = trainer.models()[0]
    bare = model.with_provenance(None)
    save_model(model, tmp_path / "with.model")
    save_model(bare, tmp_path / "without.model")
    with_raw, without_raw = (tmp_path / "with.model").read_bytes(), (tmp_path / "without.model").read_bytes()
    assert b'"provenance"' in with_raw and b'"provenance"' not in without_raw
    assert read_like_063(with_raw) == read_like_063(without_raw)
    assert model.fingerprint() == bare.fingerprint() and model == bare  # equal vocabularies
    tok, bare_tok = bytepiece.Tokenizer(model), bytepiece.Tokenizer(bare)
    assert tok.encode_batch(texts[:50]) == bare_tok.encode_batch(texts[:50])


def test_training_twice_writes_the_same_file(tmp_path):
    texts = sample_texts(120, seed=1)
    files = []
    for run in range(2):
        trainer = Trainer(algorithm="em", min_count=2, max_vocab_size=500)
        trainer.train(texts, progress=False, num_threads=1 + run)
        files.append(open(trainer.save(tmp_path / f"run{run}.model")[0], "rb").read())
    assert files[0] == files[1]


def test_edits_and_pickling_keep_the_provenance(trained):
    _, trainer = trained
    model = trainer.models()[0]
    record = model.provenance
    assert model.with_special_tokens(["<|x|>"]).provenance == record
    assert model.extend([b"zzqq"], [None]).provenance == record
    assert pickle.loads(pickle.dumps(model)) == model and pickle.loads(pickle.dumps(model)).provenance == record
    record["bytepiece"] = "changed"  # a fresh dict each time: the model stays as it was
    assert model.provenance["bytepiece"] == bytepiece.__version__


@pytest.mark.parametrize("provenance, error", [
    ({"a": float("nan")}, ValueError), ({"a": (1, 2)}, ValueError), ({1: "x"}, ValueError),
    ({"a": object()}, ValueError), (["not", "an", "object"], TypeError),
    ({"a": "x" * MAX_PROVENANCE_BYTES}, ValueError),
])
def test_a_provenance_that_is_not_plain_json_is_refused(provenance, error):
    with pytest.raises(error, match="provenance"):
        TINY.with_provenance(provenance)


def entries_with(options_by_key):
    data = dump_model(TINY)
    for key, options in options_by_key.items():
        token_id, text, *_, count = data[key]
        data[key] = [token_id, text, options, count]
    return data


FIRST, SECOND = (base64.b64encode(bytes([b])).decode() for b in (0, 1))


@pytest.mark.parametrize("data, message", [
    (entries_with({SECOND: {"provenance": {"a": 1}}}), "only the first entry"),
    (entries_with({FIRST: {"provenance": {"a": 1}}, SECOND: {"provenance": {"a": 1}}}), "only the first entry"),
    (entries_with({FIRST: {"provenance": [1]}}), "must be an object"),
    (entries_with({FIRST: {"provenance": {"a": 1}, "other": 2}}), "options of piece"),
])
def test_a_misplaced_or_malformed_provenance_is_refused_with_its_piece(data, message, tmp_path):
    raw = json.dumps(data).encode("utf-8")
    assert _load_plain_model(raw) is None
    path = tmp_path / "bad.model"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=message) as caught:
        load_model(path)
    assert str(path) in str(caught.value)


def test_a_provenance_beside_explicit_scores_round_trips(tmp_path):
    extended = TINY.extend([b"bbbb"], [None]).with_provenance({"note": "imported, then extended"})
    save_model(extended, tmp_path / "x.model")
    again = load_model(tmp_path / "x.model")
    assert again == extended and again.provenance == {"note": "imported, then extended"}


def test_info_shows_how_the_model_was_made(trained, tmp_path):
    _, trainer = trained
    path = trainer.save(tmp_path / "m.model")[0]
    shown = subprocess.run([sys.executable, "-m", "bytepiece", "info", path], capture_output=True, text=True,
                           check=True).stdout
    assert f"trained with:     bytepiece {bytepiece.__version__}, algorithm {trainer.options.algorithm}" in shown
    assert "training corpus:  300 documents" in shown and "max_vocab_size=[900, 600]" in shown
    summary = json.loads(subprocess.run([sys.executable, "-m", "bytepiece", "info", "--json", path],
                                        capture_output=True, text=True, check=True).stdout)
    assert TrainingOptions(**summary["provenance"]["options"]) == trainer.options
    save_model(TINY, tmp_path / "bare.model")
    shown = subprocess.run([sys.executable, "-m", "bytepiece", "info", str(tmp_path / "bare.model")],
                           capture_output=True, text=True, check=True).stdout
    assert "trained with:     not recorded" in shown
