"""Extremes that must be handled, not crash or hang: hostile model archives
(size-bounded loading), counts beyond int64, and alphas of any size."""
import gzip
import math
import pickle
import struct
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import bytepiece
from bytepiece import model as model_module
from bytepiece.encoding import MAX_ALPHA, Segmentation
from bytepiece.formats.native import dump_model, load_model, parse_model, save_model
from bytepiece.model import model_from_counts, piece_scores
from conftest import MODEL_40K

MiB = 1 << 20
SMALL_LIMIT = MiB


@pytest.fixture
def small_limit(monkeypatch):
    """MAX_MODEL_BYTES lowered to 1 MiB, so that a hostile file needs only a few MiB to pass it."""
    monkeypatch.setattr(model_module, "MAX_MODEL_BYTES", SMALL_LIMIT)
    return SMALL_LIMIT


@pytest.fixture(scope="module")
def model_json() -> bytes:
    with zipfile.ZipFile(MODEL_40K) as archive:
        return archive.read(archive.namelist()[0])


# -- hostile archives --------------------------------------------------------------

def deflate_bomb(mib: int) -> bytes:
    """A raw deflate stream inflating to ``mib`` MiB of spaces, made in
    milliseconds: after a full flush the compressor's state is reset, so
    every 1 MiB block compresses to the same ~1 KB, repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b" " * MiB) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * mib + compressor.flush()


def raw_zip(payload: bytes, *, file_size: int, crc: int = 0, method: int = zipfile.ZIP_DEFLATED,
            flags: int = 0, name: bytes = b"model.json") -> bytes:
    """A one-member zip whose headers declare whatever we say (sizes, CRC, method, flags)."""
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(payload), file_size,
                        len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0x21, crc, len(payload),
                          file_size, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(payload), 0)
    return local + payload + central + end


def raw_gzip(deflated: bytes, crc: int = 0, size: int = 0) -> bytes:
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflated + struct.pack("<2L", crc, size & 0xFFFFFFFF)


def refused(path, match):
    """load_model(path) raises a ValueError matching ``match`` (and naming the
    file), fast and without inflating much: returns (seconds, peak traced bytes)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=match) as info:
            load_model(path)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    return seconds, peak


def test_the_bomb_builder_builds_bombs():
    d = zlib.decompressobj(-15)
    assert len(d.decompress(deflate_bomb(3))) == 3 * MiB and d.eof
    assert len(deflate_bomb(2048)) < 2.2e6  # 2 GiB of spaces in about 2 MB


def test_zip_declaring_2_gib_is_refused_at_once_with_the_real_limit(tmp_path):
    # The reported case: a 2 MB zip whose member inflates to 2 GiB. (Its data
    # inflates to only 64 MiB here, so that even a regression stays light.)
    path = tmp_path / "bomb.zip"
    path.write_bytes(raw_zip(deflate_bomb(64), file_size=2 << 30))
    assert model_module.MAX_MODEL_BYTES == 1 << 30
    seconds, peak = refused(path, r"declares 2147483648 bytes, more than 1073741824 \(bytepiece.model.MAX_MODEL_BYTES\)")
    assert seconds < 1 and peak < 4 * MiB


def test_zip_over_the_limit_is_refused_by_its_declared_size(tmp_path, small_limit):
    path = tmp_path / "bomb.zip"
    path.write_bytes(raw_zip(deflate_bomb(64), file_size=64 * MiB))
    seconds, peak = refused(path, f"'model.json' declares {64 * MiB} bytes, more than {small_limit}")
    assert seconds < 1 and peak < 4 * MiB


@pytest.mark.parametrize("declared", [1000, SMALL_LIMIT])
def test_zip_whose_header_understates_the_size_stops_early(tmp_path, small_limit, declared):
    # It declares at most the limit but inflates to 64 MiB: reading stops at the
    # declared size (zipfile) and at the limit (ours), and the CRC then fails.
    path = tmp_path / "liar.zip"
    path.write_bytes(raw_zip(deflate_bomb(64), file_size=declared, crc=0x12345678))
    seconds, peak = refused(path, "corrupt compressed model file|MAX_MODEL_BYTES")
    assert seconds < 1 and peak < 4 * small_limit


def test_gzip_bomb_is_refused_when_it_passes_the_limit(tmp_path, small_limit):
    path = tmp_path / "bomb.gz"
    path.write_bytes(raw_gzip(deflate_bomb(64)))
    seconds, peak = refused(path, rf"holds more than {small_limit} bytes \(bytepiece.model.MAX_MODEL_BYTES\)")
    assert seconds < 1 and peak < 4 * small_limit


def test_gzip_bomb_in_many_members_is_refused_too(tmp_path, small_limit):
    member = gzip.compress(b" " * (small_limit // 2))
    (tmp_path / "bomb.gz").write_bytes(member * 64)
    refused(tmp_path / "bomb.gz", f"holds more than {small_limit} bytes")


def test_large_plain_and_gzip_files_are_refused_before_reading(tmp_path, small_limit):
    for name in ("big.model", "big.gz"):
        path = tmp_path / name
        head = b"\x1f\x8b" if name.endswith(".gz") else b"{}"
        path.write_bytes(head + b" " * (2 * small_limit))
        refused(path, rf"the file has {2 * small_limit + 2} bytes, more than {small_limit} \(bytepiece.model.MAX")


@pytest.mark.parametrize("method,flags,match", [
    (zipfile.ZIP_BZIP2, 0, "compression method 12; supported: stored, deflate, lzma"),
    (9, 0, "compression method 9"),  # deflate64: zipfile cannot read it
    (zipfile.ZIP_DEFLATED, 1, "'model.json' is encrypted"),
])
def test_zip_members_zipfile_cannot_bound_or_read_are_value_errors(tmp_path, method, flags, match):
    path = tmp_path / "odd.zip"
    path.write_bytes(raw_zip(deflate_bomb(1), file_size=MiB, method=method, flags=flags))
    refused(path, match)


def test_corrupt_deflate_data_is_a_value_error(tmp_path):
    (tmp_path / "bad.gz").write_bytes(raw_gzip(b"\xff" * 64))
    refused(tmp_path / "bad.gz", "corrupt compressed model file")
    (tmp_path / "bad.zip").write_bytes(raw_zip(b"\xff" * 64, file_size=1000))
    refused(tmp_path / "bad.zip", "corrupt compressed model file")


def test_real_models_load_in_every_container_up_to_the_limit_exactly(tmp_path, monkeypatch, model_json):
    size = len(model_json)
    assert 2e6 < size < 4e6
    expected = load_model(MODEL_40K)  # with the real limit
    (tmp_path / "m.model").write_bytes(model_json)
    half = size // 2
    (tmp_path / "m.model.gz").write_bytes(gzip.compress(model_json[:half]) + gzip.compress(model_json[half:]))
    paths = [MODEL_40K, tmp_path / "m.model", tmp_path / "m.model.gz"]
    monkeypatch.setattr(model_module, "MAX_MODEL_BYTES", size)
    for path in paths:
        assert load_model(path) == expected
    monkeypatch.setattr(model_module, "MAX_MODEL_BYTES", size - 1)
    for path in paths:
        with pytest.raises(ValueError, match=f"{size - 1}.*MAX_MODEL_BYTES"):
            load_model(path)


# -- counts beyond int64 ------------------------------------------------------------

def counts_model(extra):
    counts = {bytes([b]): 1 + b for b in range(256)}
    counts.update(extra)
    return model_from_counts(counts)


def scores_as_063(counts):
    """BytePiece 0.6.3's expression, per Python int: np.log(v) - np.log(sum)."""
    log_total = np.log(sum(counts))
    return np.array([np.log(v) - log_total for v in counts])


def test_numpy_makes_python_ints_int64_then_uint64_then_object():
    # The premise of piece_scores: what 0.6.3's np.log(v) saw for a count v.
    assert np.asarray(2**63 - 1).dtype == np.int64
    assert np.asarray(2**63).dtype == np.asarray(2**64 - 1).dtype == np.uint64
    assert np.asarray(2**64).dtype == object
    with pytest.raises(TypeError):
        np.log(2**64)  # so 0.6.3 failed on a total of 2**64 or more
    assert "l->d" not in np.log.types and "d->d" in np.log.types  # ints are cast to float64


def test_ordinary_scores_are_063s_bit_for_bit(tok40k):
    counts = tok40k.model.counts
    scores = tok40k.model.scores()
    assert scores.dtype == np.float64
    assert np.array_equal(scores, scores_as_063(counts))
    assert np.array_equal(scores, piece_scores(np.array(counts, dtype=np.int64)))
    assert np.array_equal(scores, piece_scores(np.array(counts, dtype=np.uint64)))


@pytest.mark.parametrize("count", [2**60 - 1, 2**61 - 1, 2**61, 2**62])
def test_scores_of_large_array_counts_equal_063s_on_both_sides_of_the_int64_sum(count):
    # Four counts whose int64 sum fits (up to 2**61 - 1 each), and beyond.
    counts = np.array([count, count - 12345, 3, count // 7], dtype=np.uint64)
    assert np.array_equal(piece_scores(counts), scores_as_063(counts.tolist()))


def test_counts_between_2_63_and_2_64_score_as_063_did():
    rng = np.random.default_rng(5)
    extra = {bytes([97, b]): int(c) for b, c in enumerate(rng.integers(2**50, 2**57, 40))}
    extra[b"zz"] = 2**63 + 2**11 + 1  # not a float64: rounds to 2**63 + 2**12
    model = counts_model(extra)
    assert max(model.counts) > 2**63 - 1 and sum(model.counts) < 2**64
    assert np.array_equal(model.scores(), scores_as_063(model.counts))


@pytest.mark.parametrize("huge", [2**64, 2**64 + 1, 10**30, 10**300, 10**400, 10**4000])
def test_any_positive_count_is_accepted(tmp_path, huge):
    model = counts_model({b"ab": huge, b"abc": 7})
    scores = dict(zip(model.pieces, model.scores().tolist()))
    total = sum(model.counts)
    assert all(math.isfinite(s) and s <= 0 for s in scores.values())
    assert scores[b"ab"] == pytest.approx(math.log(huge) - math.log(total), abs=1e-9)
    assert scores[b"abc"] == pytest.approx(math.log(7) - math.log(total), rel=1e-12)
    if huge < 10**300:  # float64 of each count, as for smaller counts
        assert scores[b"ab"] == np.log(float(huge)) - np.log(float(total))
    tok = bytepiece.Tokenizer(model)
    assert tok.encode("abcab") == [tok.piece_to_id(b"ab"), tok.piece_to_id(b"c"), tok.piece_to_id(b"ab")]
    save_model(model, tmp_path / "huge.model")
    again = load_model(tmp_path / "huge.model")
    assert again == model and dict(zip(again.pieces, again.counts))[b"ab"] == huge
    assert np.array_equal(again.scores(), model.scores())
    assert pickle.loads(pickle.dumps(model)) == model
    assert parse_model(dump_model(model)) == model


# -- alphas of any size -------------------------------------------------------------

TEXT = "Extreme alphas: 今天天气不错, the best segmentation 12345!"


@pytest.mark.parametrize("alpha", [MAX_ALPHA * 10, 1e200, 1e308, np.float64(1e308), 10**400, float("inf")])
@pytest.mark.parametrize("sampler", ["perfect", "viterbi"])
def test_alphas_beyond_max_alpha_are_the_best_segmentation(tok40k, alpha, sampler):
    best = tok40k.encode(TEXT)
    assert tok40k.encode(TEXT, alpha=alpha, sampler=sampler) == best
    assert tok40k.encode(TEXT, alpha=alpha, sampler=sampler, seed=9) == best
    assert tok40k.sample(TEXT, 3, alpha=alpha, sampler=sampler) == [best] * 3
    assert tok40k.encode_batch([TEXT, TEXT], alpha=alpha, sampler=sampler) == [best, best]


def test_extreme_alpha_is_resolved_as_deterministic():
    def no_draw():
        raise AssertionError("a deterministic call drew a seed")

    best = Segmentation.resolve(-1, "perfect", None, no_draw)
    assert not best.samples
    for alpha in (1e101, 1e308, 10**400, float("inf")):
        assert Segmentation.resolve(alpha, "viterbi", None, no_draw) == best
    assert Segmentation.resolve(MAX_ALPHA, "perfect", 3, no_draw).samples  # MAX_ALPHA itself still samples
    with pytest.raises(ValueError, match="seed must be in"):
        Segmentation.resolve(1e308, "perfect", -1, no_draw)
    with pytest.raises(ValueError, match="sampler must be one of"):
        Segmentation.resolve(1e308, "gibbs", None, no_draw)
    with pytest.raises(ValueError, match="nan"):
        Segmentation.resolve(float("nan"), "perfect", None, no_draw)


def test_max_alpha_still_samples_and_gives_the_best_on_this_text(tok40k):
    best = tok40k.encode(TEXT)
    for sampler in ("perfect", "viterbi"):
        assert tok40k.sample(TEXT, 2, alpha=MAX_ALPHA, sampler=sampler, seed=1) == [best] * 2
