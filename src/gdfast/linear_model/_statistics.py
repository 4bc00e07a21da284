"""The feature statistics of the parametrisation the model trains in: the weighted means
(center) and inverse standard deviations (scale) of the features, and how the statistics of
two sets of rows combine into those of their union (a stream's chunks)."""
from typing import NamedTuple

import numpy as np

# Values (rows × features) per block where X is read in float64 a block at a time: 2 MiB,
# large enough that the Python loop over blocks costs little next to reading them.
BLOCK_VALUES = 1 << 18
# A feature whose standard deviation is at most this many float64 rounding units of its
# mean's magnitude is constant: what spread it shows is rounding (a constant column's mean
# computed as Σ s·x / Σ s can differ from the column's value in its last bits).
CONSTANT_ROUNDING_UNITS = 10


class Moments(NamedTuple):
    """The weighted moments of a set of rows, in float64: the sum of their weights, the
    features' weighted means and their weighted (population) variances."""
    weight: float
    mean: np.ndarray
    variance: np.ndarray


def _row_blocks(X, sample_weight):
    """(rows, their weights) in float64, a block of rows at a time."""
    block = max(1, BLOCK_VALUES // max(1, X.shape[1]))
    for start in range(0, X.shape[0], block):
        yield (X[start:start + block].astype(np.float64, copy=False),
               sample_weight[start:start + block].astype(np.float64, copy=False))


def _weighted_mean(X, weights):
    """Σ s·x / Σ s over the rows of X, in float64, one pass."""
    weighted_sum = np.zeros(X.shape[1])
    for rows, row_weights in _row_blocks(X, weights):
        weighted_sum += row_weights @ rows
    return weighted_sum / np.sum(weights)


def weighted_moments(X, sample_weight):
    """The Moments of the rows of X under sample_weight (non-negative, summing above 0).

    Two passes over X, a block of rows at a time (no copy of X): the mean, then the squared
    deviations from it, with the deviations' own weighted mean (zero but for rounding)
    taken out, so features with large offsets and small spreads keep their digits."""
    weights = np.asarray(sample_weight, dtype=np.float64)
    total = float(np.sum(weights))
    mean = _weighted_mean(X, weights)
    squares, deviations = np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for rows, row_weights in _row_blocks(X, weights):
        centred = rows - mean
        deviations += row_weights @ centred
        centred *= centred
        squares += row_weights @ centred
        del centred                 # before the next block's is made
    residual = deviations / total
    variance = np.maximum(squares / total - residual * residual, 0.0)
    return Moments(total, mean + residual, variance)


def combined_moments(first, second):
    """The Moments of the union of two disjoint sets of rows, from theirs (the pairwise
    update of Chan, Golub and LeVeque: exact up to rounding, whatever the sets' sizes)."""
    total = first.weight + second.weight
    share = second.weight / total
    delta = second.mean - first.mean
    mean = first.mean + share * delta
    variance = ((1.0 - share) * first.variance + share * second.variance
                + share * (1.0 - share) * delta * delta)
    return Moments(total, mean, variance)


def statistics_from_moments(moments, dtype, *, center, scale):
    """(mean, inv_scale) in dtype from Moments: the means (zeros without center) and the
    inverse standard deviations (ones without scale, and for constant features)."""
    mean = moments.mean if center else np.zeros_like(moments.mean)
    if not scale:
        return mean.astype(dtype), np.ones(moments.mean.shape, dtype=dtype)
    std = np.sqrt(moments.variance)
    constant = std <= (CONSTANT_ROUNDING_UNITS * np.finfo(np.float64).eps
                       * np.abs(moments.mean))
    constant |= std == 0
    inv_scale = np.ones_like(std)
    np.divide(1.0, std, out=inv_scale, where=~constant)
    return mean.astype(dtype), inv_scale.astype(dtype)


def feature_statistics(X, sample_weight, *, center, scale):
    """(mean, inv_scale) of the features of X under sample_weight, in X's dtype: the model
    trains on z = (x − mean)∘inv_scale. mean: the weighted means (zeros without center);
    inv_scale: 1 / the weighted population standard deviation, as StandardScaler with
    sample_weight computes it (ones without scale; 1 for a constant feature). Without
    center, the scale is still the spread around the mean, as StandardScaler(with_mean=False)
    takes it."""
    if not scale:
        mean = (_weighted_mean(X, np.asarray(sample_weight, dtype=np.float64)) if center
                else np.zeros(X.shape[1]))
        return mean.astype(X.dtype), np.ones(X.shape[1], dtype=X.dtype)
    return statistics_from_moments(weighted_moments(X, sample_weight), X.dtype,
                                   center=center, scale=scale)
