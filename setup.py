"""Builds bytepiece._core: the plain C core in csrc/ behind a thin Cython binding."""
import glob

from Cython.Build import cythonize
from setuptools import Extension, setup

core = Extension(
    "bytepiece._core",
    sources=["bytepiece/_core.pyx"] + sorted(glob.glob("csrc/*.c")),
    include_dirs=["csrc"],
    # -ffp-contract=off: no fused multiply-add, so the C samplers compute
    # bit for bit what the pure-Python reference computes.
    extra_compile_args=["-O3", "-ffp-contract=off", "-Wall", "-Wno-unused-function"],
)

setup(ext_modules=cythonize([core], compiler_directives={"language_level": "3"}))
