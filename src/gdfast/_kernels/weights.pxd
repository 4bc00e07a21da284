# A weight vector kept as a scalar times a vector, w = scale · v, for rows that touch few
# features (CSR rows: csr.pxd's plain SGD keeps each output's weights so). With such rows a step's loss part changes only the
# row's non-zero entries, but the l2 penalty and weight decay shrink every weight,
# w ← (1 − lr·λ)·w: kept as scale ← (1 − lr·λ)·scale, that costs O(1), and an update stays
# O(nnz). Dense rows already cost O(n_features) per update, so their loops keep plain
# vectors: the lazy form would only add a multiplication and change the rounding.
#
# How the sparse path uses it (the intercepts, never decayed, stay plain; the outputs share
# one scale, since they decay together, which csr.pxd keeps and shrinks itself because the
# lazy l1 step must be settled before the scale is folded in):
#   score      w·x + c              = scaled_dot(w, row) + c
#   SGD step   w ← (1 − lr·λ)·w − lr·a·x
#                                   = scale ← (1 − lr·λ)·scale; add_scaled(w, −lr·a, row)
#   epoch end  v ← scale·v, scale ← 1, before anything reads w as a vector
# CSR rows are trained uncentred. Centring and scaling (features.pxd) could keep O(nnz) with
# one running scalar more: the map's dense part −(Σ a)·(mean∘s) of every step is a multiple
# of one constant vector m, so w = scale·v + u·m, with u a running scalar (shrink scales it
# too), and the scores' constant w·m = scale·(v·m) + u·(m·m), with v·m updated by each
# add_scaled in O(nnz). A per-feature scale alone (no centring) multiplies x_j by s_j in
# scaled_dot and add_scaled: one multiplication per non-zero.
#
# The values are kept untyped (a C struct cannot carry the element type); each function
# takes the caller's typed row, which fixes it.

from cython cimport floating


cdef struct ScaledVector:
    void* values            # v, n entries
    Py_ssize_t n
    double scale            # w = scale · v


cdef inline ScaledVector scaled_vector(floating* values, Py_ssize_t n) noexcept nogil:
    """w = v: the vector as it is, scale 1."""
    cdef ScaledVector w
    w.values = values
    w.n = n
    w.scale = 1.0
    return w


cdef inline void materialise(ScaledVector* w, const floating* of_type) noexcept nogil:
    """Fold the scale into the values (O(n)): afterwards v is w itself."""
    cdef floating* v = <floating*>w.values
    cdef floating s = <floating>w.scale
    cdef Py_ssize_t j
    if w.scale != 1.0:
        for j in range(w.n):
            v[j] = s * v[j]
        w.scale = 1.0


cdef inline void shrink(ScaledVector* w, double factor, const floating* of_type) noexcept nogil:
    """w ← factor · w in O(1) (the l2 penalty's and weight decay's step). Once |scale| falls
    below 1e-9 it is folded into the values (O(n), once per 1e9 of shrinkage): each
    add_scaled divides by the scale, and v's entries would otherwise grow until adding a
    step to them lost its low bits."""
    if factor == 0.0:
        w.scale = 1.0
        zero_values(w, of_type)
        return
    w.scale *= factor
    if w.scale < 1e-9 and w.scale > -1e-9:
        materialise(w, of_type)


cdef inline void zero_values(ScaledVector* w, const floating* of_type) noexcept nogil:
    cdef floating* v = <floating*>w.values
    cdef Py_ssize_t j
    for j in range(w.n):
        v[j] = 0


cdef inline double scaled_dot(const ScaledVector* w, const floating* data, const int* indices,
                              Py_ssize_t nnz) noexcept nogil:
    """w·x for a sparse row x (its nnz values and their feature indices), in O(nnz). Four
    partial sums: one would chain every addition on the adder's latency (rows.pxd, dot)."""
    cdef const floating* v = <const floating*>w.values
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t k = 0
    while k + 4 <= nnz:
        s0 += data[k] * v[indices[k]]
        s1 += data[k + 1] * v[indices[k + 1]]
        s2 += data[k + 2] * v[indices[k + 2]]
        s3 += data[k + 3] * v[indices[k + 3]]
        k += 4
    while k < nnz:
        s0 += data[k] * v[indices[k]]
        k += 1
    return w.scale * ((s0 + s1) + (s2 + s3))


cdef inline void add_scaled(ScaledVector* w, double a, const floating* data, const int* indices,
                            Py_ssize_t nnz) noexcept nogil:
    """w ← w + a·x for a sparse row x, in O(nnz): v moves by a / scale."""
    cdef floating* v = <floating*>w.values
    cdef floating step = <floating>(a / w.scale)
    cdef Py_ssize_t k
    for k in range(nnz):
        v[indices[k]] += step * data[k]
