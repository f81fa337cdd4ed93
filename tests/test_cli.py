"""The ``bytepiece encode`` command: one output line per document, clear input errors."""
import json
import subprocess
import sys

import pytest


from bytepiece.cli import main
from conftest import MODEL_40K, ROOT


def test_encode_plain_lines_gives_one_line_of_ids_each(tmp_path, tok40k):
    lines = ["first line 第一行", "", "third\r"]
    src = tmp_path / "in.txt"
    src.write_bytes(("\n".join(lines) + "\n").encode())
    out = tmp_path / "out.ids"
    assert main(["encode", "-q", "-m", str(MODEL_40K), str(src), "-o", str(out)]) == 0
    got = out.read_text().split("\n")[:-1]
    assert got == [" ".join(map(str, tok40k.encode(line))) for line in lines]


def test_encode_json_field_and_pieces_output(tmp_path, tok40k):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "你好 world"}) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    assert main(["encode", "-q", "-m", str(MODEL_40K), "--field", "text", "--output-format", "pieces",
                 str(src), "-o", str(out)]) == 0
    pieces = json.loads(out.read_text())
    assert "".join(pieces) == "你好 world"
    assert [p.encode() for p in pieces] == tok40k.tokenize("你好 world")


def test_encode_seeded_sampling_is_reproducible(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("sample me please\n" * 3)
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        main(["encode", "-q", "-m", str(MODEL_40K), "--alpha", "0.2", "--seed", "5", str(src), "-o", str(out)])
        runs.append(out.read_text())
    assert runs[0] == runs[1]


def test_missing_json_field_names_the_line(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "ok"}\n{"body": "no text"}\n')
    assert main(["encode", "-m", str(MODEL_40K), "--field", "text", str(src), "-o", str(tmp_path / "o")]) == 1
    assert f"{src}:2: no field 'text'" in capsys.readouterr().err


def test_bad_model_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.model"
    bad.write_text("[]")
    assert main(["encode", "-m", str(bad), str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bytepiece: error:") and "expected a JSON object" in err


def test_module_entry_point_reads_stdin():
    result = subprocess.run(
        [sys.executable, "-m", "bytepiece", "encode", "-q", "-m", str(MODEL_40K)],
        input="hello\n".encode(), capture_output=True, cwd=ROOT, check=True,
    )
    assert result.stdout.decode().strip() != ""


SAMPLE = ROOT / "data" / "sample.jsonl"


def test_train_then_encode_with_the_new_model(tmp_path, capsys):
    model = tmp_path / "sample.model"
    assert main(["train", "--field", "text", str(SAMPLE), "--vocab-size", "3000", "--workers", "2",
                 "-o", str(model)]) == 0
    err = capsys.readouterr().err
    assert "bytes/token on the training data" in err and "count n-grams" in err
    from bytepiece import Tokenizer

    tok = Tokenizer(str(model))
    assert tok.vocab_size <= 3000
    assert main(["encode", "-q", "-m", str(model), "--field", "text", str(SAMPLE), "-o", str(tmp_path / "ids")]) == 0
    assert len((tmp_path / "ids").read_text().splitlines()) == 1526


def test_train_reads_plain_lines_whole_files_gzip_and_stdin_alike(tmp_path):
    import gzip

    docs = [json.loads(line)["text"].replace("\n", " ") for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    plain = tmp_path / "corpus.txt"
    plain.write_text("\n".join(docs) + "\n", encoding="utf-8")
    (tmp_path / "corpus.txt.gz").write_bytes(gzip.compress(plain.read_bytes()))
    outputs = []
    for source in ["corpus.txt", "corpus.txt.gz"]:
        out = tmp_path / f"{source}.model"
        assert main(["train", "-q", str(tmp_path / source), "--vocab-size", "2000", "-o", str(out)]) == 0
        outputs.append(out.read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "bytepiece", "train", "-q", "--vocab-size", "2000", "-o", str(tmp_path / "stdin.model")],
        input=plain.read_bytes(), capture_output=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    outputs.append((tmp_path / "stdin.model").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert main(["train", "-q", "--whole-file", str(plain), "--vocab-size", "2000", "-o", str(tmp_path / "w")]) == 0


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--order", "0"], "order must be at least 1"),
        (["--vocab-size", "100"], "max_vocab_size must be at least 259"),
        (["--min-count", "0"], "min_count must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--workers", "0"], "--threads must be at least 1"),  # --workers: the thread count's old name
    ],
)
def test_train_rejects_nonsensical_options(tmp_path, capsys, extra, message):
    assert main(["train", str(SAMPLE), "--field", "text", "-o", str(tmp_path / "m"), *extra]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_train_input_errors_name_the_place(tmp_path, capsys):
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"text": "ok"}\n{"text": 3}\n')
    assert main(["train", "--field", "text", str(bad_json), "-o", str(tmp_path / "m")]) == 1
    assert f"{bad_json}:2: field 'text' is int" in capsys.readouterr().err

    bad_utf8 = tmp_path / "bad.txt"
    bad_utf8.write_bytes(b"fine line\nbroken \xff line\n")
    assert main(["train", str(bad_utf8), "-o", str(tmp_path / "m")]) == 1
    assert f"{bad_utf8}:2: invalid UTF-8 at byte 7" in capsys.readouterr().err
    assert main(["train", "-q", "--errors", "replace", str(bad_utf8), "-o", str(tmp_path / "m")]) == 0

    assert main(["train", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "m")]) == 1
    assert "No such file" in capsys.readouterr().err

    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["train", str(empty), "-o", str(tmp_path / "m")]) == 1
    assert "no text to train on" in capsys.readouterr().err


def test_lines_split_on_newline_only_so_carriage_returns_stay(tmp_path):
    from bytepiece import Corpus

    path = tmp_path / "crlf.txt"
    path.write_bytes(b"one\r\ntwo\rthree\n\nlast")
    assert list(Corpus([str(path)])) == ["one\r", "two\rthree", "", "last"]


def run_cli(*args, stdin=b""):
    result = subprocess.run([sys.executable, "-m", "bytepiece", *args], input=stdin, capture_output=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


ROUND_TRIP = "first line\n\n  indented\twith tab\r\nwindows line\r\n中文，标点。\n😀 emoji\n\n\nlast line\n".encode()


@pytest.mark.parametrize("options", [[], ["--alpha", "0.3", "--seed", "2"], ["--alpha", "0", "--sampler", "viterbi"]])
def test_encode_then_decode_reproduces_the_input_byte_for_byte(options):
    ids = run_cli("encode", "-q", "-m", str(MODEL_40K), "--threads", "2", *options, stdin=ROUND_TRIP)
    assert ids.count(b"\n") == ROUND_TRIP.count(b"\n")
    assert run_cli("decode", "-q", "-m", str(MODEL_40K), stdin=ids) == ROUND_TRIP


def test_round_trip_normalizes_to_nfc():
    text = "cafe\u0301\n".encode()
    ids = run_cli("encode", "-q", "-m", str(MODEL_40K), stdin=text)
    assert run_cli("decode", "-q", "-m", str(MODEL_40K), stdin=ids) == "caf\u00e9\n".encode()


def test_seeded_encode_does_not_depend_on_threads_or_batch_size(tmp_path, tok40k):
    docs = [f"line {i} 第{i}行 with some text" for i in range(50)]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(docs) + "\n", encoding="utf-8")
    outputs = set()
    for threads, batch in [("1", "1000"), ("2", "7"), ("3", "1")]:
        out = tmp_path / f"out{threads}"
        assert main(["encode", "-q", "-m", str(MODEL_40K), "--alpha", "0.2", "--seed", "9", "--threads", threads,
                     "--batch-size", batch, str(src), "-o", str(out)]) == 0
        outputs.add(out.read_text())
    assert len(outputs) == 1
    expected = tok40k.encode_batch(docs, alpha=0.2, seed=9)
    assert outputs.pop().splitlines() == [" ".join(map(str, ids)) for ids in expected]


def test_jsonl_output_keeps_the_input_record(tmp_path, tok40k):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 7, "text": "keep my id"}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["encode", "-q", "-m", str(MODEL_40K), "--field", "text", "--output-format", "jsonl", str(src),
                 "-o", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record == {"id": 7, "text": "keep my id", "ids": tok40k.encode("keep my id")}
    ids = tmp_path / "ids.jsonl"
    ids.write_text(out.read_text())
    assert run_cli("decode", "-q", "-m", str(MODEL_40K), "--field", "ids", str(ids)) == b"keep my id\n"


def test_sample_writes_n_segmentations_per_document(tmp_path, tok40k):
    src = tmp_path / "corpus.jsonl"
    docs = [f"document {i}: 数据增强 subword regularization" for i in range(30)]
    src.write_text("".join(json.dumps({"text": d, "n": i, "samples": "old"}) + "\n" for i, d in enumerate(docs)),
                   encoding="utf-8")
    outputs = []
    for threads, batch in [("1", "1000"), ("2", "4")]:
        out = tmp_path / f"aug{threads}.jsonl"
        assert main(["sample", "-q", "-m", str(MODEL_40K), "--n", "4", "--alpha", "0.1", "--seed", "1",
                     "--threads", threads, "--batch-size", batch, "--field", "text", str(src), "-o", str(out)]) == 0
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]
    records = [json.loads(line) for line in outputs[0].splitlines()]
    assert [r["n"] for r in records] == list(range(30))
    assert all(line.count('"samples"') == 1 for line in outputs[0].splitlines())  # replaced, not repeated
    for record in records:
        assert len(record["samples"]) == 4
        assert all(tok40k.decode(ids) == record["text"] for ids in record["samples"])
    assert records[0]["samples"] == tok40k.sample(docs[0], 4, alpha=0.1, seed=1)
    assert len({tuple(s) for r in records for s in r["samples"]}) > 60


def test_decode_errors_name_the_line(tmp_path, capsys):
    bad = tmp_path / "bad.ids"
    bad.write_text("5 6 7\n5 x 7\n")
    assert main(["decode", "-m", str(MODEL_40K), str(bad)]) == 1
    assert f"{bad}:2:" in capsys.readouterr().err
    bad.write_text("5 6 7\n99999999\n")
    assert main(["decode", "-m", str(MODEL_40K), str(bad)]) == 1
    assert f"{bad}:2: unknown token id 99999999" in capsys.readouterr().err


def test_sample_rejects_a_negative_alpha(tmp_path, capsys):
    assert main(["sample", "-m", str(MODEL_40K), "--alpha", "-1", str(SAMPLE), "--field", "text"]) == 1
    assert "--alpha must be >= 0" in capsys.readouterr().err
