"""Seeing how a tokenizer cuts text: coloured tokens in the terminal, or a page.

People check a tokenizer by looking at its tokens (as tiktokenizer shows
them). :func:`terminal_view` colours each token's text with a background of
its own, in turn, marks special tokens, and can print each token's id;
:func:`html_page` makes a self-contained page: the text coloured by token
(hover for id, piece and score), the sampled segmentations side by side,
and a table of the pieces used with their counts in the text and their
scores. ``bytepiece show`` (the CLI) writes either.

A token that holds part of a UTF-8 character shows that character once, on
the first token that holds part of it, its other tokens as their bytes
(``\\x8d``);
line breaks show as ``↵`` before the break. Nothing here changes ids: the
views are made from ``encode_with_offsets``.
"""
from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from .model import describe_piece
from .special import AllowedSpecial
from .tokenizer import Tokenizer

__all__ = ["ShownToken", "shown_tokens", "terminal_view", "html_page"]

#: Background colours (256-colour ANSI codes) the tokens take in turn.
_TERMINAL_COLOURS = (153, 223, 194, 218, 189, 230)
#: The same, as CSS colours for the page.
_PAGE_COLOURS = ("#c6e2ff", "#ffe0b3", "#d4f5d4", "#ffd6e7", "#e0d4ff", "#fff5c2")


@dataclass(frozen=True)
class ShownToken:
    """One token: its ``id``, ``piece`` (bytes), the ``text`` it stands for
    in the input (may be empty: a part of a character shown elsewhere),
    whether it is a ``special`` token, and its ``score`` (None for special
    tokens)."""

    id: int
    piece: bytes
    text: str
    special: bool
    score: Optional[float]


def shown_tokens(tok: Tokenizer, text: str, *, alpha: float = -1, seed: Optional[int] = None,
                 allowed_special: AllowedSpecial = ()) -> List[ShownToken]:
    """The tokens of ``text`` as :func:`terminal_view` and :func:`html_page` show them."""
    ids, spans = tok.encode_with_offsets(text, alpha=alpha, seed=seed, allowed_special=allowed_special)
    specials = set(tok.special_tokens.values())
    table = tok.model.bytes_by_id()
    score_of = dict(zip(tok.model.ids, tok.model.scores().tolist()))
    tokens = []
    shown_until = 0  # characters already shown: a character split over tokens is shown once
    for token_id, (start, end) in zip(ids, spans.tolist()):
        start = max(start, shown_until)
        part = text[start:end] if end > start else ""
        shown_until = max(shown_until, end)
        tokens.append(ShownToken(token_id, table[token_id], part, token_id in specials, score_of.get(token_id)))
    return tokens


def _visible(token: ShownToken) -> str:
    """What a token shows: its text, line breaks and tabs made visible, or its
    bytes when it holds only part of a character."""
    if not token.text:
        return "".join(f"\\x{b:02x}" for b in token.piece) if token.piece else ""
    return token.text.replace("\t", "→\t").replace("\r", "␍").replace("\n", "↵\n")


def terminal_view(tokens: Sequence[ShownToken], *, colour: bool = True, show_ids: bool = False) -> str:
    """The tokens as one string for a terminal: each token's text on a
    background colour of its own in turn (``colour``; without it, tokens are
    separated by ``|``), special tokens in reverse video (``⟨name⟩`` without
    colour), and with ``show_ids`` each token's id after it as ``[id]``."""
    out: List[str] = []
    for k, token in enumerate(tokens):
        shown = _visible(token)
        if token.special and not colour:
            shown = f"⟨{token.text or token.piece.decode('utf-8', 'replace')}⟩"
        if show_ids:  # before the line break a token ends with, if any
            shown = shown[:-1] + f"[{token.id}]\n" if shown.endswith("\n") else shown + f"[{token.id}]"
        if not colour:
            out.append(shown)
            continue
        style = "\x1b[7;1m" if token.special else f"\x1b[30;48;5;{_TERMINAL_COLOURS[k % len(_TERMINAL_COLOURS)]}m"
        # The colour is reset before each line break, so no line is coloured to its end.
        out.append("\n".join(f"{style}{line}\x1b[0m" if line else "" for line in shown.split("\n")))
    return ("" if colour else "|").join(out)


def _token_spans(tokens: Sequence[ShownToken]) -> str:
    parts = []
    for k, token in enumerate(tokens):
        title = f"id {token.id} · {describe_piece(token.piece)}"
        if token.score is not None:
            title += f" · score {token.score:.3f}"
        kind = "special" if token.special else f"c{k % len(_PAGE_COLOURS)}"
        parts.append(f'<span class="t {kind}" title="{html.escape(title)}" data-id="{token.id}">'
                     f"{html.escape(_visible(token))}</span>")
    return "".join(parts)


def html_page(tok: Tokenizer, text: str, *, title: str = "bytepiece", alpha: float = 0.1, samples: int = 3,
              seed: int = 0, allowed_special: AllowedSpecial = ()) -> str:
    """A self-contained HTML page (no scripts, no external files) showing how
    ``tok`` cuts ``text``: the best segmentation coloured by token, ``samples``
    sampled segmentations at ``alpha`` side by side (seeds ``seed``,
    ``seed + 1``, ...), and a table of the pieces used with their count in
    the text and their score."""
    best = shown_tokens(tok, text, allowed_special=allowed_special)
    sampled = [shown_tokens(tok, text, alpha=alpha, seed=seed + k, allowed_special=allowed_special)
               for k in range(samples)]
    counts = Counter(token.id for token in best)
    first_of_id: Dict[int, ShownToken] = {}  # a row per id: its piece and score, looked up once
    for token in best:
        first_of_id.setdefault(token.id, token)
    byte_count = len(text.encode("utf-8"))
    rows = []
    for token_id, count in counts.most_common():
        token = first_of_id[token_id]
        score = "" if token.score is None else f"{token.score:.4f}"
        rows.append(f"<tr><td>{token_id}</td><td><code>{html.escape(describe_piece(token.piece))}</code></td>"
                    f"<td>{count}</td><td>{score}</td></tr>")
    columns = "".join(f'<div class="sample"><h3>sample {k + 1} (alpha {alpha:g}, seed {seed + k}): '
                      f"{len(tokens)} tokens</h3><pre>{_token_spans(tokens)}</pre></div>"
                      for k, tokens in enumerate(sampled))
    colours = "".join(f".c{k}{{background:{c}}}" for k, c in enumerate(_PAGE_COLOURS))
    provenance = tok.model.provenance
    made = html.escape(json.dumps(provenance, ensure_ascii=False)) if provenance else "not recorded"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}
pre{{white-space:pre-wrap;word-break:break-all;font-size:15px;line-height:1.9;background:#fafafa;padding:1em}}
.t{{border-radius:3px;padding:1px 0;margin-right:1px}} {colours}
.special{{background:#333;color:#fff;font-weight:bold}}
.samples{{display:flex;gap:1em}} .sample{{flex:1;min-width:0}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>vocabulary size {tok.vocab_size}; {len(best)} tokens for {byte_count} bytes
({byte_count / max(1, len(best)):.2f} bytes per token). How it was made: <code>{made}</code></p>
<h2>Best segmentation</h2>
<pre id="best">{_token_spans(best)}</pre>
<h2>Sampled segmentations</h2>
<div class="samples">{columns}</div>
<h2>Pieces used</h2>
<table id="pieces"><tr><th>id</th><th>piece</th><th>count here</th><th>score</th></tr>{"".join(rows)}</table>
</body></html>
"""
