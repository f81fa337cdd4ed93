"""Builds the C core in csrc/ behind two thin Cython bindings:
bytepiece._core (tokenizing) and bytepiece._training (the trainer's passes)."""
import glob

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

C_SOURCES = sorted(glob.glob("csrc/*.c"))
# -ffp-contract=off: no fused multiply-add, so the C samplers compute
# bit for bit what the pure-Python reference computes.
GCC_ARGS = ["-O3", "-ffp-contract=off", "-Wall", "-Wno-unused-function"]
# MSVC (Windows wheels): C11 with its atomics (stdatomic.h, VS 2022 17.5+);
# /fp:precise never contracts into FMA unless /fp:contract is given.
MSVC_ARGS = ["/O2", "/std:c11", "/experimental:c11atomics", "/fp:precise"]


class BuildExt(build_ext):
    """The compile arguments of the compiler that builds (GCC and Clang take the same)."""

    def build_extensions(self):
        args = MSVC_ARGS if self.compiler.compiler_type == "msvc" else GCC_ARGS
        for extension in self.extensions:
            extension.extra_compile_args = list(args)
        super().build_extensions()


extensions = [
    Extension(f"bytepiece.{name}", sources=[f"bytepiece/{name}.pyx"] + C_SOURCES, include_dirs=["csrc"])
    for name in ("_core", "_training")
]

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}), cmdclass={"build_ext": BuildExt})
