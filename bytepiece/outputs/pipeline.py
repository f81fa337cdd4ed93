"""The JSON-lines pipeline: a corpus's field to token ids, with reading,
parsing, segmenting and writing overlapped (``bytepiece encode``/``sample``
with ``--field`` to ``.bin``/``.npy`` or id lines). The field scan of each block is
:func:`bytepiece.corpus.block_documents`, which training reads too.

The calling thread only reads blocks of whole lines (:meth:`Corpus.line_blocks`)
and writes results, in order; a pool of threads takes each block, finds the
field's string on every line in C without the GIL (``_core.jsonl_extract``,
csrc/bp_jsonl.h), and segments the values with one thread each. At most
two blocks per thread are in flight, so memory does not grow with the corpus.
With one thread, the calling thread finds the documents of each block itself
(it has the time to spare between reads), so that this overlaps segmenting too.

The result is exactly that of reading the corpus with :meth:`Corpus.records`
and encoding its documents: a line the C scanner is not certain about goes
through :meth:`Corpus.line_value` (``json.loads`` and the same errors, naming
the file and line), a value with a character that NFC might change is handed
to the encoder as a str (normalized as always), and the other values are
handed over as their UTF-8 bytes, which is what NFC and UTF-8 would make of
them. Document ``k`` of the corpus is document ``k`` of the encoding
(``first_stream``), so sampling draws the same streams. The first error in
the corpus's order is the one raised, whichever thread met it.
"""
from __future__ import annotations

import collections
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Deque, List, Optional, Tuple, Union

import numpy as np

from ..corpus import Corpus, LineBlock, block_documents, field_pipeline_applies

__all__ = ["BLOCK_BYTES", "field_pipeline_applies", "encode_field_blocks"]

#: Bytes of input a thread takes at a time: large enough that the per-block
#: Python work is small next to segmenting it, small enough to overlap well.
BLOCK_BYTES = 1 << 20

#: ``encode(texts, first_document)``: the (ids, offsets) of a list of
#: documents (bytes or str) whose first is document ``first_document``.
Encode = Callable[[List[Union[bytes, str]], int], Tuple[np.ndarray, np.ndarray]]


def encode_field_blocks(corpus: Corpus, encode: Encode, write: Callable[[np.ndarray, np.ndarray], Any],
                        threads: int, normalize: bool, progress: Optional[Callable[[int, int], Any]] = None) -> int:
    """Encode the documents of ``corpus`` (see :func:`field_pipeline_applies`)
    block by block on ``threads`` threads, calling ``write(ids, offsets)``
    for each block in order from this thread; ``normalize``: whether the
    encoder normalizes str (NFC). ``progress(documents, bytes_read)`` after
    each write. Returns the number of documents. The first error in the
    corpus's order is raised, and nothing more is written after it."""
    def work(block: LineBlock, first: int) -> Tuple[np.ndarray, np.ndarray]:
        return encode(block_documents(corpus, block, normalize), first)

    pending: Deque[Tuple[Future, LineBlock]] = collections.deque()
    documents = 0
    written = 0
    failed: Optional[BaseException] = None  # what reading met: raised after the blocks before it
    blocks = corpus.line_blocks(BLOCK_BYTES)

    def finish_oldest() -> None:
        nonlocal written
        future, block = pending.popleft()
        ids, offsets = future.result()
        write(ids, offsets)
        written += len(offsets) - 1
        if progress is not None:
            progress(len(offsets) - 1, block.bytes_read)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bytepiece-encode") as pool:
        try:
            while True:
                try:
                    block = next(blocks)
                except StopIteration:
                    break
                except Exception as exc:  # an unreadable file, a line too long: after the blocks before it
                    failed = exc
                    break
                if threads == 1:
                    # One thread segments; this one has time to spare between
                    # reads, so it finds the documents of the next block meanwhile.
                    try:
                        texts = block_documents(corpus, block, normalize)
                    except Exception as exc:  # after the blocks before it
                        failed = exc
                        break
                    pending.append((pool.submit(encode, texts, documents), block))
                else:
                    pending.append((pool.submit(work, block, documents), block))
                documents += block.nonblank
                while len(pending) >= 2 * threads:
                    finish_oldest()
            while pending:
                finish_oldest()
        except BaseException:
            for future, _ in pending:
                future.cancel()
            raise
        finally:
            blocks.close()
    if failed is not None:
        raise failed
    return written
