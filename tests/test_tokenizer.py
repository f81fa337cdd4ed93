"""The public Tokenizer API: BytePiece 0.6.3's calls plus seeds, samplers and bytes."""
import threading
import unicodedata

import numpy as np
import pytest

import bytepiece
from bytepiece import UnknownTokenError

TEXT = "BytePiece 分词器 handles 中文 and English.\n\nSecond paragraph\r\n"


def test_vocab_size_counts_pieces_and_three_specials(tok40k):
    assert tok40k.vocab_size == 39843


def test_encode_tokenize_decode_agree(tok40k):
    ids = tok40k.encode(TEXT)
    pieces = tok40k.tokenize(TEXT)
    assert tok40k.pieces_to_ids(pieces) == ids
    assert tok40k.ids_to_pieces(ids) == pieces
    assert b"".join(pieces) == TEXT.encode()
    assert tok40k.decode(ids) == TEXT


def test_bos_and_eos(tok40k):
    ids = tok40k.encode("hi")
    assert tok40k.encode("hi", add_bos=True) == [1] + ids
    assert tok40k.encode("hi", add_eos=True) == ids + [2]
    assert tok40k.encode("hi", True, True) == [1] + ids + [2]
    assert tok40k.decode([1] + ids + [2, 0]) == "hi"


def test_iter_returns_an_iterator_of_the_same_tokens(tok40k):
    result = tok40k.encode(TEXT, iter=True)
    assert not isinstance(result, list)
    assert list(result) == tok40k.encode(TEXT)
    assert list(tok40k.tokenize(TEXT, iter=True)) == tok40k.tokenize(TEXT)


def test_str_is_nfc_normalized_and_bytes_are_not(tok40k):
    decomposed = "cafe\u0301"
    composed = unicodedata.normalize("NFC", decomposed)
    assert tok40k.encode(decomposed) == tok40k.encode(composed)
    assert tok40k.encode(decomposed.encode()) != tok40k.encode(composed)
    assert b"".join(tok40k.tokenize(decomposed.encode())) == decomposed.encode()
    assert tok40k.decode(tok40k.encode(decomposed)) == composed


def test_bytes_input_may_be_any_bytes(tok40k):
    data = bytes(range(256)) * 3
    assert tok40k.decode_bytes(tok40k.encode(data)) == data
    assert tok40k.encode(bytearray(data)) == tok40k.encode(data)


def test_special_ids_and_names(tok40k):
    assert [tok40k.id_to_piece(i) for i in range(3)] == ["<pad>", "<bos>", "<eos>"]
    assert [tok40k.piece_to_id(p) for p in ("<pad>", "<bos>", "<eos>")] == [0, 1, 2]
    assert tok40k.id_to_piece(tok40k.piece_to_id(b"\xe4\xb8\xad")) == b"\xe4\xb8\xad"


def test_unknown_ids_and_pieces_raise_clear_errors(tok40k):
    with pytest.raises(ValueError, match="unknown token id 39843: ids run from 0 to 39842"):
        tok40k.decode([5, 39843])
    with pytest.raises(ValueError, match="unknown token id -1"):
        tok40k.decode([5, -1])
    with pytest.raises(KeyError):  # BytePiece 0.6.3 code catches KeyError
        tok40k.decode([10**9])
    with pytest.raises(TypeError, match="token ids must be integers"):
        tok40k.decode([5, "x"])
    with pytest.raises(UnknownTokenError, match="not a piece"):
        tok40k.piece_to_id(b"\xff\xff\xff\xff not a piece")
    with pytest.raises(ValueError, match="unknown token id"):
        tok40k.id_to_piece(-2)


def test_decode_accepts_numpy_arrays_and_generators(tok40k):
    ids = tok40k.encode(TEXT)
    assert tok40k.decode(np.array(ids, dtype=np.int32)) == TEXT
    assert tok40k.decode(i for i in ids) == TEXT


def test_decode_errors_policy_for_pieces_ending_inside_a_character(tok40k):
    ids = tok40k.encode("中".encode()[:2])  # half a character
    assert tok40k.decode_bytes(ids) == "中".encode()[:2]
    assert tok40k.decode(ids) == ""
    assert tok40k.decode(ids, errors="replace") == "\ufffd"
    with pytest.raises(UnicodeDecodeError):
        tok40k.decode(ids, errors="strict")


def test_lone_surrogate_is_a_clear_error(tok40k):
    with pytest.raises(UnicodeEncodeError, match="surrogate"):
        tok40k.encode("a\ud800b")


def test_wrong_text_type_is_a_type_error(tok40k):
    with pytest.raises(TypeError, match="text must be str or bytes, not int"):
        tok40k.encode(5)
    with pytest.raises(TypeError):
        tok40k.tokenize(None)


@pytest.mark.parametrize("sampler", ["perfect", "viterbi"])
def test_seed_makes_one_sampling_call_reproducible(tok40k, sampler):
    runs = {tuple(tok40k.encode(TEXT, alpha=0.1, sampler=sampler, seed=42)) for _ in range(3)}
    assert len(runs) == 1
    others = {tuple(tok40k.encode(TEXT, alpha=0.1, sampler=sampler, seed=s)) for s in range(20)}
    assert len(others) > 10
    for ids in others:
        assert tok40k.decode(list(ids)) == TEXT


def test_seeded_tokenizer_replays_its_sequence_of_samples():
    from conftest import MODEL_40K

    a = bytepiece.Tokenizer(MODEL_40K, seed=7)
    b = bytepiece.Tokenizer(MODEL_40K, seed=7)
    first = [a.encode(TEXT, alpha=0.2) for _ in range(5)]
    assert first == [b.encode(TEXT, alpha=0.2) for _ in range(5)]
    assert len({tuple(x) for x in first}) > 1
    a.set_seed(7)
    assert [a.encode(TEXT, alpha=0.2) for _ in range(5)] == first


def test_deterministic_mode_ignores_seed_and_sampler(tok40k):
    ids = tok40k.encode(TEXT)
    assert tok40k.encode(TEXT, alpha=-1, sampler="viterbi", seed=3) == ids
    assert tok40k.encode(TEXT, alpha=-0.5) == ids


def test_bad_sampling_arguments_are_rejected(tok40k):
    with pytest.raises(ValueError, match="sampler must be one of"):
        tok40k.encode("x", alpha=0.1, sampler="gibbs")
    with pytest.raises(ValueError, match="nan"):
        tok40k.encode("x", alpha=float("nan"))
    assert tok40k.encode(TEXT, alpha=float("inf")) == tok40k.encode(TEXT)  # the limit of large alphas
    with pytest.raises(TypeError, match="alpha must be a number"):
        tok40k.encode("x", alpha="0.1")
    with pytest.raises(ValueError, match="seed must be in"):
        tok40k.encode("x", alpha=0.1, seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        tok40k.encode("x", alpha=0.1, seed=1.5)


def test_one_tokenizer_shared_by_threads_gives_serial_results(tok40k):
    texts = [f"{TEXT} {i} " * (1 + i % 50) * 20 for i in range(40)]
    expected = [tok40k.encode(t, alpha=0.1, seed=i) for i, t in enumerate(texts)]
    results = [None] * len(texts)

    def work(worker):
        for i in range(worker, len(texts), 4):
            results[i] = tok40k.encode(texts[i], alpha=0.1, seed=i)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def test_regression_viterbi_tie_goes_to_the_longest_piece():
    """Exact float ties: BytePiece 0.6.3 keeps the longest piece ending at a position."""
    from bytepiece import _core
    from reference import ReferenceDecoder

    pieces = [bytes([b]) for b in range(256)] + [b"aa", b"aaa"]
    scores = np.full(len(pieces), -1.0)
    scores[-2], scores[-1] = -2.0, -3.0  # aa == a+a, aaa == aa+a == a+a+a, exactly
    ids = np.arange(3, 3 + len(pieces), dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
    segmenter = _core.Segmenter(b"".join(pieces), offsets, scores, ids)
    reference = ReferenceDecoder(pieces, scores, ids)
    id_aa, id_aaa, id_a = ids[-2], ids[-1], ids[ord("a")]
    for data, expected in [(b"aa", [id_aa]), (b"aaa", [id_aaa]), (b"aaaa", [id_a, id_aaa])]:
        assert segmenter.encode_lists([data], _core.MODE_BEST, -1.0, None) == [expected]
        assert reference.encode(data) == expected


def test_regression_model_with_a_huge_piece_still_encodes_short_texts_exactly():
    """The decoder's ring buffer is sized by min(longest piece, text): both ends must work."""
    huge = b"ab" * 512  # the longest piece a model may have (1024 bytes)
    tok = bytepiece.Tokenizer.from_pieces({huge: 10**6, b"ab": 5}, add_missing_bytes=True)
    assert tok.tokenize(b"abab") == [b"ab", b"ab"]
    assert tok.tokenize(b"x" + huge + b"y") == [b"x", huge, b"y"]
    for seed in range(5):
        assert tok.decode_bytes(tok.encode(b"x" + huge + b"y", alpha=0.5, seed=seed)) == b"x" + huge + b"y"


def test_regression_default_encode_fast_path_agrees_with_the_general_path(tok40k):
    """The default ``encode`` call skips Segmentation.resolve and the Encoder
    (a tenth of a short document's time): whatever str it gets, NFC or not,
    it must give what the batch path gives, and leave the checks in place."""
    texts = [TEXT, "", "a", "cafe\u0301 \u212b \uf900 中文\n", "x" * 5000 + "\u0301", "\n\n\n"]
    for text in texts:
        for add_bos, add_eos in ((False, False), (True, True)):
            for normalize in (True, False):
                expected = tok40k.encode_batch([text], add_bos=add_bos, add_eos=add_eos, normalize=normalize,
                                               num_threads=1)[0]
                assert tok40k.encode(text, add_bos, add_eos, normalize=normalize) == expected, (text, normalize)
                assert tok40k.encode(text, add_bos, add_eos, -1.0, normalize=normalize) == expected
                assert list(tok40k.encode(text, add_bos, add_eos, iter=True, normalize=normalize)) == expected
    with pytest.raises(ValueError, match="sampler must be one of"):
        tok40k.encode("x", sampler="gibbs")  # checked even where alpha < 0 makes it unused
    with pytest.raises(ValueError, match="seed must be in"):
        tok40k.encode("x", seed=-1)
    with pytest.raises(UnicodeEncodeError, match="surrogate"):
        tok40k.encode("a\ud800b")
