# The rows an epoch reads, described once: what the loops need to find row i of X.
#
# Two kinds: dense rows (X C-contiguous) and CSR rows (scipy's data, indices, indptr). The
# loops branch on the kind once per epoch or batch, to a loop of their own, never per
# feature. Dense rows do not report their column indices as scikit-learn's SequentialDataset
# does: a loop over (index, value) pairs reads w through the indices, an indexed load per
# feature, and the dense loops' four-row groups (dot4, axpy4), contiguous vector loads and
# span prefetching would all be lost. A per-batch branch keeps one specialised loop per
# kind, each as fast as it can be. The CSR loops are in csr.pxd.
#
# CSR indices are int32 (scipy's usual type; int64 ones are converted once per fit by the
# caller) and indptr is Py_ssize_t (converted once per fit: n_samples + 1 values). The entry
# points check that indptr is non-decreasing from 0 to nnz and that every index lies in
# [0, n_features): bounds checks are off in the loops.
#
# A C struct cannot carry the element type of the values: they are kept untyped, and each
# accessor takes a typed pointer of the caller's (the parameters, of the data's dtype) only
# to name that type; the kernel's entry points check that X and the parameters agree.

from cython cimport floating


cdef enum RowKind:
    DENSE_ROWS = 0      # X C-contiguous: row i starts i·n_features values in
    CSR_ROWS = 1        # values = data; row i is data[indptr[i]:indptr[i + 1]]


cdef struct RowSource:
    int kind
    const void* values
    Py_ssize_t n_features
    const int* indices          # CSR rows only: each value's column
    const Py_ssize_t* indptr    # CSR rows only: where each row starts, n_samples + 1 values
    # No row stride: the entry points take C-contiguous X only (a copy is the caller's
    # choice), and a stride distinct from n_features would cost the four-row loop a register
    # and its span prefetch a multiplication.


cdef inline RowSource dense_rows(const floating* X, Py_ssize_t n_features) noexcept nogil:
    """A C-contiguous matrix of n_features columns."""
    cdef RowSource rows
    rows.kind = DENSE_ROWS
    rows.values = X
    rows.n_features = n_features
    rows.indices = NULL
    rows.indptr = NULL
    return rows


cdef inline RowSource csr_rows(const floating* data, const int* indices,
                               const Py_ssize_t* indptr, Py_ssize_t n_features) noexcept nogil:
    """A CSR matrix of n_features columns (indices and indptr already checked)."""
    cdef RowSource rows
    rows.kind = CSR_ROWS
    rows.values = data
    rows.n_features = n_features
    rows.indices = indices
    rows.indptr = indptr
    return rows


cdef inline const floating* dense_row(RowSource rows, Py_ssize_t i,
                                      const floating* of_type) noexcept nogil:
    """Where dense row i starts (of_type names the element type only). The source is taken
    by value, and the loops keep their own copy: read through a pointer, its fields would be
    loaded again after every write to the parameters, which the compiler (without strict
    aliasing, as Python extensions are built) must assume may change them."""
    return <const floating*>rows.values + i * rows.n_features


cdef inline const floating* csr_row(RowSource rows, Py_ssize_t i, const floating* of_type,
                                    const int** indices, Py_ssize_t* nnz) noexcept nogil:
    """CSR row i: its values (returned), their columns (*indices) and their count (*nnz)."""
    cdef Py_ssize_t start = rows.indptr[i]
    nnz[0] = rows.indptr[i + 1] - start
    indices[0] = rows.indices + start
    return <const floating*>rows.values + start
