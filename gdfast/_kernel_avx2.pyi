"""Type stubs for gdfast._kernel_avx2: gdfast._kernel compiled with AVX2 and FMA."""
from gdfast._kernel import *  # noqa: F403
