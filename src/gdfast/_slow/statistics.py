"""The NumPy twin of gdfast._kernels.statistics: what a fit needs to know of X before its
first epoch, computed the obvious way (two passes, whole-array NumPy)."""
import numpy as np


def sample_statistics(X, n_runs, run):
    """(mean, inverse scale) of each feature over n_runs runs of `run` consecutive rows, the
    k-th from row k·(n − run) // (n_runs − 1) (every row if there are no more than
    n_runs·run): non-finite means given as 0, 1/std where the spread is finite and
    positive, else 1."""
    n = X.shape[0]
    if n <= n_runs * run:
        rows = np.arange(n)
    else:
        starts = np.arange(n_runs) * (n - run) // (n_runs - 1)
        rows = (starts[:, None] + np.arange(run)).ravel()
    sample = np.asarray(X[rows], dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        mean = sample.mean(axis=0)
        std = sample.std(axis=0)
        usable = np.isfinite(std) & (std > 0)
        inverse = np.where(usable, 1.0 / np.where(usable, std, 1.0), 1.0)
    return np.where(np.isfinite(mean), mean, 0.0), inverse


def shifted_moments(X, sample_weight, shift, distances=None, n_threads=1, distance_scale=None):
    """(Σ s, mean, variance) of X's features under the weights s, in float64: the weighted
    mean, then the population variance Σ s·(x − mean)²/Σ s. `shift` only matters to the
    kernel's rounding; with `distances`, each row's ‖(x − shift)∘distance_scale‖ is written
    there (distance_scale None: ones). sample_weight None weighs every row 1."""
    del n_threads
    X = np.asarray(X, dtype=np.float64)
    weights = (np.ones(X.shape[0]) if sample_weight is None
               else np.asarray(sample_weight, dtype=np.float64))
    total = float(np.sum(weights))
    mean = weights @ X / total
    variance = weights @ (X - mean) ** 2 / total
    if distances is not None:
        q = np.ones(X.shape[1]) if distance_scale is None else np.asarray(distance_scale)
        distances[:] = np.sqrt(np.sum(((X - np.asarray(shift)) * q) ** 2, axis=1))
    return total, mean, variance


def row_norm_sums(X, sample_weight, mean, inv_scale, intercept_term, rows=None):
    """(Σ s·q, max s·q) over the rows of X (or those listed in `rows`) of
    q = ‖(x − mean)∘inv_scale‖² + intercept_term (sample_weight None: every s is 1)."""
    rows = np.arange(X.shape[0]) if rows is None else np.asarray(rows)
    z = (np.asarray(X[rows], dtype=np.float64) - mean) * inv_scale
    weights = (np.ones(X.shape[0]) if sample_weight is None
               else np.asarray(sample_weight, dtype=np.float64))
    q = weights[rows] * (np.sum(z * z, axis=1) + intercept_term)
    return float(np.sum(q)), float(np.max(q, initial=0.0))


def rows_at_least(distances, threshold):
    """The indices of the distances at or above threshold, in order."""
    return np.flatnonzero(np.asarray(distances) >= np.float32(threshold))


def farthest_rows(distances, k):
    """The indices of the k largest distances (the earlier row first among equal ones), in
    row order; NaN distances never listed."""
    distances = np.asarray(distances)
    rows = np.flatnonzero(~np.isnan(distances))
    by_distance = rows[np.argsort(-distances[rows], kind="stable")]
    return np.sort(by_distance[:k])


def first_nonfinite(X):
    """(row, column) of the first NaN or infinity of X in row order, or None."""
    rows, columns = np.nonzero(~np.isfinite(X))
    return None if rows.size == 0 else (int(rows[0]), int(columns[0]))
