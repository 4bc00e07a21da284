"""CSR input: the checks it gets once per fit and the arrays the kernel reads.

X arrives as a scipy.sparse CSR matrix or array (validate_data converts CSC, COO and the
other formats to CSR, a copy). Its arrays are used as they are: the values in float32 or
float64, int32 column indices (int64 ones are converted once per fit, a copy of the indices
only), indptr as the kernel's index type (n_samples + 1 values). Duplicate column indices
in a row add up, as in scipy's own products; unsorted indices are fine.
"""
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

# Values per block where row norms are summed: small temporaries, few Python iterations.
NORM_BLOCK_VALUES = 1 << 16


def is_sparse(X):
    return sp.issparse(X) or isinstance(X, KernelCSR)


class KernelCSR(NamedTuple):
    """A CSR matrix and the kernel's checked view of its arrays (the kernel's CSRRows),
    prepared once per fit by gdfast.linear_model._engine.prepare_sparse."""
    matrix: object
    rows: object

    @property
    def shape(self):
        return self.matrix.shape

    @property
    def dtype(self):
        return self.matrix.dtype


def check_csr(X):
    """Refuse a CSR matrix whose structure the kernel cannot read: indptr not running from 0
    to nnz in non-decreasing steps, column indices outside [0, n_features). O(nnz)."""
    n_samples, n_features = X.shape
    indptr, indices = X.indptr, X.indices
    if (indptr.shape[0] != n_samples + 1 or indptr[0] != 0
            or indptr[-1] != X.data.shape[0] or indices.shape[0] != X.data.shape[0]):
        raise ValueError("X is a malformed CSR matrix: indptr must hold n_samples + 1 offsets "
                         "from 0 to the number of stored values, one column index per value. "
                         "Rebuild it with scipy.sparse.csr_matrix((data, indices, indptr)).")
    if n_samples > 1 and np.any(np.diff(indptr) < 0):
        raise ValueError("X is a malformed CSR matrix: its indptr decreases. Rebuild it with "
                         "scipy.sparse.csr_matrix((data, indices, indptr)).")
    if indices.size and (indices.min() < 0 or indices.max() >= n_features):
        raise ValueError(f"X has column indices from {indices.min()} to {indices.max()}; with "
                         f"{n_features} columns they must lie in [0, {n_features}).")


def kernel_arrays(X):
    """(data, int32 indices, intp indptr) of a CSR matrix, for the kernel: no copy of the
    values; int64 indices are converted (a copy of the indices), indptr made intp."""
    indices = X.indices
    if indices.dtype != np.int32:
        if X.shape[1] > np.iinfo(np.int32).max:
            raise ValueError(f"X has {X.shape[1]} columns; gdfast reads sparse matrices of at "
                             f"most {np.iinfo(np.int32).max} columns.")
        indices = indices.astype(np.int32)
    return (np.ascontiguousarray(X.data), np.ascontiguousarray(indices),
            np.ascontiguousarray(X.indptr, dtype=np.intp))


def row_norm_sums(X, sample_weight, fit_intercept):
    """(Σ s·‖(x, 1)‖², max s·‖(x, 1)‖²) over the rows of a CSR X (the 1 only with an
    intercept), a block of rows at a time."""
    X = X.matrix if isinstance(X, KernelCSR) else X
    n_samples = X.shape[0]
    # Duplicate columns add up before squaring; scipy knows (and caches) whether X has any.
    canonical = X.has_canonical_format
    mean_row_nnz = max(1, X.nnz // max(1, n_samples))
    block = max(1, NORM_BLOCK_VALUES // mean_row_nnz)
    total, largest = 0.0, 0.0
    for start in range(0, n_samples, block):
        stop = min(n_samples, start + block)
        lo, hi = X.indptr[start], X.indptr[stop]
        indptr = X.indptr[start:stop + 1] - lo
        values = X.data[lo:hi].astype(np.float64)
        if not canonical:
            # A copy of the block's indices too: summing duplicates sorts them in place.
            block_rows = sp.csr_matrix((values, X.indices[lo:hi].copy(), indptr),
                                       shape=(stop - start, X.shape[1]))
            block_rows.has_canonical_format = False
            block_rows.sum_duplicates()
            values, indptr = block_rows.data, block_rows.indptr
        sums = np.concatenate([[0.0], np.cumsum(values * values)])
        squared_norms = sums[indptr[1:]] - sums[indptr[:-1]]
        squared_norms = (np.maximum(squared_norms, 0.0) + float(fit_intercept)) \
            * sample_weight[start:stop]
        total += float(np.sum(squared_norms))
        largest = max(largest, float(np.max(squared_norms)))
    return total, largest
