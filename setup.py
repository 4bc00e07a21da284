"""The compiled extension of gdfast; all other metadata lives in pyproject.toml.

Bounds and wraparound checks are off: the kernels validate shapes at their Python entry
points. Set GDFAST_DEBUG=1 at build time to turn the checks back on (and -O0 -g).
-march=native would make wheels crash on older CPUs and -ffast-math breaks the
finiteness checks, so neither is ever used.
"""
import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("GDFAST_DEBUG", "") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
}

if sys.platform == "win32":
    compile_args = ["/Od"] if DEBUG else ["/O2"]
else:
    compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]

extensions = [
    Extension(
        "gdfast._kernel",
        sources=["src_c/_kernel.pyx"],
        extra_compile_args=compile_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=["src_c"],
        compiler_directives=directives,
    ),
)
