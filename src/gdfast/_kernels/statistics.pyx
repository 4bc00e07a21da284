# What a fit needs to know of X before its first epoch, in one read of X: the weighted sums
# that give each feature's mean and variance, whether X is finite, and, when the automatic
# step needs the largest row norm, each row's distance to a point chosen before the pass.
# gdfast/_slow/statistics.py is the slow, obvious twin of this file.
#
# The sums are taken around a shift close to the means (the caller passes the mean of a few
# rows): the variance Σ s·(x − c)²/W − (Σ s·(x − c)/W)² then loses no digits to
# cancellation even for features whose offset dwarfs their spread. Rows are summed in blocks
# of BLOCK_ROWS into segments of SEGMENT_ROWS, and the segments' sums are added in order:
# the rounding grows with the number of blocks, not of rows, and the result does not depend
# on how many threads took the segments.
# Finiteness costs nothing more: a NaN or infinity in X makes its feature's sums NaN or
# infinite (a zero weight times either is NaN); only then is X searched for the first one.

import numpy as np

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport isfinite, sqrt
from libc.stdlib cimport free, malloc

cdef extern from "cpu.h":
    void gd_prefetch(const void* p) noexcept nogil


cdef enum:
    BLOCK_ROWS = 256
    SEGMENT_ROWS = 8192
    LANES = 8
    AHEAD = 32          # rows: how far ahead the pass asks for X's cache lines


cdef inline double lane_sum(const double* lanes) noexcept nogil:
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5])
                                                              + (lanes[6] + lanes[7]))


cdef inline double squared_norm(const double* v, Py_ssize_t n) noexcept nogil:
    """‖v‖²: four independent partial sums, so the additions do not wait on each other
    (without -ffast-math the compiler keeps a reduction's order)."""
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef Py_ssize_t j = 0
    while j + 4 <= n:
        a0 += v[j] * v[j]
        a1 += v[j + 1] * v[j + 1]
        a2 += v[j + 2] * v[j + 2]
        a3 += v[j + 3] * v[j + 3]
        j += 4
    while j < n:
        a0 += v[j] * v[j]
        j += 1
    return (a0 + a1) + (a2 + a3)


cdef inline void add_four_rows(const floating* x0, const floating* x1, const floating* x2,
                               const floating* x3, double s0, double s1, double s2, double s3,
                               bint unit, const double* shift, const double* q2,
                               Py_ssize_t width, double* first, double* second,
                               double* lanes) noexcept nogil:
    """Add four rows' columns 0..width−1 (the pointers offset to the first) into the block's
    Σ s·e and Σ s·e², e = x − shift, and, unless lanes is NULL, each row's Σ q²·e² into its
    LANES partial sums (column k into lane k). unit: every weight is 1, and e² serves the
    variance and the distance alike. Called only through add_rows, so that every inlined
    copy sees its flags as constants and its loop carries no branch."""
    cdef Py_ssize_t k
    cdef double c, e0, e1, e2, e3, r0, r1, r2, r3, u
    for k in range(width):
        c = shift[k]
        e0 = x0[k] - c
        e1 = x1[k] - c
        e2 = x2[k] - c
        e3 = x3[k] - c
        r0 = e0 * e0
        r1 = e1 * e1
        r2 = e2 * e2
        r3 = e3 * e3
        if unit:
            first[k] += (e0 + e1) + (e2 + e3)
            second[k] += (r0 + r1) + (r2 + r3)
        else:
            first[k] += (s0 * e0 + s1 * e1) + (s2 * e2 + s3 * e3)
            second[k] += (s0 * r0 + s1 * r1) + (s2 * r2 + s3 * r3)
        if lanes != NULL:
            u = q2[k]
            lanes[k] += u * r0
            lanes[LANES + k] += u * r1
            lanes[2 * LANES + k] += u * r2
            lanes[3 * LANES + k] += u * r3


cdef inline void add_rows(const floating* x0, const floating* x1, const floating* x2,
                          const floating* x3, double s0, double s1, double s2, double s3,
                          bint unit, const double* shift, const double* q2, Py_ssize_t width,
                          double* first, double* second, double* lanes) noexcept nogil:
    if unit:
        add_four_rows(x0, x1, x2, x3, 1.0, 1.0, 1.0, 1.0, True, shift, q2, width, first,
                      second, lanes)
    else:
        add_four_rows(x0, x1, x2, x3, s0, s1, s2, s3, False, shift, q2, width, first,
                      second, lanes)


cdef int segment_sums(const floating[:, ::1] X, const floating[::1] weights, bint unit,
                      const double* shift, Py_ssize_t start, Py_ssize_t stop,
                      double* sums, float* distances, const double* q2) noexcept nogil:
    """Σ s, Σ s·(x − shift) and Σ s·(x − shift)² over rows start..stop into sums (1 + 2d
    values), and each row's ‖(x − shift)∘q‖ into distances (unless NULL; q2 = q²). unit:
    every weight is 1. -1 if out of memory.
    Four rows at a time: each load and store of a block sum then serves four values of X.
    The rows left over after the last four go through the same code one at a time, as
    four rows of which three weigh nothing."""
    cdef Py_ssize_t d = X.shape[1], i, j, k, block, end, rows
    cdef double lanes[4 * LANES]
    cdef const floating* x0
    cdef const floating* x1
    cdef const floating* x2
    cdef const floating* x3
    cdef double s0, s1, s2, s3
    cdef bint unit_rows
    cdef const char* pf
    cdef double* scratch = <double*> malloc(2 * d * sizeof(double))
    if scratch == NULL:
        return -1
    cdef double* first = scratch            # the block's Σ s·(x − shift)
    cdef double* second = scratch + d       # the block's Σ s·(x − shift)²
    for j in range(1 + 2 * d):
        sums[j] = 0.0
    block = start
    while block < stop:
        end = min(block + BLOCK_ROWS, stop)
        for j in range(2 * d):
            scratch[j] = 0.0
        i = block
        while i < end:
            rows = min(4, end - i)
            x0 = &X[i, 0]
            if rows == 4:
                x1, x2, x3 = &X[i + 1, 0], &X[i + 2, 0], &X[i + 3, 0]
                s0, s1, s2, s3 = weights[i], weights[i + 1], weights[i + 2], weights[i + 3]
                unit_rows = unit
            else:
                x1 = x2 = x3 = x0
                s0, s1, s2, s3 = weights[i], 0.0, 0.0, 0.0
                unit_rows = False
                rows = 1
            if i + AHEAD + 4 <= stop:
                # Ask for the four rows AHEAD rows on, a cache line at a time: left to the
                # hardware prefetcher, one thread read X at half the speed of X @ w.
                pf = <const char*> &X[i + AHEAD, 0]
                for k in range(0, 4 * d * sizeof(floating), 64):
                    gd_prefetch(pf + k)
            sums[0] += (s0 + s1) + (s2 + s3)
            if distances == NULL:
                add_rows(x0, x1, x2, x3, s0, s1, s2, s3, unit_rows, shift, q2, d,
                              first, second, NULL)
            else:
                # Blocks of LANES columns keep each row's distance in lanes that vector
                # registers hold.
                for k in range(4 * LANES):
                    lanes[k] = 0.0
                j = 0
                while j + LANES <= d:
                    add_rows(x0 + j, x1 + j, x2 + j, x3 + j, s0, s1, s2, s3, unit_rows,
                                  shift + j, q2 + j, LANES, first + j, second + j, lanes)
                    j += LANES
                add_rows(x0 + j, x1 + j, x2 + j, x3 + j, s0, s1, s2, s3, unit_rows,
                              shift + j, q2 + j, d - j, first + j, second + j, lanes)
                for k in range(rows):
                    distances[i + k] = sqrt(lane_sum(&lanes[k * LANES]))
            i += rows
        for j in range(2 * d):
            sums[1 + j] += scratch[j]
        block = end
    free(scratch)
    return 0


def shifted_moments(const floating[:, ::1] X, const floating[::1] sample_weight,
                    const double[::1] shift, float[::1] distances=None, int n_threads=1,
                    const double[::1] distance_scale=None):
    """(Σ s, mean, variance) of X's features under the weights s (float64; the population
    variance Σ s·(x − mean)²/Σ s), summed around `shift`. With `distances` (one float32
    per row), each row's ‖(x − shift)∘q‖ is written there in the same pass, q =
    distance_scale (ones if None). NaN or infinite values in the
    result mean X (or the weights) hold a NaN or infinity, or the sums overflowed."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k, j
    if sample_weight.shape[0] != n or shift.shape[0] != d:
        raise ValueError("sample_weight needs one value per row of X and shift one per column.")
    if distances is not None and distances.shape[0] != n:
        raise ValueError("distances needs one value per row of X.")
    if distance_scale is None:
        distance_scale = np.ones(d)
    if distance_scale.shape[0] != d:
        raise ValueError("distance_scale needs one value per column of X.")
    cdef double[::1] squared_scale = np.square(distance_scale)
    cdef const double* q2 = &squared_scale[0] if d > 0 else NULL
    # Unit weights (no sample_weight given) skip a multiplication per value.
    cdef bint unit = bool(np.all(np.asarray(sample_weight) == 1))
    cdef Py_ssize_t n_segments = (n + SEGMENT_ROWS - 1) // SEGMENT_ROWS
    segment = np.zeros((max(n_segments, 1), 1 + 2 * d), dtype=np.float64)
    cdef double[:, ::1] sums = segment
    cdef float* out = NULL if distances is None else &distances[0]
    cdef int failed = 0
    # Threads only where each gets segments to sum: starting a team costs more than a
    # small X takes to read.
    cdef int threads = <int> max(1, min(n_threads, n_segments // 2))
    if threads == 1:
        with nogil:
            for k in range(n_segments):
                if segment_sums(X, sample_weight, unit, &shift[0], k * SEGMENT_ROWS,
                                min((k + 1) * SEGMENT_ROWS, n), &sums[k, 0], out, q2) != 0:
                    failed += 1
    else:
        for k in prange(n_segments, nogil=True, num_threads=threads, schedule="dynamic"):
            if segment_sums(X, sample_weight, unit, &shift[0], k * SEGMENT_ROWS,
                            min((k + 1) * SEGMENT_ROWS, n), &sums[k, 0], out, q2) != 0:
                failed += 1
    if failed:
        raise MemoryError("no memory for the sums of the features")
    total = segment.sum(axis=0)         # in segment order: the same for any thread count
    weight = float(total[0])
    first = total[1:1 + d] / weight
    variance = np.maximum(total[1 + d:] / weight - first * first, 0.0)
    return weight, np.asarray(shift) + first, variance


def row_norm_sums(const floating[:, ::1] X, const floating[::1] sample_weight,
                  const double[::1] mean, const double[::1] inv_scale, double intercept_term,
                  const Py_ssize_t[::1] rows=None):
    """(Σ s·q, max s·q) over the rows of X (or those listed in `rows`) of
    q = ‖(x − mean)∘inv_scale‖² + intercept_term: the automatic step's row norms."""
    cdef Py_ssize_t n = X.shape[0] if rows is None else rows.shape[0]
    cdef Py_ssize_t d = X.shape[1], r, i, j
    if sample_weight.shape[0] != X.shape[0] or mean.shape[0] != d or inv_scale.shape[0] != d:
        raise ValueError("sample_weight needs one value per row of X, mean and inv_scale one "
                         "per column.")
    if rows is not None:
        for r in range(n):
            if rows[r] < 0 or rows[r] >= X.shape[0]:
                raise IndexError(f"row {rows[r]} is not a row of X ({X.shape[0]} rows).")
    cdef double total = 0.0, largest = 0.0, q
    cdef double[::1] z = np.empty(max(d, 1), dtype=np.float64)
    with nogil:
        for r in range(n):
            i = r if rows is None else rows[r]
            for j in range(d):
                z[j] = (X[i, j] - mean[j]) * inv_scale[j]
            q = sample_weight[i] * (squared_norm(&z[0], d) + intercept_term)
            total += q
            if q > largest:
                largest = q
    return total, largest


def first_nonfinite(const floating[:, ::1] X):
    """(row, column) of the first NaN or infinity of X in row order, or None. Each column's
    Σ 0·x is NaN exactly when the column holds one: the search over every value runs only
    then, and only up to the first row found."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i, j
    cdef double[::1] probe = np.zeros(max(d, 1), dtype=np.float64)
    cdef bint found = False
    with nogil:
        for i in range(n):
            for j in range(d):
                probe[j] += 0.0 * X[i, j]
        for j in range(d):
            if not isfinite(probe[j]):
                found = True
        if found:
            for i in range(n):
                for j in range(d):
                    if not isfinite(X[i, j]):
                        with gil:
                            return i, j
    return None


def csr_moments(const floating[::1] data, const int[::1] indices, const Py_ssize_t[::1] indptr,
                const double[::1] sample_weight, Py_ssize_t n_features):
    """(Σ s, mean, variance) of the columns of a CSR matrix (its data, int32 indices and
    intp indptr) under the row weights s, in float64: two passes over the stored values,
    the means, then the squared deviations from them, each column's implicit zeros adding
    (Σ s over the rows that do not store it)·mean². No temporary beyond the three
    n_features vectors it returns or sums into. None if a row repeats a column (whose
    values would have to be summed first): the first pass finds out, the variance vector
    holding, until the second, the last row (+ 1) that stored each column."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, r, p, j
    if n < 0 or sample_weight.shape[0] != n:
        raise ValueError("sample_weight needs one value per row of the CSR matrix.")
    if indptr[0] != 0 or indptr[n] != data.shape[0] or indices.shape[0] != data.shape[0]:
        raise ValueError("the CSR indptr must run from 0 to the number of stored values.")
    cdef bint ok = True
    with nogil:
        for r in range(n):
            if indptr[r + 1] < indptr[r]:
                ok = False
        for p in range(indices.shape[0]):
            if indices[p] < 0 or indices[p] >= n_features:
                ok = False
    if not ok:
        raise ValueError(f"the CSR indptr must not decrease and its column indices must lie "
                         f"in [0, {n_features}).")
    cdef double weight = float(np.sum(sample_weight))
    mean_array = np.zeros(n_features)
    stored_array = np.zeros(n_features)
    variance_array = np.zeros(n_features)
    cdef double[::1] mean = mean_array, stored = stored_array, variance = variance_array
    cdef double s, deviation
    cdef bint repeats = False
    with nogil:
        for r in range(n):
            s = sample_weight[r]
            for p in range(indptr[r], indptr[r + 1]):
                if variance[indices[p]] == <double>(r + 1):
                    repeats = True
                variance[indices[p]] = <double>(r + 1)
                stored[indices[p]] += s
                mean[indices[p]] += data[p] * s
    if repeats:
        return None
    with nogil:
        for j in range(n_features):
            variance[j] = 0.0
        for j in range(n_features):
            mean[j] /= weight
        for r in range(n):
            s = sample_weight[r]
            for p in range(indptr[r], indptr[r + 1]):
                deviation = data[p] - mean[indices[p]]
                variance[indices[p]] += (deviation * deviation) * s
        for j in range(n_features):
            variance[j] = (variance[j] + max(weight - stored[j], 0.0) * mean[j] * mean[j]) / weight
    return weight, mean_array, variance_array
