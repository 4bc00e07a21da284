# Row operations on one sample: the only loops over features in the epoch loop.
# The dot product keeps eight independent partial sums: without -ffast-math the compiler
# may not reorder a floating-point reduction, and fewer accumulators would serialise the
# additions on the adder's latency.

from cython cimport floating


cdef extern from "cpu.h":
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


cdef extern from "dot4.h":
    void gd_dot4_f32(const float* x0, const float* x1, const float* x2, const float* x3,
                     const float* w, Py_ssize_t n, float* out) noexcept nogil
    void gd_dot4_f64(const double* x0, const double* x1, const double* x2, const double* x3,
                     const double* w, Py_ssize_t n, double* out) noexcept nogil


cdef inline void dot4(const floating* x0, const floating* x1, const floating* x2,
                      const floating* x3, const floating* w, Py_ssize_t n,
                      floating* out) noexcept nogil:
    """out[r] = dot(x_r, w, n) for four rows, each exactly as dot computes it (the same eight
    partial sums, added in the same order), but interleaved (_dot4.h). One row's sums form
    one vector chain (float32: 8 lanes; float64: two chains of 4), each addition waiting on
    the previous one's 4-cycle latency, so the FMA units idle 7/8 (float32) or 3/4
    (float64) of the time and float32 gains nothing from its width. Four rows in flight
    fill them: a batch whose rows are in cache becomes compute-bound at the dtype's width."""
    if floating is float:
        gd_dot4_f32(x0, x1, x2, x3, w, n, out)
    else:
        gd_dot4_f64(x0, x1, x2, x3, w, n, out)

cdef inline void axpy4(floating a0, const floating* x0, floating a1, const floating* x1,
                       floating a2, const floating* x2, floating a3, const floating* x3,
                       floating* y, Py_ssize_t n, bint first) noexcept nogil:
    """y += a0·x0, then a1·x1, a2·x2, a3·x3, in that order per entry (first: y = a0·x0, then
    the rest): the same result as scale_into/axpy row after row, with y read and written
    once instead of four times (the store port limits the one-row loop).
    Each statement holds one product, so that where the compiler fuses a multiply and an
    add (FMA) it can only fuse them as axpy does: `a0·x0 + a1·x1` in one expression may be
    fused around either product, and GCC chose the other one."""
    cdef Py_ssize_t j
    cdef floating v
    if first:
        scale_into(a0, x0, y, n)
        for j in range(n):
            v = y[j]
            v = v + a1 * x1[j]
            v = v + a2 * x2[j]
            v = v + a3 * x3[j]
            y[j] = v
    else:
        for j in range(n):
            v = y[j]
            v = v + a0 * x0[j]
            v = v + a1 * x1[j]
            v = v + a2 * x2[j]
            v = v + a3 * x3[j]
            y[j] = v


cdef extern from "row_ops.h":
    float gd_dot_row_f32(const float* x, const float* w, Py_ssize_t n) noexcept nogil
    double gd_dot_row_f64(const double* x, const double* w, Py_ssize_t n) noexcept nogil
    void gd_sgd_row_f32(float* w, const float* x, float step, float a,
                        Py_ssize_t n) noexcept nogil
    void gd_sgd_row_f64(double* w, const double* x, double step, double a,
                        Py_ssize_t n) noexcept nogil


cdef inline floating dot_row(const floating* x, const floating* w,
                             Py_ssize_t n) noexcept nogil:
    """dot(x, w, n), the same sums in the same order, in vector registers (row_ops.h): the
    one-row SGD path's score, where on narrow rows dot's scalar code is most of the row's
    work."""
    if floating is float:
        return gd_dot_row_f32(x, w, n)
    else:
        return gd_dot_row_f64(x, w, n)


cdef inline void sgd_row_step(floating* w, const floating* x, floating step, floating a,
                              Py_ssize_t n) noexcept nogil:
    """w[j] −= step · (a · x[j]) for j < n, in vector registers (row_ops.h): the one-row SGD
    update. The row and w must not overlap."""
    if floating is float:
        gd_sgd_row_f32(w, x, step, a, n)
    else:
        gd_sgd_row_f64(w, x, step, a, n)


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


cdef inline floating dot_mapped(const floating* x, const floating* mean,
                                const floating* inv_scale, const floating* w,
                                Py_ssize_t n) noexcept nogil:
    """((x − mean)∘inv_scale)·w (x∘inv_scale·w when mean is NULL), with the same eight
    partial sums as dot: the one-row path's score on scaled features."""
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    cdef Py_ssize_t j = 0
    cdef Py_ssize_t n8 = n - n % 8
    if mean == NULL:
        while j < n8:
            s0 = s0 + (x[j] * inv_scale[j]) * w[j]
            s1 = s1 + (x[j + 1] * inv_scale[j + 1]) * w[j + 1]
            s2 = s2 + (x[j + 2] * inv_scale[j + 2]) * w[j + 2]
            s3 = s3 + (x[j + 3] * inv_scale[j + 3]) * w[j + 3]
            s4 = s4 + (x[j + 4] * inv_scale[j + 4]) * w[j + 4]
            s5 = s5 + (x[j + 5] * inv_scale[j + 5]) * w[j + 5]
            s6 = s6 + (x[j + 6] * inv_scale[j + 6]) * w[j + 6]
            s7 = s7 + (x[j + 7] * inv_scale[j + 7]) * w[j + 7]
            j += 8
        while j < n:
            s0 = s0 + (x[j] * inv_scale[j]) * w[j]
            j += 1
    else:
        while j < n8:
            s0 = s0 + ((x[j] - mean[j]) * inv_scale[j]) * w[j]
            s1 = s1 + ((x[j + 1] - mean[j + 1]) * inv_scale[j + 1]) * w[j + 1]
            s2 = s2 + ((x[j + 2] - mean[j + 2]) * inv_scale[j + 2]) * w[j + 2]
            s3 = s3 + ((x[j + 3] - mean[j + 3]) * inv_scale[j + 3]) * w[j + 3]
            s4 = s4 + ((x[j + 4] - mean[j + 4]) * inv_scale[j + 4]) * w[j + 4]
            s5 = s5 + ((x[j + 5] - mean[j + 5]) * inv_scale[j + 5]) * w[j + 5]
            s6 = s6 + ((x[j + 6] - mean[j + 6]) * inv_scale[j + 6]) * w[j + 6]
            s7 = s7 + ((x[j + 7] - mean[j + 7]) * inv_scale[j + 7]) * w[j + 7]
            j += 8
        while j < n:
            s0 = s0 + ((x[j] - mean[j]) * inv_scale[j]) * w[j]
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


cdef inline bint tail_line_needed(const void* start, Py_ssize_t stride,
                                  Py_ssize_t n_bytes) noexcept nogil:
    """Whether prefetch_row, given spans of n_bytes that start at start + k·stride (any k:
    the rows of X, or runs of rows), must request the line of a span's last byte besides
    the lines of its 64-byte steps from its first byte. Only if, for some k, that byte lies
    past the last step's line: the spans start at (start mod g) + multiples of g within a
    line, g = gcd(stride, 64), so the latest start is known for all of them at once. Decided
    once per epoch or batch: a test of where each row starts would be a branch that the
    shuffled order makes unpredictable, and on narrow float32 rows it cost more than the
    request it saves."""
    cdef Py_ssize_t g = 64
    cdef Py_ssize_t latest
    while g > 1 and stride % g != 0:
        g //= 2
    latest = 64 - g + <Py_ssize_t>(<size_t>start % <size_t>g)
    return latest + n_bytes > 64 * ((n_bytes + 63) // 64)


cdef inline void prefetch_row(const floating* row, Py_ssize_t n, bint tail) noexcept nogil:
    """Request every cache line of a row of n values. Rows need not start on a line: a
    40-byte float32 row can span two lines, so the line of its last byte is requested too
    when it may differ from those of the 64-byte steps (tail: tail_line_needed). Each
    request takes one of the few slots the core has for misses in flight: on rows of ten
    float64, whose last byte always shares the second step's line, a request for it too
    slowed shuffled epochs down by a fifth."""
    cdef const char* p = <const char*>row
    cdef Py_ssize_t offset, n_bytes = n * sizeof(floating)
    for offset in range(0, n_bytes, 64):
        gd_prefetch(p + offset)
    if tail and n_bytes > 0:
        gd_prefetch(p + n_bytes - 1)


cdef inline void prefetch_sample(const floating* x, Py_ssize_t n_features, const floating* y,
                                 const floating* sample_weight, Py_ssize_t row,
                                 bint weighted, bint tail) noexcept nogil:
    """Request row `row` (its n_features values at x; tail as for prefetch_row), its target
    and its weight. In a shuffled order the target and weight are as scattered as the row:
    y and sample_weight have one value per row (8 MB each for 1M float64 rows), so
    unrequested their loads miss the cache as the row's would, and on narrow rows they
    would cost as much as the row itself."""
    prefetch_row(x, n_features, tail)
    gd_prefetch(y + row)
    if weighted:
        gd_prefetch(sample_weight + row)
