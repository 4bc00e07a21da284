# The feature map: the model sees z = (x − mean) · inv_scale, not the raw row x, and every
# place that applies it calls one of the functions below, so that what the map does is
# declared here once.
#
# The map centres (with center) and scales (inv_scale, NULL when every scale is 1: the
# centring-only loops then run as they are, with no multiplication added). X is never
# copied: the loops read raw rows and fold the map into the scores and the gradient.
#   scores:    w·z + c = w·x + (c − w·mean)          the offset is taken once per batch
#   gradient:  Σ a·z = Σ a·x − (Σ a)·mean             corrected once at the end of a batch
# A per-feature scale s = inv_scale enters the same way: w·z = (w∘s)·x − (w∘s)·mean, so a
# batch's scores use the scaled weights w∘s (computed once per batch, into scratch), and
# Σ a·z = (Σ a·x − (Σ a)·mean)∘s, one multiplication more in the end-of-batch correction;
# the one-row SGD path reads (x_j − mean_j)·s_j. Without centring, z = x∘s: the same
# with the mean's terms left out. With s = NULL, each of these is centring exactly. For CSR
# rows the same algebra keeps an update O(nnz): w·x over the row's non-zeros, the mean's
# share a per-batch constant (w∘s)·mean.
#
# The arrays are kept untyped (a C struct cannot carry the element type); each function
# takes the typed pointers of its caller, which fix that type. The map is taken by value,
# as the row source is (rowsource.pxd, dense_row), so that its fields stay in registers.

from cython cimport floating

from gdfast._kernels.rows cimport (dot, dot_centered, dot_mapped, axpy, dot_row,
                                   sgd_row_step)
from gdfast._kernels.layout cimport weights_start


cdef struct FeatureMap:
    bint center             # subtract mean (else the map is the identity)
    const void* mean        # n_features values
    const void* inv_scale   # n_features values s_j; NULL: every feature's scale is 1


# The identity map z = x as a type of its own, for loops that run one row at a time: a
# loop specialised on RowMap (a fused type) holds, for IdentityMap, neither the tests
# of the map's fields at every row nor the code of the other maps, which kept the one-row
# SGD step too large for the compiler to inline into its loop.
cdef struct IdentityMap:
    char unused             # nothing to carry (C structs may not be empty)

ctypedef fused RowMap:
    IdentityMap
    FeatureMap


cdef inline bint is_identity(FeatureMap features) noexcept nogil:
    return not features.center and features.inv_scale == NULL


cdef inline FeatureMap feature_map(const floating* mean, bint center,
                                   const floating* inv_scale) noexcept nogil:
    """The map z = (x − mean)∘inv_scale (x∘inv_scale without center; inv_scale NULL for
    none)."""
    cdef FeatureMap features
    features.center = center
    features.mean = mean
    features.inv_scale = inv_scale
    return features


cdef inline const floating* mapped_weights(FeatureMap features, const floating* theta,
                                           floating* scaled, Py_ssize_t n_outputs,
                                           Py_ssize_t n) noexcept nogil:
    """The parameters the raw rows are multiplied by: theta itself without scales, else
    `scaled` filled with each output's weights w∘s and its intercept (n + 1 values per
    output, theta's layout), computed once per batch."""
    cdef const floating* s = <const floating*>features.inv_scale
    cdef Py_ssize_t k, j, start
    if s == NULL:
        return theta
    for k in range(n_outputs):
        start = weights_start(k, n)
        for j in range(n):
            scaled[start + j] = theta[start + j] * s[j]
        scaled[start + n] = theta[start + n]
    return scaled


cdef inline floating mapped_dot(RowMap features, const floating* x,
                                const floating* w, Py_ssize_t n) noexcept nogil:
    """w·z for one raw row x."""
    if RowMap is IdentityMap:
        return dot_row(x, w, n)
    else:
        if features.inv_scale != NULL:
            return dot_mapped(x, <const floating*>features.mean if features.center else NULL,
                              <const floating*>features.inv_scale, w, n)
        if features.center:
            return dot_centered(x, <const floating*>features.mean, w, n)
        return dot_row(x, w, n)


cdef inline floating mapped_entry(const floating* x, const floating* mean,
                                  const floating* s, Py_ssize_t j) noexcept nogil:
    """z_j of raw row x: (x_j − mean_j)·s_j, without the mean or the scale when NULL."""
    cdef floating v = x[j]
    if mean != NULL:
        v = v - mean[j]
    if s != NULL:
        v = v * s[j]
    return v


cdef inline floating mapped_overlap(RowMap features, const floating* x,
                                    const floating* x2, Py_ssize_t n) noexcept nogil:
    """z·z2 for two raw rows x and x2, with dot's eight partial sums: the one-row path's
    look-ahead correction (sgd_rows). With unit scales and no centring, the same number,
    bit for bit, as the identity map's."""
    cdef const floating* mean
    cdef const floating* s
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    cdef Py_ssize_t j = 0
    cdef Py_ssize_t n8 = n - n % 8
    if RowMap is IdentityMap:
        return dot_row(x, x2, n)
    else:
        mean = <const floating*>features.mean if features.center else NULL
        s = <const floating*>features.inv_scale
        while j < n8:
            s0 = s0 + mapped_entry(x, mean, s, j) * mapped_entry(x2, mean, s, j)
            s1 = s1 + mapped_entry(x, mean, s, j + 1) * mapped_entry(x2, mean, s, j + 1)
            s2 = s2 + mapped_entry(x, mean, s, j + 2) * mapped_entry(x2, mean, s, j + 2)
            s3 = s3 + mapped_entry(x, mean, s, j + 3) * mapped_entry(x2, mean, s, j + 3)
            s4 = s4 + mapped_entry(x, mean, s, j + 4) * mapped_entry(x2, mean, s, j + 4)
            s5 = s5 + mapped_entry(x, mean, s, j + 5) * mapped_entry(x2, mean, s, j + 5)
            s6 = s6 + mapped_entry(x, mean, s, j + 6) * mapped_entry(x2, mean, s, j + 6)
            s7 = s7 + mapped_entry(x, mean, s, j + 7) * mapped_entry(x2, mean, s, j + 7)
            j += 8
        while j < n:
            s0 = s0 + mapped_entry(x, mean, s, j) * mapped_entry(x2, mean, s, j)
            j += 1
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


cdef inline void mapped_step(RowMap features, floating step, floating a,
                             const floating* x, floating* w, Py_ssize_t n) noexcept nogil:
    """w −= step · (a · z) for one raw row x: the fused SGD update."""
    cdef const floating* mean
    cdef const floating* s
    cdef Py_ssize_t j
    if RowMap is IdentityMap:
        sgd_row_step(w, x, step, a, n)
    else:
        mean = <const floating*>features.mean
        s = <const floating*>features.inv_scale
        if s != NULL and features.center:
            for j in range(n):
                w[j] -= step * (a * ((x[j] - mean[j]) * s[j]))
        elif s != NULL:
            for j in range(n):
                w[j] -= step * (a * (x[j] * s[j]))
        elif features.center:
            for j in range(n):
                w[j] -= step * (a * (x[j] - mean[j]))
        else:
            sgd_row_step(w, x, step, a, n)


cdef inline double mapped_offset(FeatureMap features, const floating* w,
                                 double intercept, Py_ssize_t n) noexcept nogil:
    """c − w·mean: what w·x needs added to become the score w·z + c, w being the weights
    the raw rows are multiplied by (mapped_weights: w∘s when scaled)."""
    if features.center:
        return intercept - dot(<const floating*>features.mean, w, n)
    return intercept


cdef inline void map_gradient(FeatureMap features, floating* g,
                              Py_ssize_t n) noexcept nogil:
    """Turn a batch's Σ a·x (g[0:n]) into Σ a·z, given Σ a in g[n] (the intercept's entry:
    the map needs fit_intercept, which the entry points check)."""
    cdef const floating* s = <const floating*>features.inv_scale
    cdef Py_ssize_t j
    if features.center:
        axpy(-g[n], <const floating*>features.mean, g, n)
    if s != NULL:
        for j in range(n):
            g[j] = g[j] * s[j]
