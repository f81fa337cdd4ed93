"""The JSON-lines pipeline of ``bytepiece encode``/``sample`` (outputs/pipeline.py).

Its C field scanner (csrc/bp_jsonl.h) is checked against ``json.loads`` on
random lines, well-formed and broken; the commands' token files against the
path they replace (``json.loads`` of each line, then ``encode_batch_numpy``);
their errors against the old reader's, message for message.
"""
import gzip
import json
import random
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece import _core, cli, validation
from bytepiece.corpus import field_value
from bytepiece.outputs import pipeline
from bytepiece.outputs.token_files import TokenFileWriter
from conftest import MODEL_40K, ROOT, sample_texts

KEY = "text"


def oracle(line: bytes, key: str = KEY):
    """What the exact path reads from a non-blank line: the field's str, or None (an error)."""
    try:
        record = json.loads(line.decode("utf-8"))
        value = field_value(record, key) if isinstance(record, dict) else None
    except (ValueError, RecursionError, KeyError):
        return None
    return value if isinstance(value, str) else None


def extract_one(line: bytes, check_nfc: bool = True, key: str = KEY):
    values, offsets, status, _, _ = _core.jsonl_extract(line, key.encode(), check_nfc, 1 << 30)
    assert len(status) == (0 if not line.strip() else 1)
    return (int(status[0]), values[offsets[0]:offsets[1]]) if len(status) else (None, b"")


def agrees(line: bytes, check_nfc: bool = True, key: str = KEY) -> int:
    """Checks the scanner's answer on one line against json.loads; returns its status."""
    status, value = extract_one(line, check_nfc, key)
    if status in (_core.JSONL_VALUE, _core.JSONL_NEEDS_NFC):
        expected = oracle(line, key)
        assert expected is not None, line
        assert value == expected.encode("utf-8"), line
        if status == _core.JSONL_VALUE and check_nfc:
            assert unicodedata.normalize("NFC", expected) == expected, line
        if not check_nfc:
            assert status == _core.JSONL_VALUE
    return status


# -- random JSON, written with random spacing and escapes ------------------------

characters = st.characters(codec="utf-8") | st.sampled_from('"\\/\b\f\n\r\t\x00\x1f\u0301\u00e9\u4e2d\U0001f600\u2028')
texts = st.text(characters, max_size=30)
scalars = st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False, allow_infinity=False) | texts
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                      max_leaves=12)


def write_string(text: str, rnd: random.Random) -> str:
    out = []
    for ch in text:
        cp = ord(ch)
        choice = rnd.random()
        if ch in '"\\' or cp < 0x20:
            out.append(json.dumps(ch)[1:-1] if choice < 0.7 else "\\u%04x" % cp)
        elif choice < 0.2 and cp < 0x10000:
            out.append(("\\u%04X" if choice < 0.1 else "\\u%04x") % cp)
        elif choice < 0.2:
            high, low = 0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF)
            out.append("\\u%04x\\u%04x" % (high, low))
        elif choice < 0.25 and ch == "/":
            out.append("\\/")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def write_json(value, rnd: random.Random) -> str:
    def space() -> str:
        return "".join(rnd.choice(" \t\r") for _ in range(rnd.choice([0, 0, 0, 1, 2])))

    if isinstance(value, str):
        return write_string(value, rnd)
    if isinstance(value, dict):
        items = [space() + json.dumps(k, ensure_ascii=False) + space() + ":" + space() + write_json(v, rnd) + space()
                 for k, v in value.items()]
        return "{" + ",".join(items) + space() + "}"
    if isinstance(value, list):
        return "[" + ",".join(space() + write_json(v, rnd) + space() for v in value) + space() + "]"
    return json.dumps(value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(texts, values, max_size=5), texts, st.integers(0, 2**32), st.booleans())
def test_scanner_reads_well_formed_lines_as_json_loads(record, text, seed, check_nfc):
    rnd = random.Random(seed)
    record = {k: v for k, v in record.items() if k != KEY}
    items = list(record.items())
    items.insert(rnd.randint(0, len(items)), (KEY, text))
    line = write_json(dict(items), rnd).encode("utf-8")
    line = rnd.choice([b"", b" ", b"\t\r "]) + line + rnd.choice([b"", b" ", b"\r"])
    status = agrees(line, check_nfc)
    # Keys are written without escapes unless they need one: then the scanner is certain.
    if not any(c in '"\\' or ord(c) < 0x20 for key in record for c in key):
        assert status != _core.JSONL_UNSURE, line


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(texts, values, max_size=4), texts, st.integers(0, 2**32), st.integers(1, 4))
def test_scanner_never_reads_a_broken_line_differently(record, text, seed, edits):
    """Lines with random bytes cut, doubled, swapped or inserted: whatever the
    scanner reads itself, json.loads reads the same."""
    rnd = random.Random(seed)
    record[KEY] = text
    line = bytearray(write_json(record, rnd).encode("utf-8"))
    for _ in range(edits):
        at = rnd.randrange(len(line) + 1)
        what = rnd.random()
        if what < 0.3 and at < len(line):
            del line[at]
        elif what < 0.6:
            line[at:at] = bytes([rnd.choice(b'{}[]",:\\ u0dD8eE-+.1nNtf\xff\xc3\xe4\xed\x80\xa0\x00\x1f')])
        elif at < len(line):
            line[at:at] = line[at:at + rnd.randint(1, 6)]
    agrees(bytes(line).replace(b"\n", b" "))


names = st.text(st.sampled_from("ab.\u00e9"), max_size=3)
nested = st.recursive(scalars, lambda inner: st.dictionaries(names, inner, max_size=3), max_leaves=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(names, nested, max_size=4), st.lists(names, min_size=1, max_size=3), texts,
       st.integers(0, 2**32), st.booleans())
def test_scanner_finds_dotted_fields_as_field_value(record, path, text, seed, plant):
    """A field with dots: the top-level name if there is one, else the path
    through nested objects (corpus.field_value), on names made to collide."""
    rnd = random.Random(seed)
    if plant:  # put a string at the path, making the objects on the way
        at = record
        for step in path[:-1]:
            if not isinstance(at.get(step), dict):
                at[step] = {}
            at = at[step]
        at[path[-1]] = text
    field = ".".join(path)
    line = write_json(record, rnd).encode()
    status = agrees(line, True, field)
    if plant and oracle(line, field) is not None:
        assert status != _core.JSONL_UNSURE, (line, field)


@pytest.mark.parametrize("line, expected", [
    (b'{"text": "\\ud83d\\ude00"}', "\U0001f600"),
    (b'{"text": "caf\\u00e9 e\\u0301"}', "caf\u00e9 e\u0301"),
    (b'{"text":"\\"\\\\\\/\\b\\f\\n\\r\\t"}', '"\\/\b\f\n\r\t'),
    (b'{"a": [1, {"b": [true, false, null, -1.5e-3]}], "text": "\xe4\xb8\xad"}', "\u4e2d"),
])
def test_scanner_reads_these_lines(line, expected):
    status, value = extract_one(line)
    assert status in (_core.JSONL_VALUE, _core.JSONL_NEEDS_NFC)
    assert value == expected.encode() and oracle(line) == expected


@pytest.mark.parametrize("line", [
    b'{"text": "\\ud800"}', b'{"text": "a", "text": "b"}', b'{"text": 5}', b'{"a": NaN, "text": "x"}',
    b'{"a": Infinity, "text": "x"}', b'{"te\\u0078t": "x"}', b'{"text": "\xff"}', b'{"a": 1' + b"0" * 5000 + b', "text": "x"}',
    b'{"a": ' + b"[" * 100 + b"]" * 100 + b', "text": "x"}', b'["text"]', b'{"text": "x"} 1',
])
def test_scanner_leaves_uncertain_lines_to_the_exact_path(line):
    assert extract_one(line)[0] == _core.JSONL_UNSURE


# -- the commands against the path they replace ---------------------------------

def corpus_lines():
    """Documents of the sample corpus and of every kind the scanner hands on."""
    rnd = random.Random(7)
    lines = [json.dumps({"id": i, KEY: text}, ensure_ascii=bool(i % 2)) for i, text in enumerate(sample_texts(300))]
    odd = [
        '{"text": "e\\u0301 combining, then emoji \\ud83d\\ude00"}', '{"text": "Ａｌｐｈａ ﬁ \u2126"}',
        '{"text": "dup", "text": "the last one"}', '{"te\\u0078t": "escaped key"}', '{"text": "NaN", "n": NaN}',
        '{"meta": {"x": [1, 2, {"y": null}]}, "text": "nested before"}', '   ', '', '\t\r',
        '{"text": ""}', '{"text": "tabs\\tand\\nnewlines\\r\\n"}', ' {"text" : "spaced" } \r',
        '{"text": "\\u00e9\\u00E9\u00e9"}', '{"text": "\\uD834\\uDD1E clef"}',
    ]
    for line in odd:
        lines.insert(rnd.randrange(len(lines) + 1), line)
    return lines


def expected_files(tmp_path, tok, lines, fmt, n=None, **options):
    """The token files of the old path: json.loads of each line, encode_batch_numpy in one batch."""
    docs = [json.loads(line)[KEY] for line in lines if line.strip()]
    out = tmp_path / f"expected.{fmt}"
    with TokenFileWriter(out, fmt, tok.vocab_size, tok.model.fingerprint()) as writer:
        if n is None:
            writer.write(*tok.encode_batch_numpy(docs, **options))
        else:
            writer.write(*tok.encode_batch_numpy([d for d in docs for _ in range(n)], **options))
    return out


def same_files(got, expected, fmt):
    suffixes = [".bin", ".idx"] if fmt == "bin" else [".npy", ".offsets.npy"]
    for suffix in suffixes:
        assert got.with_suffix(suffix).read_bytes() == expected.with_suffix(suffix).read_bytes(), suffix
    meta = json.loads(pathlib_meta(got, fmt).read_text())
    assert meta == json.loads(pathlib_meta(expected, fmt).read_text())


def pathlib_meta(path, fmt):
    return path.with_name(path.name + ".bytepiece.json") if path.suffix == "." + fmt else path


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of about 2 KB, so that a small corpus spans many of them."""
    monkeypatch.setattr(pipeline, "BLOCK_BYTES", 2000)


@pytest.mark.parametrize("fmt", ["bin", "npy"])
@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_encode_writes_the_token_files_of_the_old_path(tmp_path, tok40k, small_blocks, fmt, compressed, threads):
    lines = corpus_lines()
    data = ("\n".join(lines) + "\n").encode()
    src = tmp_path / ("in.jsonl.gz" if compressed else "in.jsonl")
    src.write_bytes(gzip.compress(data) if compressed else data)
    out = tmp_path / f"out.{fmt}"
    assert cli.main(["encode", "-q", "-m", str(MODEL_40K), "--field", KEY, str(src), "-o", str(out),
                     "--threads", str(threads), "--add-eos"]) == 0
    same_files(out, expected_files(tmp_path, tok40k, lines, fmt, add_eos=True), fmt)


@pytest.mark.parametrize("fmt", ["bin", "npy"])
@pytest.mark.parametrize("compressed", [False, True])
def test_sample_draws_the_streams_of_the_old_path(tmp_path, tok40k, small_blocks, fmt, compressed):
    lines = corpus_lines()
    data = "\n".join(lines).encode()  # the last line without \n
    src = tmp_path / ("in.jsonl.gz" if compressed else "in.jsonl")
    src.write_bytes(gzip.compress(data) if compressed else data)
    out = tmp_path / f"out.{fmt}"
    assert cli.main(["sample", "-q", "-m", str(MODEL_40K), "--field", KEY, str(src), "-o", str(out), "--n", "3",
                     "--alpha", "0.3", "--seed", "11", "--threads", "2"]) == 0
    same_files(out, expected_files(tmp_path, tok40k, lines, fmt, n=3, alpha=0.3, seed=11), fmt)


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_id_lines_are_those_of_the_old_path(tmp_path, monkeypatch, tok40k, small_blocks, compressed, threads):
    """Text ids (-o NAME.ids, the default output) go through the pipeline too: one line per document."""
    runs = []

    def spy(*args, **kwargs):
        runs.append(1)
        return pipeline.encode_field_blocks(*args, **kwargs)

    monkeypatch.setattr(cli, "encode_field_blocks", spy)
    lines = corpus_lines()
    data = ("\n".join(lines) + "\n").encode()
    src = tmp_path / ("in.jsonl.gz" if compressed else "in.jsonl")
    src.write_bytes(gzip.compress(data) if compressed else data)
    docs = [json.loads(line)[KEY] for line in lines if line.strip()]
    out = tmp_path / "out.ids"
    assert cli.main(["encode", "-q", "-m", str(MODEL_40K), "--field", KEY, str(src), "-o", str(out),
                     "--threads", str(threads), "--add-bos"]) == 0
    expected = [" ".join(map(str, ids)) for ids in tok40k.encode_batch(docs, add_bos=True)]
    assert out.read_text().splitlines() == expected
    sampled = tmp_path / "sampled.ids"
    assert cli.main(["sample", "-q", "-m", str(MODEL_40K), "--field", KEY, str(src), "-o", str(sampled),
                     "--n", "2", "--alpha", "0.2", "--seed", "5", "--threads", str(threads),
                     "--output-format", "ids"]) == 0
    repeated = [d for d in docs for _ in range(2)]
    expected = [" ".join(map(str, ids)) for ids in tok40k.encode_batch(repeated, alpha=0.2, seed=5)]
    assert sampled.read_text().splitlines() == expected
    assert len(runs) == 2  # both commands went through the pipeline


def test_encode_without_normalizing_and_with_several_files(tmp_path, tok40k, small_blocks):
    lines = corpus_lines()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"
    first.write_text("\n".join(lines[:150]) + "\n", encoding="utf-8")
    second.write_bytes(gzip.compress(("\n".join(lines[150:]) + "\n").encode()))
    out = tmp_path / "out.bin"
    assert cli.main(["encode", "-q", "-m", str(MODEL_40K), "--field", KEY, str(first), str(second), "-o", str(out),
                     "--no-normalize", "--alpha", "0.5", "--seed", "3"]) == 0
    same_files(out, expected_files(tmp_path, tok40k, lines, "bin", normalize=False, alpha=0.5, seed=3), "bin")


def test_encode_reads_stdin_once(tmp_path, tok40k):
    lines = corpus_lines()
    out = tmp_path / "out.bin"
    subprocess.run([sys.executable, "-m", "bytepiece", "encode", "-q", "-m", str(MODEL_40K), "--field", KEY, "-",
                    "-o", str(out)], input=("\n".join(lines) + "\n").encode(), check=True, cwd=ROOT,
                   env={"PYTHONPATH": str(ROOT)})
    same_files(out, expected_files(tmp_path, tok40k, lines, "bin"), "bin")


def test_dotted_fields_and_special_tokens_read_as_before(tmp_path, tok40k, small_blocks):
    lines = [json.dumps({"meta": {"text": t}}) for t in sample_texts(40)]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.bin"
    assert cli.main(["encode", "-q", "-m", str(MODEL_40K), "--field", "meta.text", str(src), "-o", str(out)]) == 0
    docs = [json.loads(line)["meta"]["text"] for line in lines]
    expected = tmp_path / "expected.bin"
    with TokenFileWriter(expected, "bin", tok40k.vocab_size, tok40k.model.fingerprint()) as writer:
        writer.write(*tok40k.encode_batch_numpy(docs))
    same_files(out, expected, "bin")


# -- errors: the old reader's, for the first bad line in the corpus's order --------

def run_both(monkeypatch, capsys, args):
    """The command's exit status and error line, through the pipeline and through the old reader."""
    results = []
    for pipelined in (True, False):
        with monkeypatch.context() as m:
            if not pipelined:
                m.setattr(cli, "_pipelined", lambda args, corpus: False)
            else:
                m.setattr(pipeline, "BLOCK_BYTES", 300)
            code = cli.main(args)
            results.append((code, capsys.readouterr().err))
    return results


BAD_LINES = {
    "not json": b'{"text": "a"',
    "missing field": b'{"body": "x"}',
    "not a string": b'{"text": ["a"]}',
    "bad utf-8": b'{"text": "caf\xe9"}',
    "not an object": b'["text"]',
    "deep": b'{"text": "x", "a": ' + b"[" * 100000 + b"]" * 100000 + b"}",
}


@pytest.mark.parametrize("bad", sorted(BAD_LINES))
@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("threads", ["1", "2"])
def test_errors_name_the_file_and_line_as_before(tmp_path, monkeypatch, capsys, bad, compressed, threads):
    good = [json.dumps({KEY: t}).encode() for t in sample_texts(60)]
    lines = good[:40] + [BAD_LINES[bad]] + good[40:] + [b'{"oops"}']  # a second error, later
    data = b"\n".join(lines) + b"\n"
    src = tmp_path / ("in.jsonl.gz" if compressed else "in.jsonl")
    src.write_bytes(gzip.compress(data) if compressed else data)
    out = tmp_path / "out.bin"
    (new_code, new_err), (old_code, old_err) = run_both(
        monkeypatch, capsys, ["encode", "-m", str(MODEL_40K), "--field", KEY, str(src), "-o", str(out),
                              "--threads", threads])
    assert new_code == old_code == 1
    assert new_err == old_err and f"{src}:41:" in new_err
    assert not out.exists() and not out.with_suffix(".idx").exists()


def test_errors_replace_reads_bad_utf8_as_before(tmp_path, tok40k, small_blocks):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"text": "caf\xe9 ok"}\n{"text": "fine"}\n')
    out = tmp_path / "out.bin"
    assert cli.main(["encode", "-q", "-m", str(MODEL_40K), "--field", KEY, "--errors", "replace", str(src),
                     "-o", str(out)]) == 0
    expected = tmp_path / "expected.bin"
    with TokenFileWriter(expected, "bin", tok40k.vocab_size, tok40k.model.fingerprint()) as writer:
        writer.write(*tok40k.encode_batch_numpy(["caf\ufffd ok", "fine"]))
    same_files(out, expected, "bin")


@pytest.mark.parametrize("where", ["inside", "last"])
@pytest.mark.parametrize("threads", ["1", "2"])
def test_a_line_too_long_is_refused_as_before(tmp_path, monkeypatch, capsys, where, threads):
    monkeypatch.setattr(validation, "MAX_DOCUMENT_BYTES", 1000)
    good = [json.dumps({KEY: t[:200]}).encode() for t in sample_texts(30)]
    long_line = json.dumps({KEY: "x" * 2000}).encode()
    lines = good[:20] + [long_line] + (good[20:] if where == "inside" else [])
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines))
    (new_code, new_err), (old_code, old_err) = run_both(
        monkeypatch, capsys, ["encode", "-m", str(MODEL_40K), "--field", KEY, str(src), "-o", str(tmp_path / "o.bin"),
                              "--threads", threads])
    assert new_code == old_code == 1
    assert new_err == old_err and f"{src}:21: this line is longer than 1000 bytes" in new_err


@pytest.mark.parametrize("threads", ["1", "2"])
def test_an_earlier_bad_line_wins_over_a_later_line_too_long(tmp_path, monkeypatch, capsys, threads):
    monkeypatch.setattr(validation, "MAX_DOCUMENT_BYTES", 5000)
    lines = [b'{"text": "a"}'] * 10 + [b'{"text": 1}'] + [b'{"text": "b"}'] * 10 + [b"y" * 20000]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    (new_code, new_err), (old_code, old_err) = run_both(
        monkeypatch, capsys, ["encode", "-m", str(MODEL_40K), "--field", KEY, str(src), "-o", str(tmp_path / "o.bin"),
                              "--threads", threads])
    assert new_err == old_err and f"{src}:11: field 'text' is int" in new_err


def test_gzip_cut_short_fails_as_before(tmp_path, monkeypatch, capsys):
    data = gzip.compress(("\n".join(json.dumps({KEY: t}) for t in sample_texts(200)) + "\n").encode())
    src = tmp_path / "in.jsonl.gz"
    src.write_bytes(data[:len(data) // 2])
    (new_code, new_err), (old_code, old_err) = run_both(
        monkeypatch, capsys, ["encode", "-m", str(MODEL_40K), "--field", KEY, str(src), "-o", str(tmp_path / "o.bin")])
    assert new_code == old_code == 1 and new_err == old_err


def test_memory_is_bounded_by_blocks_in_flight(tmp_path, monkeypatch, tok40k):
    """At most two blocks per thread are read ahead of the writer."""
    lines = [json.dumps({KEY: t}) for t in sample_texts(200)]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(pipeline, "BLOCK_BYTES", 500)
    corpus = bytepiece.Corpus([str(src)], field=KEY, spool=False)
    read, ahead = [], []
    blocks = corpus.line_blocks

    def counting(size):
        for block in blocks(size):
            read.append(block)
            yield block

    monkeypatch.setattr(corpus, "line_blocks", counting)
    written = []

    def write(ids, offsets):
        written.append(len(offsets) - 1)
        ahead.append(len(read) - len(written))

    docs = pipeline.encode_field_blocks(corpus, lambda texts, first: tok40k.encode_batch_numpy(texts), write, 2, True)
    assert docs == sum(written) == 200 and len(read) > 20
    assert max(ahead) <= 4


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([b"", b" ", b"\t\r", b'{"text": "a"}', b"x" * 70, "中文".encode()]), max_size=40),
       st.booleans(), st.integers(1, 200))
def test_line_blocks_cut_the_lines_of_raw_lines(tmp_path_factory, lines, final_newline, size):
    """Blocks of whole lines: joined they are the file; their first lines,
    line counts and non-blank counts are those of raw_lines."""
    src = tmp_path_factory.mktemp("blocks") / "in.jsonl"
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    src.write_bytes(data)
    corpus = bytepiece.Corpus([str(src)], field=KEY)
    blocks = list(corpus.line_blocks(size))
    assert b"".join(block.data for block in blocks) == data
    raw = list(corpus.raw_lines())
    assert sum(block.lines for block in blocks) == len(raw)
    assert sum(block.nonblank for block in blocks) == sum(1 for _, line in raw if line.strip())
    line = 1
    for block in blocks:
        assert block.first_line == line and block.data.count(b"\n") in (block.lines, block.lines - 1)
        assert block.data.endswith(b"\n") or block is blocks[-1]
        line += block.lines


def test_the_pipeline_takes_json_lines_read_once(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "a"}\n')
    assert pipeline.field_pipeline_applies(bytepiece.Corpus([str(src)], field=KEY))
    assert pipeline.field_pipeline_applies(bytepiece.Corpus(["-"], field=KEY, spool=False))
    assert not pipeline.field_pipeline_applies(bytepiece.Corpus(["-"], field=KEY))  # spooled: read twice
    assert not pipeline.field_pipeline_applies(bytepiece.Corpus([str(src)]))  # plain lines
    assert not pipeline.field_pipeline_applies(bytepiece.Corpus([str(src)], field="a\ud800"))
    with pytest.raises(ValueError, match="spool=False"):
        next(bytepiece.Corpus(["-"], field=KEY).line_blocks(100))
