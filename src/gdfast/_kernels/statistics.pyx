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
from libc.math cimport fabs, isfinite, sqrt
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy


cdef extern from "moments.h":
    void gd_block_moments_f64(const double* x, Py_ssize_t rows, Py_ssize_t d,
                              const double* w, int unit, const double* shift, const double* q,
                              double* lanes, const double* next, double* first,
                              double* second) noexcept nogil
    void gd_row_distances(const double* lanes, Py_ssize_t rows, float* out) noexcept nogil
    void gd_block_moments_f32(const float* x, Py_ssize_t rows, Py_ssize_t d,
                              const float* w, int unit, const double* shift, const double* q,
                              double* lanes, const float* next, double* first,
                              double* second) noexcept nogil


cdef extern from "cpu.h":
    void gd_prefetch(const void* p) noexcept nogil


cdef extern from "moments.h":
    enum: GD_BLOCK_ROWS


cdef enum:
    # Rows that moments.h reads as one block while it prefetches the next (GD_BLOCK_ROWS).
    BLOCK_ROWS = GD_BLOCK_ROWS
    SEGMENT_ROWS = 8192
    # How many listed rows ahead row_norm_sums asks for: a listed row is scattered, and
    # reading it cold costs a trip to memory that the rows in between can hide.
    ROWS_AHEAD = 8
    # Distances compared at once when rows_at_least and farthest_rows look for the few that
    # pass: a block is a few vector comparisons, and one that holds none is skipped whole.
    SCAN_ROWS = 64


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


cdef void segment_sums(const floating[:, ::1] X, const floating* weights,
                      const double* shift, Py_ssize_t start, Py_ssize_t stop,
                      double* sums, float* distances, const double* q) noexcept nogil:
    """Σ s, Σ s·(x − shift) and Σ s·(x − shift)² over rows start..stop into sums (1 + 2d
    values, the block sums of moments.h added block after block), and each row's
    ‖(x − shift)∘q‖ into distances (unless NULL). weights NULL: every weight is 1,
    and none is read."""
    cdef Py_ssize_t d = X.shape[1], i, j, block, end, rows
    cdef double lanes[4 * BLOCK_ROWS]
    cdef double* lanes_or_null = lanes if distances != NULL else NULL
    cdef const floating* next
    cdef double weight
    cdef bint unit = weights == NULL
    cdef const floating* block_weights
    for j in range(1 + 2 * d):
        sums[j] = 0.0
    if d == 0:
        return
    block = start
    while block < stop:
        end = min(block + BLOCK_ROWS, stop)
        rows = end - block
        next = &X[end, 0] if end + BLOCK_ROWS <= stop else NULL
        if unit:
            sums[0] += rows
        else:
            weight = 0.0
            for i in range(block, end):
                weight += weights[i]
            sums[0] += weight
        block_weights = NULL if unit else weights + block
        if floating is double:
            gd_block_moments_f64(&X[block, 0], rows, d, block_weights, unit, shift,
                                 q if distances != NULL else NULL, lanes_or_null, next,
                                 sums + 1, sums + 1 + d)
        else:
            gd_block_moments_f32(&X[block, 0], rows, d, block_weights, unit, shift,
                                 q if distances != NULL else NULL, lanes_or_null, next,
                                 sums + 1, sums + 1 + d)
        if distances != NULL:
            gd_row_distances(lanes, rows, distances + block)
        block = end


def sample_statistics(const floating[:, ::1] X, Py_ssize_t n_runs, Py_ssize_t run):
    """(mean, inverse scale) of each feature over a sample of X's rows, in float64: n_runs
    runs of `run` consecutive rows, the k-th starting at row k·(n − run) // (n_runs − 1)
    (every row if X has no more than n_runs·run), read in place in two passes, the means,
    then the squared deviations from them. A mean that is not finite is given as 0, and
    the inverse scale is 1/std where the sample shows a finite, positive spread, else 1.
    A run is one trip to memory; rows picked one by one from all over X would be one
    each."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k, i, j, first, runs, length
    if n_runs < 2 or run < 1:
        raise ValueError("the sample needs at least two runs of at least one row.")
    mean_array = np.zeros(d)
    inverse_array = np.zeros(d)
    cdef double[::1] mean = mean_array, inverse = inverse_array
    cdef double e, std
    runs, length = n_runs, run
    if n <= n_runs * run:
        runs, length = 1, n
    with nogil:
        for k in range(runs):
            first = 0 if runs == 1 else (k * (n - run)) // (n_runs - 1)
            for i in range(first, first + length):
                for j in range(d):
                    mean[j] += X[i, j]
        for j in range(d):
            mean[j] = mean[j] / (runs * length) if n > 0 else 0.0
        for k in range(runs):
            first = 0 if runs == 1 else (k * (n - run)) // (n_runs - 1)
            for i in range(first, first + length):
                for j in range(d):
                    e = X[i, j] - mean[j]
                    inverse[j] += e * e
        for j in range(d):
            std = sqrt(inverse[j] / (runs * length)) if n > 0 else 0.0
            inverse[j] = 1.0 / std if isfinite(std) and std > 0 else 1.0
            if not isfinite(mean[j]):
                mean[j] = 0.0
    return mean_array, inverse_array


def shifted_moments(const floating[:, ::1] X, const floating[::1] sample_weight,
                    const double[::1] shift, float[::1] distances=None, int n_threads=1,
                    const double[::1] distance_scale=None):
    """(Σ s, mean, variance) of X's features under the weights s (float64; the population
    variance Σ s·(x − mean)²/Σ s), summed around `shift`; sample_weight None weighs every
    row 1, with no array to read. With `distances` (one float32 per row), each row's
    ‖(x − shift)∘q‖ is written there in the same pass, q = distance_scale (ones if None).
    NaN or infinite values in the result mean X (or the weights) hold a NaN or infinity, or
    the sums overflowed."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k, j
    if (sample_weight is not None and sample_weight.shape[0] != n) or shift.shape[0] != d:
        raise ValueError("sample_weight needs one value per row of X and shift one per column.")
    if distances is not None and distances.shape[0] != n:
        raise ValueError("distances needs one value per row of X.")
    if distance_scale is None:
        distance_scale = np.ones(d)
    if distance_scale.shape[0] != d:
        raise ValueError("distance_scale needs one value per column of X.")
    cdef const double* q = &distance_scale[0] if d > 0 else NULL
    # Without weights the block sums skip a multiplication per value.
    cdef const floating* weights = NULL
    if sample_weight is not None and n > 0:
        weights = &sample_weight[0]
    cdef Py_ssize_t n_segments = (n + SEGMENT_ROWS - 1) // SEGMENT_ROWS
    segment = np.zeros((max(n_segments, 1), 1 + 2 * d), dtype=np.float64)
    cdef double[:, ::1] sums = segment
    cdef float* out = NULL if distances is None else &distances[0]
    # Threads only where each gets segments to sum: starting a team costs more than a
    # small X takes to read.
    cdef int threads = <int> max(1, min(n_threads, n_segments // 2))
    if threads == 1:
        with nogil:
            for k in range(n_segments):
                segment_sums(X, weights, &shift[0], k * SEGMENT_ROWS,
                             min((k + 1) * SEGMENT_ROWS, n), &sums[k, 0], out, q)
    else:
        for k in prange(n_segments, nogil=True, num_threads=threads, schedule="dynamic"):
            segment_sums(X, weights, &shift[0], k * SEGMENT_ROWS,
                         min((k + 1) * SEGMENT_ROWS, n), &sums[k, 0], out, q)
    total = segment.sum(axis=0)         # in segment order: the same for any thread count
    weight = float(total[0])
    # A NaN or infinity in X reaches the result as one, quietly: the caller looks for it.
    with np.errstate(invalid="ignore", over="ignore"):
        first = total[1:1 + d] / weight
        variance = np.maximum(total[1 + d:] / weight - first * first, 0.0)
    return weight, np.asarray(shift) + first, variance


def row_norm_sums(const floating[:, ::1] X, const floating[::1] sample_weight,
                  const double[::1] mean, const double[::1] inv_scale, double intercept_term,
                  const Py_ssize_t[::1] rows=None):
    """(Σ s·q, max s·q) over the rows of X (or those listed in `rows`) of
    q = ‖(x − mean)∘inv_scale‖² + intercept_term: the automatic step's row norms.
    sample_weight None: every s is 1."""
    cdef Py_ssize_t n = X.shape[0] if rows is None else rows.shape[0]
    cdef Py_ssize_t d = X.shape[1], r, i, j
    cdef bint unit = sample_weight is None
    if ((not unit and sample_weight.shape[0] != X.shape[0]) or mean.shape[0] != d
            or inv_scale.shape[0] != d):
        raise ValueError("sample_weight needs one value per row of X, mean and inv_scale one "
                         "per column.")
    if rows is not None:
        for r in range(n):
            if rows[r] < 0 or rows[r] >= X.shape[0]:
                raise IndexError(f"row {rows[r]} is not a row of X ({X.shape[0]} rows).")
    cdef double total = 0.0, largest = 0.0, q
    cdef double[::1] z = np.empty(max(d, 1), dtype=np.float64)
    cdef const char* ahead
    with nogil:
        for r in range(n):
            i = r if rows is None else rows[r]
            if rows is not None and r + ROWS_AHEAD < n and d > 0:
                ahead = <const char*> &X[rows[r + ROWS_AHEAD], 0]
                for j in range(0, d * <Py_ssize_t> sizeof(floating) + 64, 64):
                    gd_prefetch(ahead + j)
            for j in range(d):
                z[j] = (X[i, j] - mean[j]) * inv_scale[j]
            q = squared_norm(&z[0], d) + intercept_term
            if not unit:
                q = sample_weight[i] * q
            total += q
            if q > largest:
                largest = q
    return total, largest


cdef inline int count_at_least(const float* d, Py_ssize_t n, float threshold) noexcept nogil:
    """How many of d[0:n] are at or above threshold: comparisons the compiler vectorizes."""
    cdef int hits = 0
    cdef Py_ssize_t i
    for i in range(n):
        hits += d[i] >= threshold
    return hits


cdef inline int count_above(const float* d, Py_ssize_t n, float threshold) noexcept nogil:
    """How many of d[0:n] are above threshold."""
    cdef int hits = 0
    cdef Py_ssize_t i
    for i in range(n):
        hits += d[i] > threshold
    return hits


def rows_at_least(const float[::1] distances, float threshold):
    """The indices of the distances at or above threshold, in order, in one pass: a block of
    SCAN_ROWS distances is compared at once, and only a block that holds one is gone
    through row by row (the rows listed are usually few)."""
    cdef Py_ssize_t n = distances.shape[0], start, stop, i, count = 0, capacity = 256
    cdef const float* d = &distances[0] if n > 0 else NULL
    cdef Py_ssize_t* rows = <Py_ssize_t*> malloc(capacity * sizeof(Py_ssize_t))
    cdef Py_ssize_t* grown
    cdef bint failed = False
    if rows == NULL:
        raise MemoryError()
    with nogil:
        start = 0
        while start < n:
            stop = min(start + SCAN_ROWS, n)
            if count_at_least(d + start, stop - start, threshold) == 0:
                start = stop
                continue
            if count + SCAN_ROWS > capacity:
                capacity = 2 * capacity + SCAN_ROWS
                grown = <Py_ssize_t*> realloc(rows, capacity * sizeof(Py_ssize_t))
                if grown == NULL:
                    failed = True
                    break
                rows = grown
            for i in range(start, stop):
                if d[i] >= threshold:
                    rows[count] = i
                    count += 1
            start = stop
    if failed:
        free(rows)
        raise MemoryError()
    listed = np.empty(count, dtype=np.intp)
    cdef Py_ssize_t[::1] out = listed
    if count > 0:
        memcpy(&out[0], rows, count * sizeof(Py_ssize_t))
    free(rows)
    return listed


cdef inline bint ranks_below(float d_a, Py_ssize_t a, float d_b, Py_ssize_t b) noexcept nogil:
    """Whether row a (distance d_a) ranks below row b among the farthest: nearer, or as far
    and later."""
    return d_a < d_b or (d_a == d_b and a > b)


def farthest_rows(const float[::1] distances, Py_ssize_t k):
    """The indices of the k largest distances (the earlier row first among equal ones), in
    row order; every row if there are no more than k. NaN distances are never listed. One
    pass over the distances keeping the k farthest so far in a heap whose root is the
    nearest of them. Once the heap is full, a block of SCAN_ROWS distances is compared
    with the root at once, and only a block that holds a farther one is gone through row by
    row (a row as far as the root and later ranks below it)."""
    cdef Py_ssize_t n = distances.shape[0], i, count = 0, parent, child, hole, block, stop
    if k < 0:
        raise ValueError("k must be at least 0.")
    k = min(k, n)
    heap_rows_array = np.empty(max(k, 1), dtype=np.intp)
    heap_distances_array = np.empty(max(k, 1), dtype=np.float32)
    cdef Py_ssize_t[::1] heap_rows = heap_rows_array
    cdef float[::1] heap_distances = heap_distances_array
    cdef float d
    if k == 0:
        return np.empty(0, dtype=np.intp)
    with nogil:
        block = 0
        while block < n:
            stop = min(block + SCAN_ROWS, n)
            if count == k and count_above(&distances[block], stop - block,
                                          heap_distances[0]) == 0:
                block = stop
                continue
            for i in range(block, stop):
                d = distances[i]
                if d != d:
                    continue
                if count < k:
                    # Sift the new row up from the end.
                    hole = count
                    count += 1
                    while hole > 0:
                        parent = (hole - 1) // 2
                        if not ranks_below(d, i, heap_distances[parent], heap_rows[parent]):
                            break
                        heap_distances[hole] = heap_distances[parent]
                        heap_rows[hole] = heap_rows[parent]
                        hole = parent
                elif ranks_below(heap_distances[0], heap_rows[0], d, i):
                    # The new row replaces the root, and sifts down to its place.
                    hole = 0
                    while True:
                        child = 2 * hole + 1
                        if child >= k:
                            break
                        if child + 1 < k and ranks_below(heap_distances[child + 1],
                                                         heap_rows[child + 1],
                                                         heap_distances[child],
                                                         heap_rows[child]):
                            child += 1
                        if not ranks_below(heap_distances[child], heap_rows[child], d, i):
                            break
                        heap_distances[hole] = heap_distances[child]
                        heap_rows[hole] = heap_rows[child]
                        hole = child
                else:
                    continue
                heap_distances[hole] = d
                heap_rows[hole] = i
            block = stop
    listed = heap_rows_array[:count]
    listed.sort()
    return listed


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


cdef Py_ssize_t _checked_rows(Py_ssize_t n_values, const int[::1] indices,
                              const Py_ssize_t[::1] indptr, const double[::1] sample_weight,
                              Py_ssize_t n_features, bint* increasing=NULL) except -1:
    """The CSR matrix's row count, once its arrays are known to describe one: the passes
    below index by them without further checks. *increasing: whether each row's column
    indices strictly increase (then no row repeats a column)."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, r, p
    if n < 0 or sample_weight.shape[0] != n:
        raise ValueError("sample_weight needs one value per row of the CSR matrix.")
    if indptr[0] != 0 or indptr[n] != n_values or indices.shape[0] != n_values:
        raise ValueError("the CSR indptr must run from 0 to the number of stored values.")
    cdef bint ok = True, rising = True
    with nogil:
        for r in range(n):
            if indptr[r + 1] < indptr[r]:
                ok = False
        if ok:
            for r in range(n):
                for p in range(indptr[r], indptr[r + 1]):
                    if indices[p] < 0 or indices[p] >= n_features:
                        ok = False
                    if p > indptr[r] and indices[p] <= indices[p - 1]:
                        rising = False
    if not ok:
        raise ValueError(f"the CSR indptr must not decrease and its column indices must lie "
                         f"in [0, {n_features}).")
    if increasing != NULL:
        increasing[0] = rising
    return n


cdef enum:
    # The passes over a CSR matrix's values below request the per-column line of the value
    # this many places ahead: its column is known long before, and in a scattered order
    # every such line is a cache miss the pass would otherwise wait on.
    CSR_PREFETCH_VALUES = 16


cdef struct ColumnSums:
    # One column's sums in csr_moments, all on one cache line: each stored value reads and
    # writes a single line wherever its column lies (four arrays would be four lines).
    double stamp        # the last row (+ 1) that stored the column: finds repeats
    double shift        # the column's first stored value: its sums are taken around it
    double stored       # Σ s over the rows that store the column
    double first        # Σ s·(x − shift)
    double second       # Σ s·(x − shift)²
    double largest      # max |x| over the rows of positive weight
    double unused[2]


# What csr_moments holds per column while it runs, beside the three vectors it fills: for the
# memory a sparse fit may take (python -m gdfast bench --sparse).
COLUMN_SUMS_BYTES = sizeof(ColumnSums)


def csr_moments(const floating[::1] data, const int[::1] indices, const Py_ssize_t[::1] indptr,
                const double[::1] sample_weight, Py_ssize_t n_features,
                double[::1] max_abs=None):
    """(Σ s, mean, variance) of the columns of a CSR matrix (its data, int32 indices and
    intp indptr) under the row weights s, in float64: one pass over the stored values, each
    column's sums taken around its first stored value (ColumnSums), then per column the
    stored values' mean and squared deviations combined with the implicit zeros' (the
    pairwise update of Chan, Golub and LeVeque: no term is subtracted from a larger one).
    None if a row repeats a column (whose values would have to be summed first). max_abs
    (zeros, n_features values): also each column's largest |x| over the rows of positive
    weight."""
    cdef Py_ssize_t n = _checked_rows(data.shape[0], indices, indptr, sample_weight,
                                      n_features)
    cdef Py_ssize_t r, p, j, n_values = data.shape[0]
    # Summed row by row as each column's `stored` is: for a column stored in every row the
    # two are then equal, and no rounding of their difference poses as implicit zeros
    # (which, times the square of a large mean, would swamp a small variance).
    cdef double weight = 0.0
    cdef bint repeats = False, largest = max_abs is not None
    if largest and max_abs.shape[0] != n_features:
        raise ValueError("max_abs needs one value per column.")
    mean_array = np.zeros(n_features)
    variance_array = np.zeros(n_features)
    cdef double[::1] mean = mean_array, variance = variance_array
    # One more record's bytes than needed, so that the records can start on a cache line.
    block_array = np.zeros((n_features + 1) * sizeof(ColumnSums), dtype=np.uint8)
    cdef unsigned char[::1] block = block_array
    cdef ColumnSums* sums = <ColumnSums*>((<size_t>&block[0] + 63) & ~(<size_t>63))
    cdef ColumnSums* c
    cdef double s, x, d, group_mean, zeros
    with nogil:
        for r in range(n):
            s = sample_weight[r]
            weight += s
            for p in range(indptr[r], indptr[r + 1]):
                if p + CSR_PREFETCH_VALUES < n_values:
                    gd_prefetch(&sums[indices[p + CSR_PREFETCH_VALUES]])
                c = &sums[indices[p]]
                x = data[p]
                if c.stamp == <double>(r + 1):
                    repeats = True
                elif c.stamp == 0.0:
                    c.shift = x
                c.stamp = <double>(r + 1)
                d = x - c.shift
                c.stored += s
                c.first += s * d
                c.second += (s * d) * d
                if s > 0 and fabs(x) > c.largest:
                    c.largest = fabs(x)
            if repeats:
                break
        if not repeats:
            for j in range(n_features):
                c = &sums[j]
                if c.stored > 0:
                    group_mean = c.first / c.stored
                    zeros = max(weight - c.stored, 0.0)
                    mean[j] = (c.shift + group_mean) * (c.stored / weight)
                    # The stored values' squared deviations from their own mean: rounding
                    # may leave them a hair below zero.
                    variance[j] = (max(c.second - c.first * group_mean, 0.0)
                                   + (c.stored * zeros / weight)
                                   * (c.shift + group_mean) * (c.shift + group_mean)) / weight
                if largest and c.largest > max_abs[j]:
                    max_abs[j] = c.largest
    if repeats:
        return None
    return weight, mean_array, variance_array


def csr_row_norm_sums(const floating[::1] data, const int[::1] indices,
                      const Py_ssize_t[::1] indptr, const double[::1] sample_weight,
                      const double[::1] inv_scale, double intercept_term):
    """(Σ s·q, max s·q) over the rows of a CSR matrix of q = ‖x∘inv_scale‖² + intercept_term,
    one pass over the stored values; None if a row repeats a column (the column's value
    would be the repeats' sum). Rows whose indices strictly increase (scipy's canonical
    format) cannot; otherwise repeats are found with a stamp per column, the last row that
    stored it, one more scattered read per value."""
    cdef Py_ssize_t n_features = inv_scale.shape[0]
    cdef bint increasing
    cdef Py_ssize_t n = _checked_rows(data.shape[0], indices, indptr, sample_weight,
                                      n_features, &increasing)
    cdef Py_ssize_t r, p, n_values = data.shape[0]
    stamps_array = np.zeros(0 if increasing else n_features, dtype=np.intp)
    cdef Py_ssize_t[::1] stamps = stamps_array
    cdef double total = 0.0, largest = 0.0, q, value
    cdef bint repeats = False
    with nogil:
        for r in range(n):
            q = 0.0
            for p in range(indptr[r], indptr[r + 1]):
                if p + CSR_PREFETCH_VALUES < n_values:
                    gd_prefetch(&inv_scale[indices[p + CSR_PREFETCH_VALUES]])
                if not increasing:
                    if stamps[indices[p]] == r + 1:
                        repeats = True
                    stamps[indices[p]] = r + 1
                value = data[p] * inv_scale[indices[p]]
                q += value * value
            q = sample_weight[r] * (q + intercept_term)
            total += q
            if q > largest:
                largest = q
    return None if repeats else (total, largest)
