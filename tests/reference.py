"""A slow, obviously-correct pure-Python decoder: the oracle for the C core.

It follows docs/spec/segmentation.md literally, in "pull" form: find every piece
occurring in a chunk with an Aho-Corasick automaton (pyahocorasick, str-based,
so bytes are mapped 1:1 to str with latin-1), group the candidates by end
position, then run the recurrence of each mode position by position. It draws
the same counter-based random numbers as the C samplers (bp_rng.h), so with
the same seed it must return exactly the same ids.

Only the tests and benchmarks use it (it lives with the tests); pyahocorasick is a test dependency.
"""
from __future__ import annotations

import math
import re
from typing import Dict, List, Sequence, Tuple

import ahocorasick

MODE_BEST, MODE_SAMPLE_PERFECT, MODE_SAMPLE_VITERBI = 0, 1, 2

_MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_LEN_BITS = 24
_CHUNK = re.compile(rb".*\n+|.+")


def mix64(z: int) -> int:
    """The SplitMix64 finalizer, as bp_mix64 in csrc/bp_rng.h."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def stream_key(seed: int, stream: int) -> int:
    """As bp_stream_key: the key of stream ``stream`` of ``seed``."""
    return mix64((seed + _GAMMA * (mix64(stream) + 1)) & _MASK64)


def uniform(key: int, end: int, length: int) -> float:
    """As bp_uniform: the draw in [0, 1) of the candidate (end, length)."""
    h = mix64((key + _GAMMA * ((end << _LEN_BITS) | length)) & _MASK64)
    return (h >> 11) * 2.0**-53


class ReferenceDecoder:
    """The three decoding modes over pieces with given scores and ids."""

    def __init__(self, pieces: Sequence[bytes], scores: Sequence[float], ids: Sequence[int]) -> None:
        self._automaton = ahocorasick.Automaton()
        for piece, score, token_id in zip(pieces, scores, ids):
            self._automaton.add_word(piece.decode("latin-1"), (len(piece), float(score), int(token_id)))
        self._automaton.make_automaton()

    def candidates(self, chunk: bytes) -> Dict[int, List[Tuple[int, float, int]]]:
        """{end e: [(start s, score, id), ...]} for every piece chunk[s:e], by increasing s."""
        by_end: Dict[int, List[Tuple[int, float, int]]] = {}
        for last, (length, score, token_id) in self._automaton.iter(chunk.decode("latin-1")):
            end = last + 1
            by_end.setdefault(end, []).append((end - length, score, token_id))
        for options in by_end.values():
            options.sort()
        return by_end

    def encode(self, data: bytes, mode: int = MODE_BEST, alpha: float = -1.0, key: int = 0) -> List[int]:
        """Token ids of ``data``, chunk by chunk (chunks end after each run of \\n)."""
        ids: List[int] = []
        offset = 0
        for chunk in _CHUNK.findall(data):
            ids += self._decode_chunk(chunk, offset, mode, alpha, key)
            offset += len(chunk)
        return ids

    def _decode_chunk(self, chunk: bytes, offset: int, mode: int, alpha: float, key: int) -> List[int]:
        n = len(chunk)
        by_end = self.candidates(chunk)
        # value[e]: best path score (BEST, VITERBI) or log Z[e] (PERFECT).
        value = [0.0] + [-math.inf] * n
        back: List[Tuple[int, int]] = [(0, -1)] * (n + 1)  # (start, id) of the piece ending at e
        for e in range(1, n + 1):
            if mode == MODE_BEST:
                for s, score, token_id in by_end[e]:
                    x = value[s] + score
                    if x > value[e]:  # strict: the longest of equal candidates stays
                        value[e], back[e] = x, (s, token_id)
            elif mode == MODE_SAMPLE_PERFECT:
                # Backward sampling's choice at e, drawn as a weighted reservoir:
                # candidate s is kept with probability exp(w_s - logsumexp(w)).
                m, total = -math.inf, 0.0
                for s, score, token_id in by_end[e]:
                    w = value[s] + alpha * score
                    if w > m:
                        total = total * math.exp(m - w) + 1.0
                        m = w
                        p = 1.0 / total
                    else:
                        r = math.exp(w - m)
                        total += r
                        p = r / total
                    if uniform(key, offset + e, e - s) < p:
                        back[e] = (s, token_id)
                value[e] = m + math.log(total)
            else:
                for s, score, token_id in by_end[e]:
                    x, y = value[s] + score, value[e]
                    take = y == -math.inf or uniform(key, offset + e, e - s) < 1.0 / (1.0 + math.exp(-alpha * (x - y)))
                    if take:
                        value[e], back[e] = x, (s, token_id)
        ids: List[int] = []
        e = n
        while e > 0:
            s, token_id = back[e]
            ids.append(token_id)
            e = s
        return ids[::-1]
