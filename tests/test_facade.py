"""Tokenizer as a facade: every encoding goes through its Encoder.

``Tokenizer.encode`` is inherited from ``encoding.EncodeMixin`` (the default
call answered in one Python frame, the rest handed to the tokenizer's
Encoder); each tokenizer's Encoder draws from that tokenizer's own generator,
also after ``derive`` and unpickling; a subclass may override ``encode``.
"""
from __future__ import annotations

import pickle

import pytest

import bytepiece
from bytepiece.encoding import EncodeMixin, Encoder

TEXT = "今天天气很好我们一起去公园散步然后吃饭" * 3


def test_encode_is_the_encoding_modules_method(tok40k):
    assert bytepiece.Tokenizer.encode is EncodeMixin.encode
    assert "allowed_special" in bytepiece.Tokenizer.encode.__doc__


def test_derived_and_unpickled_tokenizers_encode_from_their_own_generator(tok40k):
    seeded = bytepiece.Tokenizer(tok40k.model, seed=11)
    derived = seeded.derive(2, 1)
    expected = bytepiece.Tokenizer(tok40k.model, seed=derived.seed).encode(TEXT, alpha=0.1)
    assert derived.encode(TEXT, alpha=0.1) == expected
    seeded.encode(TEXT, alpha=0.1)
    copy = pickle.loads(pickle.dumps(seeded))
    assert copy.encode(TEXT, alpha=0.1) == seeded.encode(TEXT, alpha=0.1)


def test_a_subclass_that_overrides_encode_keeps_it(tok40k):
    class Shouting(bytepiece.Tokenizer):
        def encode(self, text, *args, **kwargs):  # type: ignore[override]
            return super().encode(text.upper(), *args, **kwargs)

    tok = Shouting(tok40k.model)
    assert tok.encode("abc") == tok40k.encode("ABC")
    assert tok.derive(0).encode("abc") == tok40k.encode("ABC")
    assert tok.tokenize("abc") == tok40k.tokenize("ABC")


def test_an_encoder_of_a_segmenter_alone(tok40k):
    encoder = Encoder(tok40k.model.segmenter())
    call = dict(add_bos=False, add_eos=False, iter=False, normalize=True, allowed_special=())
    assert encoder.encode(TEXT, alpha=-1, sampler="perfect", seed=None, **call) == tok40k.encode(TEXT)
    assert encoder.encode(TEXT, alpha=0.1, sampler="perfect", seed=5, **call) == tok40k.encode(TEXT, alpha=0.1, seed=5)
    # Without a seed, it draws from an unseeded generator of its own.
    assert (encoder.encode(TEXT, alpha=0.1, sampler="perfect", seed=None, **call)
            != encoder.encode(TEXT, alpha=0.1, sampler="perfect", seed=None, **call))
    assert encoder.nbest(TEXT[:6], 3, with_scores=False, normalize=True) == tok40k.nbest(TEXT[:6], 3)
    with pytest.raises(ValueError, match="special tokens"):
        encoder.encode("a<bos>", alpha=-1, sampler="perfect", seed=None,
                       **dict(call, allowed_special="all"))
