"""The ``bytepiece encode`` command: one output line per document, clear input errors."""
import json
import pathlib
import subprocess
import sys

import pytest


import bytepiece
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
        (["--order", "0"], "--order must be at least 1"),
        (["--vocab-size", "100"], "--vocab-size must be at least 259"),
        (["--min-count", "0"], "--min-count must be at least 1"),
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


# -- commands and options for LM data preparation -------------------------------


def test_version_prints_the_package_version():
    assert run_cli("--version").decode().strip() == f"bytepiece {bytepiece.__version__}"


@pytest.mark.parametrize("command", ["train", "encode", "decode", "sample", "info", "vocab"])
def test_every_command_help_shows_examples(command):
    text = run_cli(command, "--help").decode()
    assert "example" in text and f"bytepiece {command} " in text


def test_info_describes_the_model(tok40k):
    info = json.loads(run_cli("info", "--json", str(MODEL_40K)))
    model = tok40k.model
    assert info["vocab_size"] == tok40k.vocab_size == info["pieces"] + 3
    assert info["special_tokens"] == {"<pad>": 0, "<bos>": 1, "<eos>": 2}
    assert sum(info["length_histogram"].values()) == info["pieces"]
    assert info["length_histogram"]["1"] == 256
    assert info["longest_piece_bytes"] == max(map(len, model.pieces))
    assert info["total_count"] == sum(model.counts)
    text = run_cli("info", str(MODEL_40K)).decode()
    assert "vocabulary size:  39843" in text and "<eos> = 2" in text


def _unescape(field):
    # The inverse of writers.escape_piece.
    out, i = bytearray(), 0
    while i < len(field):
        if field[i] == "\\":
            code = field[i + 1]
            if code == "x":
                out.append(int(field[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"\\": b"\\", "t": b"\t", "n": b"\n", "r": b"\r"}[code]
            i += 2
            continue
        out += field[i].encode()
        i += 1
    return bytes(out)


def test_vocab_lists_every_id_with_piece_count_and_score(tok40k):
    lines = run_cli("vocab", str(MODEL_40K)).decode().split("\n")
    assert lines[0] == "id\tpiece\tcount\tscore" and lines[-1] == ""
    rows = [line.split("\t") for line in lines[1:-1]]
    assert all(len(row) == 4 for row in rows)  # tabs and newlines inside pieces are escaped
    assert [int(row[0]) for row in rows] == list(range(tok40k.vocab_size))
    assert [row[1] for row in rows[:3]] == ["<pad>", "<bos>", "<eos>"]
    model = tok40k.model
    by_id = dict(zip(model.ids, zip(model.pieces, model.counts, model.scores().tolist())))
    for row in rows[3:]:
        piece, count, score = by_id[int(row[0])]
        assert (_unescape(row[1]), int(row[2]), float(row[3])) == (piece, count, score)


def test_inputs_may_be_directories_and_globs(tmp_path, tok40k):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("first file\n")
    (folder / "sub" / "b.txt").write_text("second file\nthird line\n")
    expected = "".join(" ".join(map(str, tok40k.encode(t))) + "\n" for t in ["first file", "second file", "third line"])
    for inputs in ([str(folder)], [str(folder / "**" / "*.txt")], [str(folder / "a.txt"), str(folder / "sub" / "*")]):
        assert run_cli("encode", "-q", "-m", str(MODEL_40K), *inputs).decode() == expected
    assert main(["encode", "-q", "-m", str(MODEL_40K), str(tmp_path / "nothing*.txt")]) == 1


def test_nested_json_fields(tmp_path, tok40k, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"meta": {"text": "nested text"}, "id": 1}) + "\n"
                   + json.dumps({"meta.text": "a dotted key wins", "meta": {"text": "no"}}) + "\n")
    out = run_cli("encode", "-q", "-m", str(MODEL_40K), "--field", "meta.text", "--output-format", "jsonl", str(src))
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert [r["ids"] for r in records] == [tok40k.encode("nested text"), tok40k.encode("a dotted key wins")]
    assert records[0]["meta"] == {"text": "nested text"} and records[0]["id"] == 1
    src.write_text(json.dumps({"meta": {"title": "no text"}}) + "\n")
    assert main(["encode", "-q", "-m", str(MODEL_40K), "--field", "meta.text", str(src)]) == 1
    assert "no field 'meta.text'" in capsys.readouterr().err


def test_add_bos_and_eos_in_every_format(tmp_path, tok40k):
    src = tmp_path / "in.txt"
    src.write_text("one\ntwo words\n")
    out = run_cli("encode", "-q", "-m", str(MODEL_40K), "--add-bos", "--add-eos", str(src)).decode()
    assert out.splitlines() == [" ".join(map(str, [1, *tok40k.encode(t), 2])) for t in ["one", "two words"]]
    out = run_cli("sample", "-q", "-m", str(MODEL_40K), "--add-eos", "--n", "2", "--output-format", "ids", str(src))
    lines = out.decode().splitlines()
    assert len(lines) == 4 and all(line.endswith(" 2") for line in lines)


def test_decode_jsonl_keeps_documents_with_newlines_apart(tmp_path, tok40k):
    docs = ["a poem\nin two lines", "", "one line"]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": d, "id": i}) + "\n" for i, d in enumerate(docs)))
    encoded = tmp_path / "enc.jsonl"
    assert main(["encode", "-q", "-m", str(MODEL_40K), "--field", "text", "--output-format", "jsonl", str(src),
                 "-o", str(encoded)]) == 0
    out = run_cli("decode", "-q", "-m", str(MODEL_40K), "--field", "ids", "--output-format", "jsonl", str(encoded))
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert [r["text"] for r in records] == docs and [r["id"] for r in records] == [0, 1, 2]


def test_decode_of_a_file_that_is_not_ids_says_so(tmp_path, capsys):
    src = tmp_path / "text.jsonl"
    src.write_text(json.dumps({"text": "plain words"}) + "\n")
    assert main(["decode", "-m", str(MODEL_40K), str(src)]) == 1
    err = capsys.readouterr().err
    assert f"{src}:1: not a line of token ids" in err and "--field" in err
    assert "b'" not in err  # no Python bytes dump


def test_binary_output_needs_a_file(capsys):
    assert main(["encode", "-q", "-m", str(MODEL_40K), "--output-format", "bin"]) == 1
    assert "name them with -o" in capsys.readouterr().err


def test_training_progress_shows_every_phase(capsys):
    trainer = bytepiece.Trainer(max_vocab_size=300, order=3)
    trainer.train(["some text to train on, again and again"] * 50, progress=True)
    err = capsys.readouterr().err
    for phase in ("Count n-grams", "Count pieces", "Prune pieces"):
        assert phase in err
    assert "100%" in err  # the piece pass knows its total
    assert "\r" + " " * 72 not in err  # bars fit the terminal rather than a fixed padding


def test_readme_python_example_runs_from_the_clone_root():
    readme = (ROOT / "README.md").read_text()
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    result = subprocess.run([sys.executable, "-c", example], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_an_unbuilt_source_folder_says_how_to_build_it(tmp_path):
    # What a clone's root looks like to Python before `pip install -e .`: the
    # package's sources without the compiled core (-S: no installed copy either).
    package = tmp_path / "bytepiece"
    package.mkdir()
    sources = list(pathlib.Path(bytepiece.__file__).parent.glob("*.py"))  # the clone's, or an installed wheel's
    assert len(sources) > 10
    for source in sources:
        (package / source.name).write_bytes(source.read_bytes())
    result = subprocess.run([sys.executable, "-S", "-c", "import bytepiece"], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert "compiled core" in result.stderr and "pip install -e ." in result.stderr


def test_train_reports_duplication_as_a_one_line_warning(tmp_path, capsys):
    lines = [f"document number {i} with some words {i * 7}" for i in range(300)]
    src = tmp_path / "dup.txt"
    src.write_text("\n".join(lines + lines) + "\n")
    assert main(["train", str(src), "-o", str(tmp_path / "m.model"), "--vocab-size", "300"]) == 0
    err = capsys.readouterr().err
    assert "bytepiece: warning: about 50% of the documents repeat an earlier one" in err
    assert "UserWarning" not in err


# -- no silent surprises: each rough edge a new user hit says what is wrong -------------------


def test_json_lines_without_field_warn_and_name_the_fields(tmp_path, capsys):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n" + json.dumps({"body": "hello world", "id": 1}) + "\n", encoding="utf-8")
    assert main(["encode", "-m", str(MODEL_40K), str(corpus), "-o", str(tmp_path / "ids.txt"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "holds JSON lines" in err and "'body', 'id'" in err and "add --field body" in err
    assert main(["encode", "-m", str(MODEL_40K), "--field", "body", str(corpus), "-q"]) == 0
    assert "warning" not in capsys.readouterr().err
    plain = tmp_path / "plain.txt"
    plain.write_text("{not json} but text\n", encoding="utf-8")
    assert main(["encode", "-m", str(MODEL_40K), str(plain), "-q"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_missing_field_lists_the_fields_there_are(tmp_path, capsys):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": "a", "meta": {}}) + "\n", encoding="utf-8")
    assert main(["encode", "-m", str(MODEL_40K), "--field", "txt", str(corpus)]) == 1
    assert capsys.readouterr().err.strip().endswith("no field 'txt' in this JSON line; its fields: 'text', 'meta'")


def test_an_upper_case_token_file_extension_is_refused_before_any_work(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello\n", encoding="utf-8")
    for name, expected in (("x.BIN", "x.bin"), ("x.Npy", "x.npy")):
        assert main(["encode", "-m", str(MODEL_40K), str(corpus), "-o", str(tmp_path / name)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("bytepiece: error: -o ") and f"use -o {tmp_path / expected}" in err
    assert list(tmp_path.iterdir()) == [corpus]


def test_empty_input_writes_empty_files_and_says_so(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    for command in (["encode"], ["sample", "--alpha", "0.1"]):
        assert main([*command, "-m", str(MODEL_40K), str(empty), "-o", str(tmp_path / "out.bin"), "-q"]) == 0
        assert f"no documents were read from {empty}" in capsys.readouterr().err
        assert (tmp_path / "out.bin").stat().st_size == 0


def test_training_option_errors_name_the_flags(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello\n", encoding="utf-8")
    assert main(["train", str(corpus), "-o", str(tmp_path / "m.model"), "--vocab-size", "100"]) == 1
    assert capsys.readouterr().err == "bytepiece: error: --vocab-size must be at least 259, got 100\n"
    assert main(["train", str(corpus), "-o", str(tmp_path / "m.model"), "--min-count", "0"]) == 1
    assert "--min-count" in capsys.readouterr().err


def test_other_libraries_model_files_point_to_import(tmp_path, capsys):
    hf = tmp_path / "tokenizer.json"
    hf.write_text(json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {}}, "added_tokens": []}))
    for command in (["info", str(hf)], ["encode", "-m", str(hf), str(hf)]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert "Hugging Face tokenizer.json, not a bytepiece model" in err and "bytepiece import --format hf" in err
    sp = tmp_path / "sp.model"
    sp.write_bytes(b"\n\x0b\n\x05<unk>\x15\x00\x00\x00\x00\x18\x02\xff\xfe")
    assert main(["info", str(sp)]) == 1
    assert "bytepiece import --format sentencepiece" in capsys.readouterr().err


def test_folders_skip_hidden_and_pycache_files(tmp_path, capsys):
    (tmp_path / "src" / "__pycache__").mkdir(parents=True)
    (tmp_path / "src" / ".git").mkdir()
    (tmp_path / "src" / "a.py").write_text("print('a')\n")
    (tmp_path / "src" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\x00\xff binary")
    (tmp_path / "src" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "src" / ".hidden").write_text("secret\n")
    assert main(["encode", "-m", str(MODEL_40K), "--whole-file", str(tmp_path / "src"), "-o",
                 str(tmp_path / "out.txt")]) == 0
    assert "encoded 1 documents" in capsys.readouterr().err


def test_top_level_help_names_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    for command in ("train", "encode", "decode", "sample", "info", "vocab", "export", "import", "extend"):
        assert f"    {command}" in shown


def test_export_hf_add_special_chooses_what_add_special_tokens_adds(tmp_path, tok40k, capsys):
    tokenizers = pytest.importorskip("tokenizers")
    out = tmp_path / "t.json"
    assert main(["export", str(MODEL_40K), "--format", "hf", "-o", str(out), "--add-special", "both", "-q"]) == 0
    assert tokenizers.Tokenizer.from_file(str(out)).encode("hi").ids == tok40k.encode("hi", add_bos=True, add_eos=True)
    assert main(["export", str(MODEL_40K), "--format", "sentencepiece", "-o", str(tmp_path / "m.spm"),
                 "--add-special", "bos"]) == 1
    assert "--add-special" in capsys.readouterr().err and not (tmp_path / "m.spm").exists()
