"""The compiled kernels (Cython): each .pyx beside the .pxd files it shares. `linear` is the
epoch loop of the linear models; `linear_avx2` is the same source built with AVX2 and FMA."""
