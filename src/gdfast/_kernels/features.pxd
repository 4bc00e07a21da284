# The feature map: the model sees z = (x − mean) · inv_scale, not the raw row x, and every
# place that applies it calls one of the functions below, so that what the map does is
# declared here once.
#
# Now the map centres (inv_scale is NULL: all ones). X is never copied: the loops read raw
# rows and fold the map into the scores and the gradient.
#   scores:    w·z + c = w·x + (c − w·mean)          the offset is taken once per batch
#   gradient:  Σ a·z = Σ a·x − (Σ a)·mean             corrected once at the end of a batch
# A per-feature scale s = inv_scale enters the same way: w·z = (w∘s)·x − (w∘s)·mean, so a
# batch's scores use the scaled weights w∘s (computed once per batch, into scratch), and
# Σ a·z = (Σ a·x − (Σ a)·mean)∘s, one multiplication more in the end-of-batch correction;
# the one-row SGD path reads (x_j − mean_j)·s_j. With s all ones, each of these is today's
# centring exactly. For CSR rows the same algebra keeps an update O(nnz): w·x over the
# row's non-zeros, the mean's share a per-batch constant (w∘s)·mean.
#
# The arrays are kept untyped (a C struct cannot carry the element type); each function
# takes the typed pointers of its caller, which fix that type. The map is taken by value,
# as the row source is (rowsource.pxd, dense_row), so that its fields stay in registers.

from cython cimport floating

from gdfast._kernels.rows cimport dot, dot_centered, axpy


cdef struct FeatureMap:
    bint center             # subtract mean (else the map is the identity)
    const void* mean        # n_features values
    const void* inv_scale   # NULL: every feature's scale is 1 (the only map used now)


cdef inline FeatureMap centring(const floating* mean, bint center) noexcept nogil:
    cdef FeatureMap features
    features.center = center
    features.mean = mean
    features.inv_scale = NULL
    return features


cdef inline floating mapped_dot(FeatureMap features, const floating* x,
                                const floating* w, Py_ssize_t n) noexcept nogil:
    """w·z for one raw row x."""
    if features.center:
        return dot_centered(x, <const floating*>features.mean, w, n)
    return dot(x, w, n)


cdef inline void mapped_step(FeatureMap features, floating step, floating a,
                             const floating* x, floating* w, Py_ssize_t n) noexcept nogil:
    """w −= step · (a · z) for one raw row x: the fused SGD update."""
    cdef const floating* mean = <const floating*>features.mean
    cdef Py_ssize_t j
    if features.center:
        for j in range(n):
            w[j] -= step * (a * (x[j] - mean[j]))
    else:
        for j in range(n):
            w[j] -= step * (a * x[j])


cdef inline double mapped_offset(FeatureMap features, const floating* w,
                                 double intercept, Py_ssize_t n) noexcept nogil:
    """c − w·mean: what w·x needs added to become the score w·z + c."""
    if features.center:
        return intercept - dot(<const floating*>features.mean, w, n)
    return intercept


cdef inline void map_gradient(FeatureMap features, floating* g,
                              Py_ssize_t n) noexcept nogil:
    """Turn a batch's Σ a·x (g[0:n]) into Σ a·z, given Σ a in g[n] (the intercept's entry:
    the map needs fit_intercept, which the entry points check)."""
    if features.center:
        axpy(-g[n], <const floating*>features.mean, g, n)
