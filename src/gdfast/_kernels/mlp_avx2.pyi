"""Type stubs for gdfast._kernels.mlp_avx2: gdfast._kernels.mlp compiled with AVX2 and FMA."""
from gdfast._kernels.mlp import *  # noqa: F403
