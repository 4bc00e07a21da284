"""The compiled extensions of gdfast; all other metadata lives in pyproject.toml.

Each kernel source, two builds on x86-64: gdfast._kernels.linear (and .mlp, .statistics) for
the baseline instruction set and gdfast._kernels.linear_avx2 (and .mlp_avx2,
.statistics_avx2) with AVX2 and FMA, which gdfast
loads only on CPUs that have them (a run-time check, so wheels stay portable). -march=native would make wheels crash on older CPUs
and -ffast-math breaks the finiteness checks, so neither is ever used.

Bounds and wraparound checks are off: the kernels validate shapes at their Python entry
points. Set GDFAST_DEBUG=1 at build time to turn the checks back on (and -O0 -g).
GDFAST_NO_AVX2=1 skips the AVX2 build (e.g. when cross-compiling).
"""
import os
import platform
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
    # -fno-math-errno: sqrt need not set errno, which is what lets the compiler vectorise the
    # adaptive optimizers' loops; IEEE results are unchanged (sqrt(-1) is still NaN).
    compile_args = ["-O0", "-g"] if DEBUG else ["-O3", "-fno-math-errno"]


# OpenMP splits a large batch's gradient over threads (prange in linear.pyx). With GCC on
# Linux it is always there (auditwheel vendors libgomp into wheels); elsewhere the prange
# compiles to a plain loop and gdfast runs on one thread. GDFAST_NO_OPENMP=1 turns it off.
OPENMP = (sys.platform.startswith("linux")
          and os.environ.get("GDFAST_NO_OPENMP", "") in ("", "0"))
openmp_args = ["-fopenmp"] if OPENMP else []


KERNELS = "src/gdfast/_kernels"


def kernel(name, extra_args=()):
    return Extension(
        f"gdfast._kernels.{name}",
        sources=[f"{KERNELS}/{name}.pyx"],
        include_dirs=[KERNELS],
        extra_compile_args=compile_args + openmp_args + list(extra_args),
        extra_link_args=openmp_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )


extensions = [kernel("linear"), kernel("mlp"), kernel("statistics")]
if (platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "win32"
        and os.environ.get("GDFAST_NO_AVX2", "") in ("", "0")):
    extensions += [kernel("linear_avx2", ["-mavx2", "-mfma"]),
                   kernel("mlp_avx2", ["-mavx2", "-mfma"]),
                   kernel("statistics_avx2", ["-mavx2", "-mfma"])]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=["src"],   # cimports name their module in full: gdfast._kernels.rows
        compiler_directives=directives,
    ),
)
