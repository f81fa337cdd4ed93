"""Progress off a terminal: plain lines with the figures a log reader needs, never carriage returns."""
import subprocess
import sys

from bytepiece.progress import PlainProgress, progress_bar
from conftest import ROOT


def test_plain_lines_give_share_rate_and_time_left(capsys):
    bar = PlainProgress("Count n-grams", total=2e6, unit="B", interval=0.0)
    bar.update(5e5)
    bar.update(5e5)
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("Count n-grams: 25% (500.00 kB of 2.00 MB), ") and lines[0].endswith(" left")
    assert lines[1].startswith("Count n-grams: 50% (1.00 MB of 2.00 MB)")
    assert lines[-1].startswith("Count n-grams: 50%") and "done in" in lines[-1]
    quiet = PlainProgress("Prune pieces", total=None, unit=" passes", interval=3600.0)
    quiet.update(3)
    quiet.close()  # nothing was printed, so no last line either
    assert capsys.readouterr().err == ""


def test_off_a_terminal_training_prints_plain_lines_and_q_prints_none(tmp_path):
    command = [sys.executable, "-m", "bytepiece", "train", "--field", "text", str(ROOT / "data" / "sample.jsonl"),
               "--vocab-size", "2000", "--min-count", "2", "-o", str(tmp_path / "m.model")]
    env = {"BYTEPIECE_PROGRESS_INTERVAL": "0", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, check=True)  # stderr is a pipe
    assert "\r" not in run.stderr
    counting = [line for line in run.stderr.splitlines() if line.startswith("Count n-grams: ")]
    assert counting and counting[-1].startswith("Count n-grams: 100% (") and "done in" in counting[-1]
    # Pruning says how large the vocabulary it counts is, against the size asked.
    assert any(line.startswith("Prune pieces, vocabulary of ") and "(target 2,000)" in line
               for line in run.stderr.splitlines())
    quiet = subprocess.run(command + ["-q"], capture_output=True, text=True, env=env, check=True)
    assert quiet.stderr == ""


def test_enabled_false_is_silent_everywhere(capsys):
    bar = progress_bar("x", total=10, enabled=False)
    bar.update(10)
    bar.close()
    assert capsys.readouterr().err == ""
