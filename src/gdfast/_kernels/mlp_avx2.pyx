# The same network kernel as mlp.pyx, compiled with AVX2 and FMA (setup.py sets the flags),
# loaded only on CPUs that have both, as linear_avx2 is; BLAS chooses its own code at run time.
include "mlp.pyx"
