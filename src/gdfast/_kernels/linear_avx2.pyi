"""Type stubs for gdfast._kernels.linear_avx2: gdfast._kernels.linear compiled with AVX2 and FMA."""
from gdfast._kernels.linear import *  # noqa: F403
