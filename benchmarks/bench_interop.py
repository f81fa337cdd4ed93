"""bytepiece vs its own exports: the same model in Hugging Face tokenizers and SentencePiece.

    python benchmarks/bench_interop.py CORPUS.jsonl MODEL [--threads 2] [--repeat 3] [--limit N]

Exports MODEL with Tokenizer.to_huggingface and to_sentencepiece (needs
`tokenizers` and `sentencepiece`), then encodes every document of CORPUS
(the `text` field) with each, one thread (a loop of single-text calls) and as
one batch on --threads threads, best of --repeat. Prints MB/s of UTF-8 input
and how often each export gave bytepiece's ids. MB = UTF-8 input bytes.
"""
import os
import sys
import tempfile

import bytepiece
from common import best_rate, corpus_model_parser, read_texts, utf8_bytes


def main():
    parser = corpus_model_parser(__doc__)
    parser.add_argument("--limit", type=int, default=0, help="documents to use (0: all)")
    args = parser.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # HF's batch threads (read when it starts its pool)
    import sentencepiece as spm
    import tokenizers

    texts = read_texts(args.corpus)
    texts = texts[:args.limit] if args.limit else texts
    size = utf8_bytes(texts)
    tok = bytepiece.Tokenizer(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        tok.to_huggingface(os.path.join(tmp, "tokenizer.json"))
        tok.to_sentencepiece(os.path.join(tmp, "m.spm"))
        hf = tokenizers.Tokenizer.from_file(os.path.join(tmp, "tokenizer.json"))
        sp = spm.SentencePieceProcessor(model_file=os.path.join(tmp, "m.spm"))
    expected = tok.encode_batch(texts, num_threads=args.threads)
    hf_ids = [e.ids for e in hf.encode_batch(texts)]
    sp_ids = sp.encode(texts, num_threads=args.threads)
    print(f"corpus: {len(texts)} documents, {size / 1e6:.2f} MB; {args.threads} threads for batches; "
          f"best of {args.repeat}")
    print(f"identical ids: Hugging Face export {sum(a == b for a, b in zip(expected, hf_ids))}/{len(texts)}, "
          f"SentencePiece export {sum(a == b for a, b in zip(expected, sp_ids))}/{len(texts)}")
    rows = [
        ("bytepiece", lambda: [tok.encode(t) for t in texts],
         lambda: tok.encode_batch(texts, num_threads=args.threads)),
        ("HF tokenizers (export)", lambda: [hf.encode(t).ids for t in texts], lambda: hf.encode_batch(texts)),
        ("SentencePiece (export)", lambda: [sp.encode(t) for t in texts],
         lambda: sp.encode(texts, num_threads=args.threads)),
    ]
    base = None
    for name, loop, batch in rows:
        one = best_rate(loop, size, args.repeat)
        many = best_rate(batch, size, args.repeat)
        base = base or (one, many)
        print(f"{name:24s} loop {one:6.1f} MB/s ({one / base[0]:4.2f}x bytepiece)   "
              f"batch {many:6.1f} MB/s ({many / base[1]:4.2f}x bytepiece)")


if __name__ == "__main__":
    sys.exit(main())
