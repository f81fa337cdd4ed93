"""The ``bytepiece encode`` command: one output line per document, clear input errors."""
import json
import subprocess
import sys


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
