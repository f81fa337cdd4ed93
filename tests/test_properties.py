"""Property-based round trips (hypothesis) over arbitrary str and bytes, every mode."""
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece import _core
from reference import stream_key
from conftest import ROOT, reference_for, core_encode

MODELS = sorted((ROOT / "data" / "models").glob("*"))


@pytest.fixture(scope="module", params=MODELS, ids=[m.name for m in MODELS])
def shipped(request):
    """Every model shipped in data/models."""
    return bytepiece.Tokenizer(request.param)

MODES = [dict(), dict(alpha=0.0), dict(alpha=0.5), dict(alpha=0.1, sampler="viterbi")]

# Text that exercises chunking and multi-byte characters.
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200) | st.text(
    alphabet="ab \n\r\t中文é\u0301😀", max_size=200
)


@pytest.mark.parametrize("kwargs", MODES)
@settings(max_examples=150, deadline=None)
@given(text=texts, seed=st.integers(0, 2**64 - 1))
def test_str_round_trip(shipped, kwargs, text, seed):
    nfc = unicodedata.normalize("NFC", text)
    ids = shipped.encode(text, seed=seed, **kwargs)
    assert shipped.decode(ids) == nfc
    pieces = shipped.tokenize(text, seed=seed, **kwargs)
    assert b"".join(pieces) == nfc.encode()
    assert shipped.pieces_to_ids(pieces) == ids
    assert shipped.decode(shipped.encode(text, seed=seed, normalize=False, **kwargs)) == text


@pytest.mark.parametrize("kwargs", MODES)
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300), seed=st.integers(0, 2**64 - 1))
def test_bytes_round_trip(tiny, shipped, kwargs, data, seed):
    for tok in (tiny, shipped):
        ids = tok.encode(data, seed=seed, **kwargs)
        assert tok.decode_bytes(ids) == data
        assert len(ids) <= len(data)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=120), key=st.integers(0, 2**64 - 1))
def test_core_equals_reference_on_arbitrary_bytes(tiny, data, key):
    ref = reference_for(tiny)
    for mode, alpha in [(_core.MODE_BEST, -1.0), (_core.MODE_SAMPLE_PERFECT, 0.7), (_core.MODE_SAMPLE_VITERBI, 0.7)]:
        k = stream_key(key, 0)
        assert core_encode(tiny, data, mode, alpha, k) == ref.encode(data, mode, alpha, k)
