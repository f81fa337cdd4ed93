"""Inputs that are read once, change, never end or ask for too much: each is
read or refused, and the work stays bounded.

Every hostile case runs in a child process with a time and a memory cap
(tests/hostile.py): a hang, a crash or runaway memory fails the case, not the
test run.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap

import pytest

from conftest import MODEL_40K, ROOT
from hostile import expect_cli_error, expect_error, expect_ok, run_capped, run_cli, run_python

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/fd are POSIX")

SAMPLE = ROOT / "data" / "sample.jsonl"
PYTHON = shlex.quote(sys.executable)
CAPS = dict(cwd=str(ROOT))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The sample's documents, one per line (as a plain text corpus)."""
    texts = [json.loads(line)["text"].replace("\n", " ") for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    (path.parent / "corpus.txt.gz").write_bytes(gzip.compress(path.read_bytes()))
    return path


@pytest.fixture(scope="module")
def regular_model(corpus, tmp_path_factory):
    """The model trained on the regular file, that every other way of reading it must give."""
    out = tmp_path_factory.mktemp("model") / "regular.model"
    expect_ok(run_cli(["train", "-q", *TRAIN, str(corpus), "-o", str(out)], **CAPS))
    return out.read_bytes()


TRAIN = ["--vocab-size", "1000", "--threads", "2"]


class FifoWriter:
    """A process that writes ``data`` into a new FIFO once a reader opens it
    (and is stopped at the end of the block, whatever happened)."""

    def __init__(self, fifo, data: bytes) -> None:
        os.mkfifo(fifo)
        source = f"{fifo}.data"  # not a pipe to the writer: it would fill while the writer waits for a reader
        with open(source, "wb") as f:
            f.write(data)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys\ndata = open(sys.argv[1], 'rb').read()\n"
             "with open(sys.argv[2], 'wb') as f:\n    f.write(data)", source, str(fifo)])

    def __enter__(self) -> "FifoWriter":
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def bash(script: str, **caps):
    """Run a bash script (for process substitution) in a capped child."""
    return run_capped(["bash", "-c", script], **{**CAPS, **caps})


def with_document_limit(limit: int, code: str) -> str:
    """Python code that lowers ``validation.MAX_DOCUMENT_BYTES`` to ``limit`` first."""
    return f"from bytepiece import validation\nvalidation.MAX_DOCUMENT_BYTES = {limit}\n" + textwrap.dedent(code)


def expect_limited_cli_error(limit: int, args, match: str, **caps) -> str:
    """``bytepiece ARGS`` with MAX_DOCUMENT_BYTES lowered to ``limit``
    refused as the command line promises: exit 1, one error line, no traceback."""
    code = with_document_limit(limit, "import sys\nfrom bytepiece.cli import main\nsys.exit(main(sys.argv[1:]))")
    outcome = run_capped([sys.executable, "-c", code, *map(str, args)], **{**CAPS, **caps})
    assert not outcome.timed_out and not outcome.crashed, outcome.describe()
    assert "Traceback" not in outcome.stderr, outcome.describe()
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert outcome.returncode == 1 and len(lines) == 1 and lines[0].startswith("bytepiece: error:"), \
        outcome.describe()
    assert re.search(match, lines[0]), lines[0]
    return lines[0]


# -- reading once: encode, sample and decode --------------------------------------


def test_encode_reads_a_fifo_as_its_writer_writes(corpus, tmp_path):
    expected = expect_ok(run_cli(["encode", "-q", "-m", MODEL_40K, corpus], **CAPS)).stdout
    with FifoWriter(tmp_path / "fifo", corpus.read_bytes()):
        got = expect_ok(run_cli(["encode", "-q", "-m", MODEL_40K, tmp_path / "fifo"], timeout=60, **CAPS)).stdout
    assert got == expected and got.count("\n") == corpus.read_bytes().count(b"\n")


def test_sample_and_decode_read_a_fifo(corpus, tmp_path):
    options = ["-q", "-m", MODEL_40K, "--n", "2", "--seed", "3", "--output-format", "ids"]
    expected = expect_ok(run_cli(["sample", *options, corpus], **CAPS)).stdout
    with FifoWriter(tmp_path / "fifo", corpus.read_bytes()):
        assert expect_ok(run_cli(["sample", *options, tmp_path / "fifo"], **CAPS)).stdout == expected
    ids = expect_ok(run_cli(["encode", "-q", "-m", MODEL_40K, corpus], **CAPS)).stdout
    with FifoWriter(tmp_path / "ids", ids.encode()):
        decoded = expect_ok(run_cli(["decode", "-q", "-m", MODEL_40K, tmp_path / "ids"], **CAPS)).stdout
    assert decoded == corpus.read_text(encoding="utf-8")


def test_encode_reads_dev_stdin_and_process_substitution(corpus):
    expected = expect_ok(run_cli(["encode", "-q", "-m", MODEL_40K, corpus], **CAPS)).stdout
    assert expect_ok(run_cli(["encode", "-q", "-m", MODEL_40K, "/dev/stdin"], input=corpus.read_bytes(),
                             **CAPS)).stdout == expected
    script = f"{PYTHON} -m bytepiece encode -q -m {shlex.quote(str(MODEL_40K))} <(cat {shlex.quote(str(corpus))})"
    assert expect_ok(bash(script)).stdout == expected


def test_reading_a_fifo_once_is_refused_a_second_time(tmp_path):
    fifo = tmp_path / "fifo"
    code = f"""
        from bytepiece import Corpus
        corpus = Corpus([{str(fifo)!r}], spool=False)
        assert corpus.total_bytes() is None  # no size claimed, and the FIFO not opened to find one
        assert list(corpus) == ["one", "two"]
        list(corpus)
    """
    with FifoWriter(fifo, b"one\ntwo\n"):
        expect_error(code, r"ValueError: .*fifo is not a regular file .* read only once, and it was read already")


def test_a_fifo_named_twice_is_refused_before_reading(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: opening it would wait forever
    expect_error(f"from bytepiece import Corpus\nCorpus([{str(fifo)!r}, {str(tmp_path)!r} + '/./fifo'])",
                 "same input, which is not a regular file", timeout=30)
    expect_cli_error(["encode", "-m", MODEL_40K, "-", "/dev/stdin"], "standard input|same input", **CAPS)


def test_missing_and_unreadable_inputs_fail_before_any_work(tmp_path):
    expect_cli_error(["encode", "-m", MODEL_40K, tmp_path / "missing.txt"], "No such file.*missing.txt", **CAPS)
    expect_error(f"""
        import os
        from bytepiece import corpus
        os.access = lambda path, mode: False  # as for a file without read permission (the tests may run as root)
        corpus.expand_paths([{str(SAMPLE)!r}])
    """, "PermissionError: .*sample.jsonl")


# -- reading twice: train ----------------------------------------------------------


@pytest.mark.parametrize("how", ["stdin", "dash", "dev-stdin", "process-substitution", "fifo", "zcat"])
def test_train_on_a_pipe_gives_the_regular_files_model(how, corpus, regular_model, tmp_path):
    out = tmp_path / "m.model"
    command = [sys.executable, "-m", "bytepiece", "train", "-q", *TRAIN, "-o", str(out)]
    if how in ("stdin", "dash", "dev-stdin"):
        files = {"stdin": [], "dash": ["-"], "dev-stdin": ["/dev/stdin"]}[how]
        expect_ok(run_capped(command + files, input=corpus.read_bytes(), **CAPS))
    elif how == "fifo":
        with FifoWriter(tmp_path / "fifo", corpus.read_bytes()):
            expect_ok(run_capped(command + [str(tmp_path / "fifo")], **CAPS))
    else:
        source = shlex.quote(str(corpus) + ".gz") if how == "zcat" else shlex.quote(str(corpus))
        reader = "zcat" if how == "zcat" else "cat"
        expect_ok(bash(" ".join(map(shlex.quote, command)) + f" <({reader} {source})"))
    assert out.read_bytes() == regular_model


def test_train_reads_whole_files_and_json_lines_from_pipes_alike(corpus, tmp_path):
    records = tmp_path / "records.jsonl"
    texts = corpus.read_text(encoding="utf-8").splitlines()
    records.write_text("".join(json.dumps({"meta": {"text": t}}) + "\n" for t in texts), encoding="utf-8")
    for options, path in [(["--field", "meta.text"], records), (["--whole-file"], corpus)]:
        models = []
        for source in [shlex.quote(str(path)), f"<(cat {shlex.quote(str(path))})"]:
            out = tmp_path / f"m{len(models)}.model"
            expect_ok(bash(f"{PYTHON} -m bytepiece train -q {' '.join(TRAIN + options)} -o {out} {source}"))
            models.append(out.read_bytes())
        assert models[0] == models[1], options


def test_train_leaves_no_temporary_file_behind(corpus, tmp_path):
    spool = tmp_path / "tmp"
    spool.mkdir()
    env = {"TMPDIR": str(spool)}
    expect_ok(run_cli(["train", "-q", *TRAIN, "-o", tmp_path / "m.model"], input=corpus.read_bytes(), env=env,
                      **CAPS))
    bad = corpus.read_bytes() + b"a last line with \xff in it\n"
    expect_cli_error(["train", "-q", *TRAIN, "-o", tmp_path / "n.model"], r"<stdin>:1527: invalid UTF-8",
                     input=bad, env=env, **CAPS)
    assert list(spool.iterdir()) == []  # the copy never had a name there
    assert not (tmp_path / "n.model").exists()


def test_a_corpus_that_changes_between_passes_is_refused(tmp_path):
    changing = """
        import bytepiece
        class Changing:
            passes = 0
            def __iter__(self):
                self.passes += 1
                return iter(["some text to train on, again and again"] * (50 if self.passes == 1 else 49))
        bytepiece.Trainer(max_vocab_size=300, order=3).train(Changing(), progress=False)
    """
    expect_error(changing, r"ValueError: the corpus changed between the two passes.* 50 documents.* 49 documents")
    # What a pipe read twice looks like: the second pass finds nothing (it was a bytes-only model).
    exhausted = """
        import bytepiece
        texts = (line for line in ["some text to train on, again and again"] * 50)
        class SameIterator:
            def __iter__(self):
                return texts
        bytepiece.Trainer(max_vocab_size=300, order=3).train(SameIterator(), progress=False)
    """
    expect_error(exhausted, r"ValueError: the corpus changed between the two passes.* the second 0 documents")
    path = tmp_path / "growing.txt"
    path.write_text("some text to train on, again and again\n" * 50)
    growing = f"""
        import bytepiece
        corpus = bytepiece.Corpus([{str(path)!r}])
        class Growing:
            passes = 0
            def __iter__(self):
                self.passes += 1
                if self.passes == 2:
                    with open({str(path)!r}, "a") as f:
                        f.write("one more line\\n" * 3000)
                return iter(corpus)
        bytepiece.Trainer(max_vocab_size=300, order=3).train(Growing(), progress=False, batch_size=7)
    """
    expect_error(growing, r"ValueError: the corpus changed between the two passes.* the second more than 50 documents")


@pytest.mark.parametrize("texts", ["(t for t in ['abc'] * 10)", "iter(['abc'] * 10)", "map(str, ['abc'] * 10)",
                                   f"open({str(SAMPLE)!r})"])
def test_iterators_are_refused_before_training(texts):
    expect_error(f"import bytepiece\nbytepiece.Trainer(max_vocab_size=300).train({texts})",
                 r"TypeError: texts is an iterator .*read only once.* pass a list, a bytepiece.Corpus, or another "
                 r"re-iterable")


def test_training_on_a_corpus_read_once_is_refused_at_its_second_pass():
    code = """
        import bytepiece
        bytepiece.Trainer(max_vocab_size=300, order=3).train(bytepiece.Corpus(["-"], spool=False), progress=False)
    """
    outcome = run_python(code, input=b"some text to train on, again and again\n" * 50, **CAPS)
    assert outcome.returncode == 3 and "<stdin> is not a regular file" in outcome.stdout and \
        "read only once" in outcome.stdout, outcome.describe()


# -- threads -----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "encode", "sample"])
def test_thread_counts_past_the_limit_are_refused(command, corpus, tmp_path):
    args = [command, "--threads", "100000", corpus, "-o", tmp_path / "out"]
    if command != "train":
        args += ["-m", MODEL_40K]
    expect_cli_error(args, r"--threads must be at most 1024, got 100000", **CAPS)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("call", [
    "bytepiece.Trainer(max_vocab_size=300).train(['abc'], num_threads=100000)",
    "bytepiece.Trainer(max_vocab_size=300).train(['abc'], workers=100000)",
    "tok.encode_batch(['abc'], num_threads=10**6)",
    "tok.encode_batch_numpy(['abc'], num_threads=2**70)",
])
def test_the_api_refuses_thread_counts_past_the_limit(call):
    expect_error(f"import bytepiece\ntok = bytepiece.Tokenizer({str(MODEL_40K)!r})\n{call}",
                 r"ValueError: (num_threads|workers) must be at most 1024")


def test_the_largest_thread_count_on_a_tiny_corpus_is_quick_and_small(corpus, tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("".join(corpus.read_text(encoding="utf-8").splitlines(keepends=True)[:300]), encoding="utf-8")
    expect_ok(run_cli(["train", "-q", "--threads", "1024", "--vocab-size", "300", tiny, "-o", tmp_path / "m"],
                      timeout=60, memory_mb=1024, **CAPS))
    expect_ok(run_cli(["encode", "-q", "--threads", "1024", "-m", MODEL_40K, tiny, "-o", tmp_path / "ids"],
                      timeout=60, memory_mb=1024, **CAPS))
    outcome = run_python(f"""
        import bytepiece
        tok = bytepiece.Tokenizer({str(MODEL_40K)!r})
        texts = open({str(tiny)!r}, encoding="utf-8").read().splitlines()
        assert tok.encode_batch(texts, num_threads=1024) == tok.encode_batch(texts, num_threads=1)
        trainer = bytepiece.Trainer(max_vocab_size=300)
        trainer.train(texts, num_threads=1024, progress=False)
        assert trainer.stats["num_threads"] <= len(__import__("os").sched_getaffinity(0))
    """, timeout=60, memory_mb=1024)
    expect_ok(outcome)


# -- the size of one document ------------------------------------------------------


@pytest.mark.parametrize("command", [["encode", "-m", MODEL_40K], ["sample", "-m", MODEL_40K], ["train", "-o"]])
def test_a_line_that_never_ends_is_refused_at_the_limit(command, tmp_path):
    args = [*command, tmp_path / "m"] if command[0] == "train" else command
    expect_limited_cli_error(1 << 20, [*args, "/dev/zero"],
                             r"/dev/zero:1: this line is longer than 1048576 bytes, the most one document may hold "
                             r"\(bytepiece.validation.MAX_DOCUMENT_BYTES\)", timeout=30, memory_mb=1024)


@pytest.mark.parametrize("command", [["encode", "-m", MODEL_40K], ["train", "-o"]])
def test_an_endless_whole_file_is_refused_at_the_limit(command, tmp_path):
    args = [*command, tmp_path / "m"] if command[0] == "train" else command
    expect_limited_cli_error(1 << 20, [*args, "--whole-file", "/dev/zero"],
                             r"/dev/zero: this file \(read whole, as one document\) is longer than 1048576 bytes",
                             timeout=30, memory_mb=1024)


def test_the_default_limit_holds_within_the_memory_cap(tmp_path):
    # 1 GiB of zeros is read (never twice that), then refused: within the default 1.5 GB cap.
    expect_cli_error(["train", "--whole-file", "/dev/zero", "-o", tmp_path / "m"],
                     r"/dev/zero: this file \(read whole, as one document\) is longer than 1073741824 bytes",
                     timeout=120, **CAPS)


def test_a_long_line_inside_a_corpus_is_named_and_the_rest_not_read(tmp_path):
    path = tmp_path / "long.txt"
    with open(path, "wb") as f:
        f.write(b"short line\n" + b"x" * 1000 + b"\n" + b"x" * 1001 + b"\nnever read\n")
    expect_limited_cli_error(1000, ["encode", "-q", "-m", MODEL_40K, path],
                             rf"{path}:3: this line is longer than 1000 bytes")
    expect_limited_cli_error(1000, ["train", "-q", path, "-o", tmp_path / "m"],
                             rf"{path}:3: this line is longer than 1000 bytes")
    expect_limited_cli_error(1000, ["train", "-q", "--whole-file", path, "-o", tmp_path / "m"],
                             rf"{path}: this file of 2025 bytes .* is longer than 1000 bytes")
    assert not (tmp_path / "m").exists()
    # Lines up to the limit (here 1000 bytes) are documents like any other.
    path.write_bytes(b"short line\n" + b"x" * 1000 + b"\n")
    outcome = run_capped([sys.executable, "-c", with_document_limit(1000, """
        import sys
        from bytepiece import Corpus
        corpus = Corpus(sys.argv[1:])
        print([len(text) for text in corpus])
        print([len(text) for text in corpus])  # stdin from its temporary copy
    """), str(path), "-"], input=path.read_bytes(), **CAPS)
    assert expect_ok(outcome).stdout == "[10, 1000, 10, 1000]\n" * 2


def test_a_huge_json_line_and_deep_nesting_are_clear_errors(tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"text": "fine"}\n{"text": ' + "[" * 100000 + "\n")
    expect_cli_error(["encode", "-m", MODEL_40K, "--field", "text", deep],
                     rf"{deep}:2: this JSON line is nested too deeply", **CAPS)


@pytest.mark.parametrize("call,ok", [
    ("tok.encode('a' * 1000)", True),
    ("tok.encode('a' * 1001)", False),
    ("tok.encode('\u00e9' * 500)", True),  # 1000 bytes of UTF-8
    ("tok.encode('\u00e9' * 501)", False),
    ("tok.encode('e\u0301' * 334)", False),  # 1002 bytes as given, 668 after NFC: the limit is on the input
    ("tok.encode('\U0001F600' * 251)", False),
    ("tok.encode(b'a' * 1001)", False),
    ("tok.encode(bytearray(1001))", False),
    ("tok.encode('a' * 1001, alpha=0.1, seed=1)", False),
    ("tok.encode('a' * 1001, allowed_special='all')", False),
    ("tok.tokenize('a' * 1001)", False),
    ("tok.encode_batch(['ok', 'a' * 1001])", False),
    ("tok.encode_batch(['ok'] * 3000 + ['\u00e9' * 501], num_threads=2)", False),
    ("tok.encode_batch_numpy([b'a' * 1001])", False),
    ("tok.encode_batch_numpy(['\u00e9' * 500] * 3)", True),
    ("tok.sample('a' * 1001, 2)", False),
])
def test_the_encoding_api_refuses_a_text_past_the_limit(call, ok):
    code = with_document_limit(1000, f"import bytepiece\ntok = bytepiece.Tokenizer({str(MODEL_40K)!r})\n{call}\n")
    if ok:
        expect_ok(run_python(code))
    else:
        expect_error(code, r"ValueError: a text of \d+ (bytes of UTF-8|characters) .*is longer than 1000 bytes, "
                           r"the most one document may hold")


# -- the command line's one error line ---------------------------------------------


@pytest.mark.parametrize("error,match", [
    (MemoryError(), r"^bytepiece: error: out of memory: use fewer --threads"),
    (MemoryError("a shard holds 9 GB"), r"^bytepiece: error: out of memory \(a shard holds 9 GB\)"),
    (KeyError("piece"), r"^bytepiece: error: internal error \(KeyError: 'piece'\); this is a bug"),
    (RecursionError("too deep"), r"^bytepiece: error: internal error \(RecursionError: too deep\)"),
    (OverflowError("int too large to convert"), r"^bytepiece: error: int too large to convert$"),
    (ValueError("a.txt\nb: bad"), r"^bytepiece: error: a.txt\\nb: bad$"),
])
def test_every_failure_is_one_error_line(monkeypatch, capsys, error, match):
    from bytepiece import cli

    def fail(args):
        raise error

    monkeypatch.setattr(cli, "cmd_info", fail)
    monkeypatch.delenv("BYTEPIECE_TRACEBACK", raising=False)
    assert cli.main(["info", str(MODEL_40K)]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert re.search(match, err.rstrip("\n")), err


# -- bounded line reading, in process ------------------------------------------------


def _expected_lines(data: bytes):
    lines = data.split(b"\n")
    return lines[:-1] if lines[-1] == b"" else lines


@pytest.mark.parametrize("step", [1, 3, 4, 64])
def test_bounded_reads_give_the_lines_of_split(monkeypatch, tmp_path, step):
    from bytepiece import corpus as corpus_module, validation

    monkeypatch.setattr(corpus_module, "_LINE_STEP", step)
    monkeypatch.setattr(validation, "MAX_DOCUMENT_BYTES", 10)
    lengths = [0, 1, 2, 3, 4, 5, 8, 9, 10, 0, 10, 7]
    for last_newline in (True, False):
        data = b"\n".join(bytes([97 + i % 26]) * n for i, n in enumerate(lengths)) + (b"\n" if last_newline else b"")
        path = tmp_path / "lines.txt"
        path.write_bytes(data)
        got = list(corpus_module.Corpus([str(path)]).raw_lines())
        assert [raw for _, raw in got] == _expected_lines(data)
        assert [where for where, _ in got] == [f"{path}:{i}" for i in range(1, len(got) + 1)]
        # Byte ranges (the shards of a distributed run) give the same lines, whatever the cuts.
        from bytepiece.training.sources import FileShard, ReadOptions, read_shard

        for cut in range(1, len(data), 5):
            shards = [FileShard(str(path), 0, cut), FileShard(str(path), cut, None)]
            texts = [t for shard in shards for t in read_shard(shard, ReadOptions())]
            assert [t.encode() for t in texts] == _expected_lines(data), cut
    for bad in (11, 12, 25):
        path.write_bytes(b"ok\n" + b"x" * bad + b"\nnot read\n")
        with pytest.raises(ValueError, match=r"lines.txt:2: this line is longer than 10 bytes"):
            list(corpus_module.Corpus([str(path)]))
        path.write_bytes(b"x" * bad)  # the last line, without \n
        with pytest.raises(ValueError, match=r"lines.txt:1: this line is longer than 10 bytes"):
            list(corpus_module.Corpus([str(path)]))
        with pytest.raises(ValueError, match=rf"lines.txt: this file of {bad} bytes"):
            list(corpus_module.Corpus([str(path)], whole_file=True))
    path.write_bytes(b"x" * 10)
    assert list(corpus_module.Corpus([str(path)], whole_file=True)) == ["x" * 10]


def test_a_pass_that_stops_early_leaves_the_copy_to_go_on_from(monkeypatch):
    import io

    from bytepiece import Corpus

    data = b"".join(b"line %d\n" % i for i in range(100))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    corpus = Corpus(["-"])
    assert corpus.total_bytes() is None
    first = iter(corpus)
    assert [next(first) for _ in range(3)] == ["line 0", "line 1", "line 2"]
    del first  # stopped after three documents: the next pass reads them from the copy, then the rest
    expected = [f"line {i}" for i in range(100)]
    assert list(corpus) == expected
    assert list(corpus) == expected
    assert [where for where, _ in corpus.raw_lines()][-1] == "<stdin>:100"
    corpus.close()
    with pytest.raises(ValueError, match="closed"):
        list(corpus)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    once = Corpus(["-"], spool=False)
    assert list(once) == expected
    with pytest.raises(ValueError, match="read only once"):
        list(once)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    corpus = Corpus(["-"])
    reading = iter(corpus)
    next(reading)
    with pytest.raises(ValueError, match="another pass over the corpus is reading it"):
        list(corpus)


def test_a_corpus_of_files_pickles_and_one_of_a_pipe_refuses(monkeypatch):
    import io
    import pickle

    from bytepiece import Corpus

    corpus = pickle.loads(pickle.dumps(Corpus([str(SAMPLE)], field="text")))
    assert corpus.field == "text" and len(list(corpus)) == 1526
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"text\n")))
    with pytest.raises(TypeError, match="<stdin> .* cannot be pickled"):
        pickle.dumps(Corpus(["-"]))


def test_ray_training_refuses_a_pipe_before_starting(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # never opened: the refusal comes first
    expect_cli_error(["train", "--ray", "--field", "text", fifo, "-o", tmp_path / "m"],
                     "--ray reads files on the workers: .*fifo is not a regular file", timeout=60, **CAPS)
