"""Type stubs for gdfast._kernels.statistics_avx2: gdfast._kernels.statistics compiled with AVX2 and FMA."""
from gdfast._kernels.statistics import *  # noqa: F403
