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
        (["--workers", "0"], "--workers must be at least 1"),
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
