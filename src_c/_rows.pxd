# Row operations on one sample: the only loops over features in the kernel.
# The dot product keeps four independent partial sums: without -ffast-math the compiler
# may not reorder a floating-point reduction, and a single accumulator would serialise
# every addition on the adder's latency.

from cython cimport floating


cdef inline floating dot(const floating* x, const floating* w, Py_ssize_t n) noexcept nogil:
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t j = 0
    cdef Py_ssize_t n4 = n - n % 4
    while j < n4:
        s0 = s0 + x[j] * w[j]
        s1 = s1 + x[j + 1] * w[j + 1]
        s2 = s2 + x[j + 2] * w[j + 2]
        s3 = s3 + x[j + 3] * w[j + 3]
        j += 4
    while j < n:
        s0 = s0 + x[j] * w[j]
        j += 1
    return (s0 + s1) + (s2 + s3)


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
