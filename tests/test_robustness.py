"""Hostile models and inputs, the C core under sanitizers, threads, processes, memory."""
import base64
import json
import multiprocessing
import os
import pickle
import random
import shutil
import subprocess
import sys
import threading
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece.formats.native import dump_model
from bytepiece.model import model_from_counts
from conftest import MODEL_40K, ROOT, TINY_COUNTS

MODELS = sorted((ROOT / "data" / "models").glob("*"))


def tiny_json():
    return dump_model(model_from_counts(TINY_COUNTS, add_missing_bytes=True))


# -- the C core under AddressSanitizer and UBSan ------------------------------


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="needs a C compiler")
@pytest.mark.parametrize("harness,seconds", [("fuzz_core", 8), ("fuzz_model_json", 4)])
def test_fuzz_harness_runs_clean_under_address_and_undefined_sanitizers(tmp_path, harness, seconds):
    """A bounded run of each harness in fuzz/ (the whole C core; the model-file
    scanner), after replaying the inputs that once broke it, kept in
    fuzz/regressions/<harness>/ (see each harness's header for long libFuzzer runs)."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    binary = tmp_path / harness
    sources = sorted(str(p) for p in (ROOT / "csrc").glob("*.c")) + [str(ROOT / "fuzz" / f"{harness}.c")]
    subprocess.run([compiler, "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    f"-I{ROOT / 'csrc'}", *sources, "-lm", "-o", str(binary)], check=True)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1", UBSAN_OPTIONS="print_stacktrace=1")
    regressions = sorted(str(p) for p in (ROOT / "fuzz" / "regressions" / harness).glob("*") if p.is_file())
    if regressions:
        replay = subprocess.run([str(binary), *regressions], capture_output=True, text=True, env=env, timeout=120)
        assert replay.returncode == 0, replay.stderr[-3000:]
        assert f"replayed {len(regressions)} inputs" in replay.stdout
    result = subprocess.run([str(binary), "--seconds", str(seconds)], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "without a failure" in result.stdout


# -- hostile model files -------------------------------------------------------


@pytest.mark.parametrize(
    "content,message",
    [
        (b'{"YQ==": [3, "a", NaN]}', "positive integer, got nan"),
        (b'{"YQ==": [3, "a", 1e400]}', "positive integer"),
        (b'{"YQ==": [3, "a", 18446744073709551616]}', "lacks"),  # a huge count is legal; the bytes are not
        (b"[" * 100000 + b"]" * 100000, "nested too deeply|invalid JSON|expected a JSON object"),
        (b'{"YQ==": null}', r"must be \[id, text, count\]"),
        (b'"just a string"', "expected a JSON object"),
        (b"\xff\xfe\x00\x01" * 100, "not UTF-8"),
        (b'{"YQ==": [3, "a", 1]', "invalid JSON"),
    ],
)
def test_hostile_model_files_are_value_errors(tmp_path, content, message):
    path = tmp_path / "hostile.model"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        bytepiece.Tokenizer(str(path))


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300))
def test_random_bytes_as_a_model_file_are_a_value_error(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("m") / "random.model"
    path.write_bytes(raw)
    with pytest.raises(ValueError):
        bytepiece.Tokenizer(str(path))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_models_load_or_raise_value_error(data):
    model = tiny_json()
    keys = list(model)
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(keys))
        action = data.draw(st.sampled_from(["entry", "id", "count", "drop", "key"]))
        if action == "entry":
            model[key] = data.draw(JSON_VALUES)
        elif action in ("id", "count") and isinstance(model.get(key), list) and len(model[key]) == 3:
            model[key] = list(model[key])
            model[key][0 if action == "id" else 2] = data.draw(JSON_VALUES)
        elif action == "drop":
            model.pop(key, None)
        else:
            model[data.draw(st.text(max_size=8))] = model.pop(key, [999, "", 1])
    try:
        tok = bytepiece.Tokenizer(model)
    except ValueError:
        return
    assert tok.decode_bytes(tok.encode(b"aabab\x00\xff")) == b"aabab\x00\xff"


def test_a_one_megabyte_piece_is_a_value_error_not_a_hang(tmp_path):
    """Regression: the decoder walks as deep as the text follows a piece, so one
    enormous piece and text repeating it made decoding quadratic (5 s for 64 kB)."""
    model = tiny_json()
    model[base64.b64encode(b"D" * (1 << 20)).decode()] = [len(model) + 3, "", 5]
    path = tmp_path / "huge.model"
    path.write_text(json.dumps(model))
    with pytest.raises(ValueError, match="has 1048576 bytes; pieces may have at most 1024"):
        bytepiece.Tokenizer(str(path))
    longest = b"D" * bytepiece._core.MAX_PIECE_LEN
    tok = bytepiece.Tokenizer.from_pieces({longest: 10**6}, add_missing_bytes=True)
    assert tok.encode(longest * 64) == [tok.piece_to_id(longest)] * 64  # 64 kB in 1024-step walks: fast


def test_a_model_of_200k_pieces_loads(tmp_path):
    rng = random.Random(2)
    counts = {bytes(rng.randrange(256) for _ in range(rng.randint(2, 10))): rng.randint(1, 10**6) for _ in range(200_000)}
    tok = bytepiece.Tokenizer.from_pieces(counts, add_missing_bytes=True)
    piece = next(iter(counts))
    assert tok.piece_to_id(piece) >= 3 and tok.tokenize(piece + piece) != []


# -- hostile text ----------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
@pytest.mark.parametrize("text", ["", "\n", "\n\n\n\n", "\x00", "a\x00b\x00", "\r\r\n", "\u0301\u0301a\u0301"])
def test_odd_texts_round_trip_with_every_model(model, text):
    tok = bytepiece.Tokenizer(model)
    for kwargs in ({}, {"alpha": 0.0, "seed": 1}, {"alpha": 0.3, "sampler": "viterbi", "seed": 2}):
        assert tok.decode(tok.encode(text, **kwargs)) == unicodedata.normalize("NFC", text)
        assert tok.decode(tok.encode(text, normalize=False, **kwargs)) == text


def test_lone_surrogates_are_a_clear_error_and_never_a_crash(tok40k):
    for call in (tok40k.encode, tok40k.tokenize, lambda t: tok40k.encode_batch([t]), lambda t: tok40k.nbest(t, 2)):
        with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
            call("a\ud800b")
    # the documented way out: choose the replacement yourself
    assert tok40k.decode(tok40k.encode("a\ud800b".encode("utf-8", "replace"))) == "a?b"


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), seed=st.integers(0, 2**64 - 1))
def test_invalid_utf8_bytes_round_trip_exactly(tok40k, data, seed):
    for kwargs in ({}, {"alpha": 0.2, "seed": seed}):
        assert tok40k.decode_bytes(tok40k.encode(data, **kwargs)) == data
        assert tok40k.decode(tok40k.encode(data, **kwargs), errors="replace") == data.decode("utf-8", "replace")


def test_non_nfc_text_round_trips_exactly_with_normalize_false(tok40k):
    text = "cafe\u0301 \u1100\u1161\u11a8 A\u030a"
    assert tok40k.decode(tok40k.encode(text)) == unicodedata.normalize("NFC", text) != text
    assert tok40k.decode(tok40k.encode(text, normalize=False)) == text
    assert tok40k.encode_batch([text], normalize=False) == [tok40k.encode(text, normalize=False)]


def test_special_ids_decode_to_nothing_and_unknown_ids_raise(tok40k):
    ids = tok40k.encode("hi")
    assert tok40k.decode([0, 1, *ids, 2, 0]) == "hi"
    for bad in ([tok40k.vocab_size], [-1], [2**40]):
        with pytest.raises(ValueError, match="unknown token id"):
            tok40k.decode(bad)


# -- threads and processes -------------------------------------------------------


def test_eight_threads_sharing_one_tokenizer_match_a_serial_run(tok40k):
    docs = [f"线程 {i}: shared tokenizer, concurrent calls. " * (1 + i % 7) for i in range(64)]

    def work(i):
        text = docs[i]
        return (
            tok40k.encode(text),
            tok40k.encode(text, alpha=0.2, seed=i),
            tok40k.encode(text, alpha=0.2, sampler="viterbi", seed=i),
            tok40k.sample(text, 3, seed=i),
            tok40k.nbest(text[:40], 3),
            tok40k.encode_batch(docs[i:i + 4], alpha=0.1, seed=i, num_threads=2),
        )

    expected = [work(i) for i in range(len(docs))]
    results = [None] * len(docs)

    def worker(w):
        for i in range(w, len(docs), 8):
            results[i] = work(i)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def _encode_in_child(args):
    tok, text = args
    return tok.encode(text), tok.encode(text, alpha=0.3, seed=4)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_tokenizer_works_in_child_processes(tok40k, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available here")
    texts = ["after use in the parent 在父进程用过之后", "second text"]
    expected = [_encode_in_child((tok40k, t)) for t in texts]
    tok40k.encode_batch(texts * 50, num_threads=2)  # the parent has used threads too
    with multiprocessing.get_context(method).Pool(2) as pool:
        assert pool.map(_encode_in_child, [(tok40k, t) for t in texts]) == expected


def test_pickled_tokenizer_keeps_its_model_and_generator():
    tok = bytepiece.Tokenizer(MODEL_40K, seed=5)
    copy = pickle.loads(pickle.dumps(tok))
    assert copy.model == tok.model
    assert [copy.encode("sample", alpha=0.5) for _ in range(5)] == [tok.encode("sample", alpha=0.5) for _ in range(5)]


# -- memory ------------------------------------------------------------------------


def _run_python(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_encoding_a_corpus_20_times_does_not_grow_memory():
    code = f"""
import json, resource, gc
import bytepiece
tok = bytepiece.Tokenizer({str(MODEL_40K)!r})
texts = [json.loads(l)["text"] for l in open("data/sample.jsonl", encoding="utf-8")] * 4
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
def once():
    for t in texts: tok.encode(t); tok.encode(t, alpha=0.1); tok.tokenize(t)
    tok.encode_batch(texts, num_threads=2); tok.encode_batch_numpy(texts, alpha=0.2, seed=1)
    for t in texts[:200]: tok.sample(t, 2); tok.nbest(t[:50], 3)
once(); once(); gc.collect()
before = rss()
for _ in range(20): once()
gc.collect()
print(json.dumps({{"before": before, "after": rss()}}))
"""
    rss = _run_python(code)
    assert rss["after"] - rss["before"] < 8 * 2**20, rss


def test_memory_for_one_huge_line_is_a_small_multiple_of_its_size():
    code = """
import json, resource
import bytepiece
tok = bytepiece.Tokenizer("data/models/bytepiece.plus.40k.zip")
line = ("一行很长的文字 with mixed text, " * 700000)[:20_000_000]
data = line.encode()
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
ids = tok.encode_batch_numpy([data])[0]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"size": len(data), "extra": peak - start, "tokens": len(ids)}))
"""
    result = _run_python(code)
    assert result["tokens"] > 0
    assert result["extra"] < 12 * result["size"], result


# -- the trainer on odd corpora -------------------------------------------------------


def test_trainer_survives_random_bytes_and_one_repeated_byte(tmp_path):
    rng = random.Random(3)
    corpora = {
        "random bytes": [bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))) for _ in range(200)],
        "one repeated byte": [b"\x00" * 10000],
        "one huge line": ["很长 " * 60000],
    }
    for name, docs in corpora.items():
        trainer = bytepiece.Trainer(max_vocab_size=400, order=4)
        trainer.train(docs, workers=2, progress=False)
        (path,) = trainer.save(tmp_path / name.replace(" ", "_"))
        tok = bytepiece.Tokenizer(path)
        for doc in docs[:20]:
            data = doc if isinstance(doc, bytes) else doc.encode()
            assert tok.decode_bytes(tok.encode(data)) == data, name
