"""Model formats: bytepiece models to and from files, bytepiece's own and other tokenizers'.

One module per format, each converting between a :class:`bytepiece.Model`
and the other format, the other library imported only when used:

- :mod:`.native`: bytepiece's (and BytePiece 0.6.3's) JSON model file, plain,
  gzip or zip (``load_model``, ``save_model``).
- :mod:`.sentencepiece`: SentencePiece ``.model`` files (BytePiece 0.6.3's
  ``convert_to_sentencepiece`` layout); needs ``sentencepiece`` (protobuf).
- :mod:`.huggingface`: Hugging Face ``tokenizer.json`` (a byte-level Unigram
  giving bytepiece's ids); needs ``tokenizers`` to export.
- :mod:`.dictionary`: word-frequency dictionaries (jieba's ``dict.txt``) and
  ``{word: count}`` mappings (0.6.3's ``convert_to_bytepiece``).
"""
