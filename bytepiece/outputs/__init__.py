"""Outputs: every file bytepiece writes, and the formats of what it writes.

- :mod:`~bytepiece.outputs.atomic`: files that appear whole or not at all
  (written under a temporary name, checked, renamed), and the one ``PathLike``;
- :mod:`~bytepiece.outputs.writers`: text lines of ids, pieces and JSON records;
- :mod:`~bytepiece.outputs.token_files`: binary token files for LM training
  (Megatron-LM ``.bin``/``.idx``, ``.npy``) with their metadata, written and
  read back, and the manifest of token files in shards (docs/spec/token_files.md);
- :mod:`~bytepiece.outputs.ray_encode`: a corpus encoded into token files in
  shards on a Ray cluster (``bytepiece encode --ray``; imported only when used).

Models are written by :mod:`bytepiece.formats`, through :func:`atomic_file`.
"""
from .atomic import PathLike, atomic_file, atomic_files, check_writable

__all__ = ["PathLike", "atomic_file", "atomic_files", "check_writable"]
