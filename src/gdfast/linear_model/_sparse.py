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


def matrix_of(X):
    """The scipy.sparse matrix of X (a KernelCSR's, or X itself)."""
    return X.matrix if isinstance(X, KernelCSR) else X


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
    if n_samples > 1 and np.any(indptr[1:] < indptr[:-1]):     # no n_samples-long diff
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


def row_blocks(X, *, per_column=False):
    """The rows of a CSR X a block at a time, as (start, stop, values, columns, indptr):
    the block's values in float64 with duplicate columns summed (on a copy of the block),
    their columns, and offsets from 0. Blocks hold about NORM_BLOCK_VALUES values, or with
    per_column (the caller makes an n_features vector per block) at least n_features, so
    that the per-block vectors cost no more than the values."""
    n_samples = X.shape[0]
    # scipy knows (and caches) whether X has duplicates.
    canonical = X.has_canonical_format
    mean_row_nnz = max(1, X.nnz // max(1, n_samples))
    block_values = max(NORM_BLOCK_VALUES, X.shape[1]) if per_column else NORM_BLOCK_VALUES
    block = max(1, block_values // mean_row_nnz)
    for start in range(0, n_samples, block):
        stop = min(n_samples, start + block)
        lo, hi = X.indptr[start], X.indptr[stop]
        indptr = X.indptr[start:stop + 1] - lo
        values = X.data[lo:hi].astype(np.float64)       # a copy, whatever X's dtype
        if canonical:
            columns = X.indices[lo:hi]
        else:
            # A copy of the block's indices too: summing duplicates sorts them in place.
            block_rows = sp.csr_matrix((values, X.indices[lo:hi].copy(), indptr),
                                       shape=(stop - start, X.shape[1]))
            block_rows.has_canonical_format = False
            block_rows.sum_duplicates()
            values, columns, indptr = block_rows.data, block_rows.indices, block_rows.indptr
        yield start, stop, values, columns, indptr


def row_norm_sums(X, sample_weight, fit_intercept, inv_scale=None):
    """(Σ s·‖(x∘inv_scale, 1)‖², max s·‖(x∘inv_scale, 1)‖²) over the rows of a CSR X (the 1
    only with an intercept; inv_scale None: all ones), a block of rows at a time."""
    X = matrix_of(X)
    scales = None if inv_scale is None else np.asarray(inv_scale, dtype=np.float64)
    total, largest = 0.0, 0.0
    for start, stop, values, columns, indptr in row_blocks(X):
        if scales is not None:
            values = values * scales[columns]
        sums = np.concatenate([[0.0], np.cumsum(values * values)])
        squared_norms = sums[indptr[1:]] - sums[indptr[:-1]]
        squared_norms = (np.maximum(squared_norms, 0.0) + float(fit_intercept)) \
            * sample_weight[start:stop]
        total += float(np.sum(squared_norms))
        largest = max(largest, float(np.max(squared_norms)))
    return total, largest


def check_finite(X, *, first_row=0):
    """Raise if a stored value of a CSR X is NaN or infinite, naming the first one's row
    (counted from first_row) and column. O(nnz), a block of values at a time."""
    X = matrix_of(X)
    for lo in range(0, X.data.shape[0], NORM_BLOCK_VALUES):
        bad = np.flatnonzero(~np.isfinite(X.data[lo:lo + NORM_BLOCK_VALUES]))
        if bad.size:
            at = lo + int(bad[0])
            row = int(np.searchsorted(X.indptr, at, side="right")) - 1
            kind = "NaN" if np.isnan(X.data[at]) else "infinity"
            raise ValueError(f"X contains {kind} at row {first_row + row}, column "
                             f"{int(X.indices[at])}.")


def weighted_moments(X, sample_weight):
    """(Σ s, the columns' weighted means, their weighted population variances) of a CSR X
    in float64, in two O(nnz) passes over its stored values (a block of rows at a time):
    the means, then the squared deviations from them, each column's implicit zeros adding
    (Σ s over the rows where it is not stored)·mean². Raises if a value is not finite."""
    X = matrix_of(X)
    check_finite(X)
    weights = np.asarray(sample_weight, dtype=np.float64)
    weight = float(np.sum(weights))
    n_features = X.shape[1]
    sums, stored_weight = np.zeros(n_features), np.zeros(n_features)
    # The block's values are its own float64 copy (row_blocks): worked on in place.
    for start, stop, values, columns, indptr in row_blocks(X, per_column=True):
        row_weights = np.repeat(weights[start:stop], np.diff(indptr))
        stored_weight += np.bincount(columns, weights=row_weights, minlength=n_features)
        values *= row_weights
        sums += np.bincount(columns, weights=values, minlength=n_features)
    mean = sums / weight
    del sums
    squares = np.zeros(n_features)
    for start, stop, values, columns, indptr in row_blocks(X, per_column=True):
        values -= mean[columns]
        values *= values
        values *= np.repeat(weights[start:stop], np.diff(indptr))
        squares += np.bincount(columns, weights=values, minlength=n_features)
    variance = (squares + np.maximum(weight - stored_weight, 0.0) * mean * mean) / weight
    return weight, mean, variance


def max_abs(X, sample_weight):
    """The largest |x| of each column of a CSR X over its rows of positive weight (0 for a
    column without one), in float64, a block of rows at a time, a row's repeats of a column
    summed first."""
    X = matrix_of(X)
    weights = np.asarray(sample_weight, dtype=np.float64)
    largest = np.zeros(X.shape[1])
    for start, stop, values, columns, indptr in row_blocks(X):
        kept = np.repeat(weights[start:stop] > 0, np.diff(indptr))
        np.maximum.at(largest, columns[kept], np.abs(values[kept]))
    return largest
