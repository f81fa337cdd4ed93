"""Special tokens wherever text is encoded: tokenize, offsets (one text and batches), lookups by bytes,
and lists of pieces of one type."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bytepiece

NAMES = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


@pytest.fixture(scope="module")
def chat(tok40k):
    return tok40k.with_special_tokens(NAMES)


# Text around the tokens: NFC-changing characters next to them (">" + U+0338 composes to U+226F in
# NFC, but not across a cut), CJK, combining marks, line breaks.
PIECES = st.lists(st.one_of(st.sampled_from(NAMES), st.sampled_from(["\u0338", "e\u0301", "中文", "\n", " ", "a"]),
                            st.text(max_size=6)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(PIECES, st.sampled_from(["all", {"<|endoftext|>"}, ()]), st.booleans())
def test_offsets_with_special_tokens_cover_the_text_and_agree_with_encode(chat, parts, allowed, as_bytes):
    text = "".join(parts)
    data = text.encode("utf-8") if as_bytes else text  # (hypothesis's text holds no lone surrogates)
    ids, spans = chat.encode_with_offsets(data, allowed_special=allowed)
    assert ids == chat.encode(data, allowed_special=allowed)
    assert spans.shape == (len(ids), 2)
    # The spans tile the text in order (a token holding part of a character spans it whole, so
    # neighbours may share a character, never go back).
    assert all(a <= b for a, b in spans.tolist())
    assert all(spans[k, 0] <= spans[k + 1, 0] for k in range(len(ids) - 1))
    if ids:
        assert spans[0, 0] == 0 and spans[-1, 1] == len(data)
    for token_id, (a, b) in zip(ids, spans.tolist()):
        if token_id in chat.special_tokens.values():  # a special token spans exactly its text
            name = next(n for n, i in chat.special_tokens.items() if i == token_id)
            assert data[a:b] == (name.encode() if as_bytes else name)
    batch_ids, offsets, batch = chat.encode_batch_with_offsets([data, data[:3]], allowed_special=allowed)
    assert batch_ids[offsets[0]:offsets[1]].tolist() == ids and batch[offsets[0]:offsets[1]].tolist() == spans.tolist()
    assert batch[offsets[1]:].tolist() == chat.encode_with_offsets(data[:3], allowed_special=allowed)[1].tolist()


def test_tokenize_takes_allowed_special_and_joins_back(chat):
    text = "<|im_start|>user\nhello 世界<|im_end|><|endoftext|>"
    pieces = chat.tokenize(text, allowed_special="all")
    assert pieces[0] == b"<|im_start|>" and pieces[-2:] == [b"<|im_end|>", b"<|endoftext|>"]
    assert b"".join(pieces) == text.encode("utf-8")
    assert b"<|endoftext|>" not in chat.tokenize(text)  # not allowed: ordinary text
    assert list(chat.tokenize(text, iter=True, allowed_special="all")) == pieces


def test_lists_of_pieces_are_bytes_and_round_trip(chat):
    ids = chat.encode("<|im_start|>hi", add_bos=True, add_eos=True, allowed_special="all")
    pieces = chat.ids_to_pieces(ids)
    assert all(isinstance(p, bytes) for p in pieces)
    assert pieces[0] == b"<bos>" and pieces[1] == b"<|im_start|>" and pieces[-1] == b"<eos>"
    assert chat.pieces_to_ids(pieces) == ids
    assert chat.piece_to_id(b"<|endoftext|>") == chat.piece_to_id("<|endoftext|>") == chat.special_tokens["<|endoftext|>"]
    assert chat.id_to_piece(1) == "<bos>"  # one id: 0.6.3's answer, the name
    with pytest.raises(bytepiece.UnknownTokenError):
        chat.piece_to_id(b"<|nope|>")
    with pytest.raises(bytepiece.UnknownTokenError):
        chat.ids_to_pieces([chat.vocab_size])
