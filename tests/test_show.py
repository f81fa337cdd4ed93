"""bytepiece show: the tokens seen in the terminal and in a page are the tokenizer's tokens."""
import html.parser
import os
import re
import shutil
import subprocess
import unicodedata

import pytest

from bytepiece.cli import main
from bytepiece.show import html_page, shown_tokens, terminal_view
from conftest import MODEL_40K, ROOT

TEXT = "BytePiece 分词器 cuts\ttext\n\nsecond line 😀 e\u0301"


def test_the_shown_tokens_are_the_ids_and_cover_the_text(tok40k):
    tokens = shown_tokens(tok40k, TEXT)
    assert [t.id for t in tokens] == tok40k.encode(TEXT)
    assert "".join(t.text for t in tokens) == TEXT  # NFC leaves this text alone; every character shown once
    assert b"".join(t.piece for t in tokens) == unicodedata.normalize("NFC", TEXT).encode("utf-8")


def test_a_character_split_over_tokens_is_shown_once(tok40k):
    for seed in range(20):  # sampling splits characters now and then: each is shown on its first token
        tokens = shown_tokens(tok40k, "分词器分词器", alpha=0.05, seed=seed)
        assert "".join(t.text for t in tokens) == "分词器分词器"
        assert all(t.text or t.piece for t in tokens)


def test_terminal_view_plain_and_coloured(tok40k):
    tokens = shown_tokens(tok40k, TEXT)
    plain = terminal_view(tokens, colour=False)
    assert plain.split("|") == [terminal_view([t], colour=False) for t in tokens]
    # The continuation bytes of a character split over tokens (the emoji here) show as \xNN.
    assert re.sub(r"\\x[0-9a-f]{2}", "", plain.replace("|", "").replace("↵", "").replace("→", "")) == TEXT
    coloured = terminal_view(tokens, colour=True, show_ids=True)
    assert coloured.count("\x1b[0m") >= len(tokens) and f"[{tokens[0].id}]" in coloured
    assert "↵" in coloured and all(not line.startswith("\x1b[0m") for line in coloured.split("\n"))


def test_special_tokens_are_marked(tok40k):
    chat = tok40k.with_special_tokens(["<|endoftext|>"])
    tokens = shown_tokens(chat, "hi<|endoftext|>", allowed_special="all")
    assert tokens[-1].special and tokens[-1].text == "<|endoftext|>"
    assert terminal_view(tokens, colour=False).endswith("|⟨<|endoftext|>⟩")
    assert "\x1b[7;1m<|endoftext|>" in terminal_view(tokens, colour=True)


class _Page(html.parser.HTMLParser):
    """The text of each token span of the page's best segmentation, and its table rows."""

    def __init__(self):
        super().__init__()
        self.best, self.rows, self.samples = [], 0, 0
        self._where, self._in_token = None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "pre" and attrs.get("id") == "best":
            self._where = "best"
        elif tag == "pre":
            self._where, self.samples = "sample", self.samples + 1
        elif tag == "span" and self._where == "best":
            self.best.append("")
            self._in_token = True
        elif tag == "tr":
            self.rows += 1

    def handle_endtag(self, tag):
        if tag == "pre":
            self._where = None
        elif tag == "span":
            self._in_token = False

    def handle_data(self, data):
        if self._in_token and self._where == "best":
            self.best[-1] += data


def test_the_page_shows_the_tokens_samples_and_pieces(tok40k):
    page = html_page(tok40k, TEXT, samples=2, alpha=0.1)
    parsed = _Page()
    parsed.feed(page)
    tokens = shown_tokens(tok40k, TEXT)
    assert parsed.best == [terminal_view([t], colour=False) for t in tokens]
    assert parsed.samples == 2 and parsed.rows == 1 + len(set(t.id for t in tokens))
    assert "<script" not in page and "http" not in page.split("</style>")[0]  # self-contained


def test_cli_show_terminal_and_page(tmp_path, capsys):
    assert main(["show", "-m", str(MODEL_40K), "--color", "never", "--ids", "BytePiece", "分词器"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("By[") and "tokens" in out.err
    page = tmp_path / "p.html"
    source = tmp_path / "t.txt"
    source.write_text(TEXT, encoding="utf-8")
    assert main(["show", "-m", str(MODEL_40K), "--file", str(source), "--html", str(page), "-q"]) == 0
    assert "Best segmentation" in page.read_text(encoding="utf-8")
    source.write_bytes(b"\xff\xfe")
    assert main(["show", "-m", str(MODEL_40K), "--file", str(source)]) == 1
    assert "not UTF-8 text" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (Debian: apt-get install chromium)")
def test_the_page_renders_in_a_real_browser(tok40k, tmp_path):
    page = tmp_path / "show.html"
    page.write_text(html_page(tok40k, TEXT * 3, samples=3), encoding="utf-8")
    shot = tmp_path / "show.png"
    run = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
                          f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000  # a real, drawn page
    artefacts = os.environ.get("BYTEPIECE_TEST_ARTEFACTS", str(ROOT / "tests" / "artefacts"))
    os.makedirs(artefacts, exist_ok=True)
    shutil.copy(shot, os.path.join(artefacts, "show.png"))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    parsed = _Page()
    parsed.feed(dom)
    assert parsed.best == [terminal_view([t], colour=False) for t in shown_tokens(tok40k, TEXT * 3)]
