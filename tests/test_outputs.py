"""Outputs appear whole or not at all, and bad output paths fail before any work.

bytepiece.outputs is what every writer (models, encoded data, token files)
goes through; the last test interrupts a real `bytepiece sample -o` with
SIGINT, as Ctrl-C in a terminal does.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import bytepiece
from bytepiece.cli import main
from bytepiece.outputs import atomic_file, atomic_files, check_writable
from conftest import MODEL_40K


def _listing(folder):
    return sorted(os.listdir(folder))


def test_atomic_file_appears_only_when_complete(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_file(target) as f:
        f.write(b"hello")
        assert not target.exists()  # still under its temporary name
        assert len(_listing(tmp_path)) == 1
    assert target.read_bytes() == b"hello"
    assert _listing(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError, OSError])
def test_interrupted_write_leaves_nothing_and_keeps_the_old_file(tmp_path, error):
    target = tmp_path / "out.txt"
    target.write_bytes(b"previous")
    with pytest.raises(error):
        with atomic_files([target, tmp_path / "other.idx"]) as (f, g):
            f.write(b"partial")
            g.write(b"partial")
            raise error("stop")
    assert target.read_bytes() == b"previous"
    assert _listing(tmp_path) == ["out.txt"]


def test_new_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    with atomic_file(tmp_path / "m.model", "w", encoding="utf-8") as f:
        f.write("{}")
    assert (tmp_path / "m.model").stat().st_mode & 0o777 == 0o666 & ~umask


def test_check_writable_says_why(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        check_writable(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_writable(tmp_path / "missing" / "out.ids")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(PermissionError, match="not writable"):
                check_writable(locked / "out.ids")
        finally:
            locked.chmod(0o700)
    assert check_writable(tmp_path / "fine.ids") == str(tmp_path / "fine.ids")


def test_save_model_is_atomic(tmp_path, tiny):
    target = tmp_path / "tiny.model"
    tiny.save(target)
    assert bytepiece.Tokenizer(target).model == tiny.model
    assert _listing(tmp_path) == ["tiny.model"]


def test_train_reports_a_directory_output_before_training(tmp_path, capsys, monkeypatch):
    corpus = tmp_path / "c.txt"
    corpus.write_text("some text to train on\n" * 50)
    # Training must not even start: make it fail loudly if it does.
    monkeypatch.setattr(bytepiece.Trainer, "train", lambda *a, **k: pytest.fail("trained before checking -o"))
    assert main(["train", "-q", str(corpus), "-o", str(tmp_path), "--vocab-size", "300"]) == 1
    assert "is a directory" in capsys.readouterr().err
    assert main(["train", "-q", str(corpus), "-o", str(tmp_path / "no" / "m.model")]) == 1
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["encode", "sample", "decode"])
def test_commands_report_a_bad_output_before_reading(tmp_path, capsys, command):
    # stdin is never read: the output check comes first.
    argv = [command, "-q", "-m", str(MODEL_40K), "-o", str(tmp_path)]
    assert main(argv) == 1
    assert "is a directory" in capsys.readouterr().err


def test_ctrl_c_during_sample_leaves_no_output_file(tmp_path):
    out = tmp_path / "samples.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bytepiece", "sample", "-q", "-m", str(MODEL_40K), "--n", "2",
         "--batch-size", "1", "-o", str(out)],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        proc.stdin.write(b"a line to sample\n" * 1000)
        proc.stdin.flush()
        # stdin stays open: the command waits for more input; stop it once it is writing.
        deadline = time.monotonic() + 60
        while not any(name.endswith(".part") for name in os.listdir(tmp_path)):
            assert time.monotonic() < deadline, "sample never started writing"
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.stdin.close()
    assert proc.wait(timeout=60) == 130
    assert _listing(tmp_path) == []  # neither samples.jsonl nor its temporary file


def test_ctrl_c_keeps_an_earlier_complete_output(tmp_path):
    # The same, in-process: the earlier file under the final name survives.
    out = tmp_path / "samples.jsonl"
    out.write_text(json.dumps({"old": True}) + "\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    src = tmp_path / "in.txt"
    src.write_text("text\n" * 10)
    original = bytepiece.Tokenizer.encode_batch_numpy
    bytepiece.Tokenizer.encode_batch_numpy = interrupted
    try:
        assert main(["sample", "-q", "-m", str(MODEL_40K), str(src), "-o", str(out)]) == 130
    finally:
        bytepiece.Tokenizer.encode_batch_numpy = original
    assert json.loads(out.read_text()) == {"old": True}
    assert _listing(tmp_path) == ["in.txt", "samples.jsonl"]
