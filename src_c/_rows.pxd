# Row operations on one sample: the only loops over features in the epoch loop.
# The dot product keeps eight independent partial sums: without -ffast-math the compiler
# may not reorder a floating-point reduction, and fewer accumulators would serialise the
# additions on the adder's latency (measured: 4 sums cost 10-15% more per row than 8).

from cython cimport floating


cdef extern from "_cpu.h":
    void gd_prefetch(const void* p) noexcept nogil
    int gd_cpu_has_avx2_fma() noexcept nogil


cdef inline floating dot(const floating* x, const floating* w, Py_ssize_t n) noexcept nogil:
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    cdef Py_ssize_t j = 0
    cdef Py_ssize_t n8 = n - n % 8
    while j < n8:
        s0 = s0 + x[j] * w[j]
        s1 = s1 + x[j + 1] * w[j + 1]
        s2 = s2 + x[j + 2] * w[j + 2]
        s3 = s3 + x[j + 3] * w[j + 3]
        s4 = s4 + x[j + 4] * w[j + 4]
        s5 = s5 + x[j + 5] * w[j + 5]
        s6 = s6 + x[j + 6] * w[j + 6]
        s7 = s7 + x[j + 7] * w[j + 7]
        j += 8
    while j < n:
        s0 = s0 + x[j] * w[j]
        j += 1
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


cdef inline floating dot_centered(const floating* x, const floating* mean, const floating* w,
                                  Py_ssize_t n) noexcept nogil:
    """(x − mean)·w, with the same eight partial sums as dot."""
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    cdef Py_ssize_t j = 0
    cdef Py_ssize_t n8 = n - n % 8
    while j < n8:
        s0 = s0 + (x[j] - mean[j]) * w[j]
        s1 = s1 + (x[j + 1] - mean[j + 1]) * w[j + 1]
        s2 = s2 + (x[j + 2] - mean[j + 2]) * w[j + 2]
        s3 = s3 + (x[j + 3] - mean[j + 3]) * w[j + 3]
        s4 = s4 + (x[j + 4] - mean[j + 4]) * w[j + 4]
        s5 = s5 + (x[j + 5] - mean[j + 5]) * w[j + 5]
        s6 = s6 + (x[j + 6] - mean[j + 6]) * w[j + 6]
        s7 = s7 + (x[j + 7] - mean[j + 7]) * w[j + 7]
        j += 8
    while j < n:
        s0 = s0 + (x[j] - mean[j]) * w[j]
        j += 1
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


cdef inline void axpy(floating a, const floating* x, floating* y, Py_ssize_t n) noexcept nogil:
    """y += a * x"""
    cdef Py_ssize_t j
    for j in range(n):
        y[j] = y[j] + a * x[j]


cdef inline void scale_into(floating a, const floating* x, floating* y, Py_ssize_t n) noexcept nogil:
    """y = a * x"""
    cdef Py_ssize_t j
    for j in range(n):
        y[j] = a * x[j]


cdef inline void prefetch_row(const floating* row, Py_ssize_t n) noexcept nogil:
    """Request every cache line of a row of n values."""
    cdef const char* p = <const char*>row
    cdef Py_ssize_t offset
    for offset in range(0, n * sizeof(floating), 64):
        gd_prefetch(p + offset)
