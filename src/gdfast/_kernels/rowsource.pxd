# The rows an epoch reads, described once: what the loops need to find row i of X.
#
# Only dense rows exist now. A CSR source (data, indices, indptr) is meant to become a second
# kind of this struct, and the loops to branch on the kind once per batch, to a CSR loop of
# their own, never per feature. Dense rows do not report their column indices as
# scikit-learn's SequentialDataset does: a loop over (index, value) pairs reads w through
# the indices, an indexed load per feature, and the dense loops' four-row groups (dot4,
# axpy4), contiguous vector loads and span prefetching would all be lost. A per-batch
# branch keeps one specialised loop per kind, each as fast as it can be.
#
# The CSR kind, as planned: values = data, plus `const int* indices` and `const Py_ssize_t*
# indptr` fields (scipy's int32 indices as they are; int64 ones checked to fit, then
# converted once per fit); a `csr_row(rows, i, &nnz)` accessor giving the row's values and
# indices; accumulate_batch branching on `kind` at its top to a CSR loop (scores by a
# gathered dot, the gradient by a scattered axpy, the feature map's constants per batch as
# for dense rows); and the one-row SGD path keeping each output's weights as a
# ScaledVector (weights.pxd) so that an update with l2 or weight decay stays O(nnz).
#
# A C struct cannot carry the element type of the values: they are kept untyped, and each
# accessor takes a typed pointer of the caller's (the parameters, of the data's dtype) only
# to name that type; the kernel's entry points check that X and the parameters agree.

from cython cimport floating


cdef enum RowKind:
    DENSE_ROWS = 0      # X C-contiguous: row i starts i·n_features values in
    # CSR_ROWS: values = data, with the indices and indptr arrays added below


cdef struct RowSource:
    int kind
    const void* values
    Py_ssize_t n_features
    # No row stride: the entry points take C-contiguous X only (a copy is the caller's
    # choice), and a stride distinct from n_features would cost the four-row loop a register
    # and its span prefetch a multiplication.


cdef inline RowSource dense_rows(const floating* X, Py_ssize_t n_features) noexcept nogil:
    """A C-contiguous matrix of n_features columns."""
    cdef RowSource rows
    rows.kind = DENSE_ROWS
    rows.values = X
    rows.n_features = n_features
    return rows


cdef inline const floating* dense_row(RowSource rows, Py_ssize_t i,
                                      const floating* of_type) noexcept nogil:
    """Where dense row i starts (of_type names the element type only). The source is taken
    by value, and the loops keep their own copy: read through a pointer, its fields would be
    loaded again after every write to the parameters, which the compiler (without strict
    aliasing, as Python extensions are built) must assume may change them."""
    return <const floating*>rows.values + i * rows.n_features
