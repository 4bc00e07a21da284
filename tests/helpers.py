import numpy as np


def relative_error(actual, expected):
    """Largest absolute difference, relative to the largest entry of `expected`."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300)


def make_regression(n_samples, n_features, *, seed, noise=0.1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal(n_features)
    y = X @ w + 0.5 + noise * rng.standard_normal(n_samples)
    return X.astype(dtype), y.astype(dtype)


def make_classification(n_samples, n_features, *, seed, noise=1.0, dtype=np.float64):
    """Two overlapping classes (labels 0/1), so the logistic optimum is finite."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal(n_features)
    y = (X @ w - 0.3 + noise * rng.standard_normal(n_samples) > 0).astype(np.int64)
    return X.astype(dtype), y
