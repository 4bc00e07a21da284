"""What a fit learns of the features before its first epoch, in one compiled read of X: the
weighted means and standard deviations (centring and scaling), the check that X is finite,
and what the automatic step needs of the row norms; and how the moments of two sets of rows
combine into those of their union (a stream's chunks)."""
import importlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gdfast.linear_model import _engine, _sparse


def _select_kernel():
    """The build of the statistics kernel that matches the epoch loop's: AVX2 and FMA where
    _engine runs its AVX2 build, the baseline otherwise."""
    avx2 = _engine.kernel.__name__.endswith("_avx2")
    return importlib.import_module("gdfast._kernels.statistics" + ("_avx2" if avx2 else ""))


_kernel = _select_kernel()

# Rows whose mean is the point the sums are taken around: enough that it lies close to the
# means next to the spread of most data, few enough to cost nothing next to the pass. They
# are taken in SHIFT_RUNS runs of consecutive rows, evenly spaced through X: rows read one by
# one from all over X would each cost a trip to memory, a run costs one.
SHIFT_ROWS = 1024
SHIFT_RUNS = 64
# Relative slack on the bounds of the row norms: far above the rounding of the distances
# (stored in float32) and of the bounds themselves.
BOUND_SLACK = 1e-5
# Candidate rows for the largest row norm read first, those of the highest upper bounds (the
# farthest rows, when the weights are equal): the largest norm among them usually leaves few
# other rows whose bound still reaches it.
CHECKED_ROWS = 64
# Rows (or features) per block where per-row (per-feature) values are combined in NumPy: no
# temporary of a row (feature) count.
ROW_BLOCK = 1 << 16


def check_finite(X, *, first_row=0):
    """Raise if X holds a NaN or infinity, naming the first one's row (counted from
    first_row, for a part of a larger X) and column."""
    if _sparse.is_sparse(X):
        _sparse.check_finite(X, first_row=first_row)
        return
    where = _kernel.first_nonfinite(X)
    if where is not None:
        row, column = where
        kind = "NaN" if np.isnan(X[row, column]) else "infinity"
        raise ValueError(f"X contains {kind} at row {first_row + row}, column {column}.")


class Moments(NamedTuple):
    """The weighted moments of a set of rows, in float64: the sum of their weights, the
    features' weighted means and their weighted (population) variances; for scale="maxabs"
    also each feature's largest |x| over the rows of positive weight."""
    weight: float
    mean: np.ndarray
    variance: np.ndarray
    max_abs: np.ndarray | None = None


def combined_moments(first, second):
    """The Moments of the union of two disjoint sets of rows, from theirs (the pairwise
    update of Chan, Golub and LeVeque: exact up to rounding, whatever the sets' sizes)."""
    total = first.weight + second.weight
    share = second.weight / total
    delta = second.mean - first.mean
    mean = first.mean + share * delta
    variance = ((1.0 - share) * first.variance + share * second.variance
                + share * (1.0 - share) * delta * delta)
    max_abs = (None if first.max_abs is None or second.max_abs is None
               else np.maximum(first.max_abs, second.max_abs))
    return Moments(total, mean, variance, max_abs)


def statistics_from_moments(moments, dtype, *, center, scale):
    """(mean, inv_scale) in dtype from Moments: the means (zeros without center) and the
    inverse scales: with scale=True the standard deviations, with scale="maxabs" the
    largest |x|; ones without scale, and for constant (all-zero) features."""
    mean = moments.mean if center else np.zeros_like(moments.mean)
    if scale == "maxabs":
        inv_scale = _inverse_max_abs(moments.max_abs)
    elif scale:
        inv_scale = _inverse_scale(moments.mean, moments.variance, moments.weight)
    else:
        inv_scale = np.ones_like(moments.mean)
    return mean.astype(dtype), inv_scale.astype(dtype)


def weighted_moments(X, sample_weight, *, n_threads=1, max_abs=False):
    """The Moments of the rows of X under sample_weight (one read of X; a second for
    max_abs on dense X)."""
    return describe_features(X, sample_weight, center=True,
                             scale="maxabs" if max_abs else False,
                             n_threads=n_threads).moments()


def feature_statistics(X, sample_weight, *, center, scale):
    """(mean, inv_scale) in X's dtype: the features' weighted means (zeros without center)
    and the inverses of their weighted standard deviations (ones without scale, and for
    constant features). Raises if X holds a NaN or infinity."""
    statistics = describe_features(X, sample_weight, center=center, scale=scale)
    return statistics.mean, statistics.inv_scale


def describe_features(X, sample_weight, *, center, scale, distances=False, n_threads=1):
    """The FeatureStatistics of X under the weights (one read of X on n_threads threads).
    distances: also keep each row's distance to the point the sums were taken around, for
    FeatureStatistics.largest_norm to find the largest row norm without reading all of X
    again. sample_weight None: every row weighs 1 (no array of weights is read)."""
    if _sparse.is_sparse(X):
        return _describe_sparse(X, _weights_or_ones(sample_weight, X.shape[0]), center=center,
                                scale=scale)
    n_samples = X.shape[0]
    if sample_weight is not None:
        sample_weight = np.ascontiguousarray(sample_weight, dtype=X.dtype)   # no copy of X
    row_distances = np.empty(n_samples, dtype=np.float32) if distances else None
    # The distances are measured in the sample's estimate of the scales, so that bounds on
    # the scaled rows' norms stay tight (largest_norm).
    shift, estimated_inverse_scale = _kernel.sample_statistics(X, SHIFT_RUNS,
                                                               SHIFT_ROWS // SHIFT_RUNS)
    distance_scale = estimated_inverse_scale if scale else np.ones(X.shape[1])
    # A NaN or infinity in X would warn on its way through the sums; it is reported below.
    with np.errstate(invalid="ignore", over="ignore"):
        weight, mean, variance = _kernel.shifted_moments(X, sample_weight, shift,
                                                         row_distances, n_threads,
                                                         distance_scale)
    if not (np.isfinite(weight) and np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))):
        check_finite(X)
        if not np.isfinite(weight):
            raise ValueError("sample_weight sums to infinity: give smaller weights.")
        raise ValueError("X's values are too large to sum in float64: scale X down before "
                         "fitting (e.g. with StandardScaler).")
    largest = _dense_max_abs(X, sample_weight) if scale == "maxabs" else None
    model_mean, inv_scale = statistics_from_moments(Moments(weight, mean, variance, largest),
                                                    X.dtype, center=center, scale=scale)
    return FeatureStatistics(
        mean=model_mean, inv_scale=inv_scale, weight=weight, weighted_mean=mean,
        variance=variance, shift=shift, distances=row_distances, distance_scale=distance_scale,
        max_abs=largest)


def _dense_max_abs(X, sample_weight):
    """The largest |x| of each column of a dense X over its rows of positive weight, a block
    of rows at a time (no temporary of X's size)."""
    largest = np.zeros(X.shape[1])
    kept = None if sample_weight is None else np.asarray(sample_weight) > 0
    for start in range(0, X.shape[0], ROW_BLOCK):
        block = X[start:start + ROW_BLOCK]
        if kept is not None:
            block = block[kept[start:start + ROW_BLOCK]]
        if block.shape[0]:
            np.maximum(largest, np.max(np.abs(block), axis=0), out=largest)
    return largest


def _inverse_max_abs(max_abs):
    """1/max|x|, and 1 for the features that are zero on every row."""
    inverse = np.ones_like(max_abs)          # in place: on sparse X, n_features values
    return np.divide(1.0, max_abs, out=inverse, where=max_abs != 0)


def _weights_or_ones(sample_weight, n_samples):
    """The weights as an array: ones for None (every row weighs 1)."""
    return np.ones(n_samples) if sample_weight is None else sample_weight


def _describe_sparse(X, sample_weight, *, center, scale):
    """describe_features for a CSR X: the moments in one O(nnz) pass over its stored values
    (no row distances: the largest row norm is found by reading the rows again)."""
    weight, mean, variance, largest = _sparse_moments(X, sample_weight,
                                                      max_abs=scale == "maxabs")
    if not (np.isfinite(weight) and np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))):
        if not np.isfinite(weight):
            raise ValueError("sample_weight sums to infinity: give smaller weights.")
        raise ValueError("X's values are too large to sum in float64: scale X down before "
                         "fitting (e.g. with MaxAbsScaler).")
    model_mean, inv_scale = statistics_from_moments(Moments(weight, mean, variance, largest),
                                                    X.dtype, center=center, scale=scale)
    return FeatureStatistics(mean=model_mean, inv_scale=inv_scale, weight=weight,
                             weighted_mean=mean, variance=variance, shift=np.zeros_like(mean),
                             max_abs=largest)


def _sparse_moments(X, sample_weight, *, max_abs=False):
    """(Σ s, mean, variance, largest |x| or None) of a CSR X's columns, the last only with
    max_abs: compiled, in place over X's arrays; for an X whose rows repeat a column, NumPy
    over a copy of a block of rows at a time, the repeats summed first. Raises if a stored
    value is not finite."""
    X = _sparse.matrix_of(X)
    _sparse.check_finite(X)
    data, indices, indptr = _sparse.kernel_arrays(X)
    weights = np.ascontiguousarray(sample_weight, dtype=np.float64)
    largest = np.zeros(X.shape[1]) if max_abs else None
    moments = _kernel.csr_moments(data, indices, indptr, weights, X.shape[1], largest)
    if moments is None:
        moments = _sparse.weighted_moments(X, weights)
        largest = _sparse.max_abs(X, weights) if max_abs else None
    return (*moments, largest)


def _inverse_scale(mean, variance, weight):
    """1/std, and 1 for constant features: those whose variance is within what rounding
    leaves of a constant column (StandardScaler's rule, so both leave the same features
    unscaled)."""
    eps = np.finfo(np.float64).eps
    constant = variance <= weight * eps * variance + (weight * mean * eps) ** 2
    std = np.sqrt(variance)
    constant |= std < 10 * eps
    return np.where(constant, 1.0, 1.0 / np.where(constant, 1.0, std))


def row_norm_sums(X, sample_weight, mean, inv_scale, fit_intercept, rows=None):
    """(Σ s·‖(z, 1)‖², max s·‖(z, 1)‖²) over the rows of X (or those listed in `rows`),
    z = (x − mean)∘inv_scale, the 1 only with an intercept: one read of X. For a CSR X the
    mean is zero (sparse X is never centred) and every row is read. sample_weight None:
    every weight is 1."""
    if _sparse.is_sparse(X):
        X = _sparse.matrix_of(X)
        weights = _weights_or_ones(sample_weight, X.shape[0])
        sums = _kernel.csr_row_norm_sums(
            *_sparse.kernel_arrays(X), np.ascontiguousarray(weights, dtype=np.float64),
            np.ascontiguousarray(inv_scale, dtype=np.float64), float(fit_intercept))
        # A row repeating a column: NumPy sums the repeats first.
        return (_sparse.row_norm_sums(X, weights, fit_intercept, inv_scale)
                if sums is None else sums)
    return _kernel.row_norm_sums(X, sample_weight, np.asarray(mean, dtype=np.float64),
                                 np.asarray(inv_scale, dtype=np.float64),
                                 float(fit_intercept),
                                 None if rows is None else np.asarray(rows, dtype=np.intp))


@dataclass(frozen=True)
class FeatureStatistics:
    """What describe_features learnt of X: the model's view (mean, inv_scale, in X's dtype)
    and the weighted moments behind it (float64)."""
    mean: np.ndarray                # subtracted from each row (zeros without centring)
    inv_scale: np.ndarray           # multiplies each centred row (ones without scaling)
    weight: float                   # Σ s
    weighted_mean: np.ndarray
    variance: np.ndarray            # Σ s·(x − weighted_mean)² / Σ s
    shift: np.ndarray               # the point the sums were taken around
    distances: np.ndarray = None    # each row's ‖(x − shift)∘distance_scale‖, if asked for
    distance_scale: np.ndarray = None   # the scales the distances were measured in
    max_abs: np.ndarray = None      # each feature's largest |x| (scale="maxabs" only)

    def moments(self):
        return Moments(self.weight, self.weighted_mean, self.variance, self.max_abs)

    def norm_total(self, fit_intercept):
        """Σ s·‖(z, 1)‖² with z = (x − mean)∘inv_scale, from the moments alone: a feature
        contributes inv_scale²·(variance + (weighted_mean − mean)²) per unit of weight, and
        for standardised features that is 1 (0 for a constant one)."""
        # A block of features at a time: no temporary of n_features values (on sparse X,
        # millions).
        per_weight = 0.0
        for start in range(0, self.variance.shape[0], ROW_BLOCK):
            block = slice(start, start + ROW_BLOCK)
            gap = np.subtract(self.weighted_mean[block], self.mean[block], dtype=np.float64)
            scale = self.inv_scale[block].astype(np.float64)
            per_weight += float(np.sum(scale * scale * (self.variance[block] + gap * gap)))
        return self.weight * (per_weight + float(fit_intercept))

    def largest_norm(self, X, sample_weight, fit_intercept):
        """max s·‖(z, 1)‖² over the rows of X, z = (x − mean)∘inv_scale. The pass kept each
        row's distance δ = ‖(x − c)∘q‖ to the shift c in the estimated scales q; with r =
        inv_scale/q, z = ((x − c)∘q)∘r + (c − mean)∘inv_scale, so ‖z‖ lies within
        min(r)·δ − g and max(r)·δ + g, g = ‖(c − mean)∘inv_scale‖: only the rows whose upper
        bound reaches a norm already known can hold the maximum, and only they are read
        again (all of X if no distances were kept). sample_weight None: every weight is 1."""
        mean = np.asarray(self.mean, dtype=np.float64)
        scale = np.asarray(self.inv_scale, dtype=np.float64)
        if self.distances is None:
            return row_norm_sums(X, sample_weight, mean, scale, fit_intercept)[1]
        ratio = scale / self.distance_scale
        low, high = float(np.min(ratio, initial=1.0)), float(np.max(ratio, initial=1.0))
        gap = float(np.linalg.norm((self.shift - mean) * scale)) * (1 + BOUND_SLACK)
        extra = float(fit_intercept)
        weights = None if sample_weight is None else np.asarray(sample_weight)
        if weights is None or (weights.size and weights.min() == weights.max()):
            weight = 1.0 if weights is None else float(weights[0])
            return self._largest_norm_equal_weights(X, sample_weight, weight, mean, scale,
                                                    high, gap, fit_intercept)
        rows = self._reaching_rows(weights, low, high, gap, extra)
        distance = self.distances[rows].astype(np.float64)
        upper = (high * distance * (1 + BOUND_SLACK) + gap) ** 2 + extra
        upper *= weights[rows]
        if rows.shape[0] > CHECKED_ROWS:
            top = np.argpartition(upper, -CHECKED_ROWS)[-CHECKED_ROWS:]
            largest = row_norm_sums(X, sample_weight, mean, scale, fit_intercept, rows[top])[1]
            rows = rows[upper >= largest]
        return row_norm_sums(X, sample_weight, mean, scale, fit_intercept, rows)[1]

    def _largest_norm_equal_weights(self, X, sample_weight, weight, mean, scale, high, gap,
                                    fit_intercept):
        """largest_norm when every row weighs `weight`: the upper bound grows with the
        distance, so the farthest rows are read first, and their largest norm leaves only
        the rows beyond one distance to read, found by a comparison of the stored float32
        values."""
        if weight <= 0:
            return row_norm_sums(X, sample_weight, mean, scale, fit_intercept)[1]
        farthest = _kernel.farthest_rows(self.distances, CHECKED_ROWS)
        largest = row_norm_sums(X, sample_weight, mean, scale, fit_intercept, farthest)[1]
        # A row can beat `largest` only if its bound weight·((high·δ + gap)² + 1) (the 1 only
        # with an intercept) reaches it.
        reach = max(largest * (1 - BOUND_SLACK) / weight - float(fit_intercept), 0.0) ** 0.5
        threshold = max(reach - gap, 0.0) / (high * (1 + BOUND_SLACK))
        # Rounded down to float32, so that no row at the threshold is left out.
        threshold = np.nextafter(np.float32(threshold), np.float32(0))
        rows = _kernel.rows_at_least(self.distances, threshold)
        return max(largest, row_norm_sums(X, sample_weight, mean, scale, fit_intercept,
                                          rows)[1])

    def _reaching_rows(self, weights, low, high, gap, extra):
        """The rows whose upper bound on s·‖(z, 1)‖² reaches the largest lower bound."""
        highest_lower = 0.0
        for start in range(0, weights.shape[0], ROW_BLOCK):
            distance = self.distances[start:start + ROW_BLOCK].astype(np.float64)
            lower = np.maximum(low * distance * (1 - BOUND_SLACK) - gap, 0.0) ** 2 + extra
            highest_lower = max(highest_lower, float(np.max(
                lower * weights[start:start + ROW_BLOCK])))
        candidates = []
        for start in range(0, weights.shape[0], ROW_BLOCK):
            distance = self.distances[start:start + ROW_BLOCK].astype(np.float64)
            upper = (high * distance * (1 + BOUND_SLACK) + gap) ** 2 + extra
            reaching = upper * weights[start:start + ROW_BLOCK] >= highest_lower * (1 - BOUND_SLACK)
            candidates.append(start + np.flatnonzero(reaching))
        return np.concatenate(candidates)
