"""Builds the C core in csrc/ behind two thin Cython bindings:
bytepiece._core (tokenizing) and bytepiece._training (the trainer's passes)."""
import glob

from Cython.Build import cythonize
from setuptools import Extension, setup

C_SOURCES = sorted(glob.glob("csrc/*.c"))
# -ffp-contract=off: no fused multiply-add, so the C samplers compute
# bit for bit what the pure-Python reference computes.
COMPILE_ARGS = ["-O3", "-ffp-contract=off", "-Wall", "-Wno-unused-function"]

extensions = [
    Extension(f"bytepiece.{name}", sources=[f"bytepiece/{name}.pyx"] + C_SOURCES, include_dirs=["csrc"],
              extra_compile_args=COMPILE_ARGS)
    for name in ("_core", "_training")
]

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}))
