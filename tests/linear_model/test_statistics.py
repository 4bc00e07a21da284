"""What a fit learns of the features before its first epoch (linear_model/_statistics.py):
means and scales as NumPy and StandardScaler compute them, finiteness, and the row norms of
the automatic step."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from gdfast import GDClassifier, GDRegressor
from gdfast._slow import statistics as _reference
from gdfast.linear_model._base import CURVATURE
from gdfast.linear_model._statistics import (describe_features, feature_statistics,
                                             row_norm_sums)

rng = np.random.default_rng(71)


def offset_data(n_rows=20_011, dtype=np.float64):
    """Offsets of hundreds, spreads down to 0.05, a constant feature, weights with zeros."""
    offsets = np.array([300.0, -450.0, 0.0, 120.0, 777.0])
    spreads = np.array([0.05, 0.05, 1.0, 7.0, 0.0])
    X = (offsets + spreads * rng.standard_normal((n_rows, 5))).astype(dtype)
    weights = rng.uniform(0, 2, n_rows)
    weights[::7] = 0.0
    return X, weights.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_means_and_scales_are_standard_scalers(dtype):
    X, weights = offset_data(dtype=dtype)
    with np.errstate(invalid="ignore"):     # its variance of the constant feature is < 0
        scaler = StandardScaler().fit(X.astype(np.float64), sample_weight=weights)
    mean, inv_scale = feature_statistics(X, weights, center=True, scale=True)
    assert mean.dtype == inv_scale.dtype == dtype
    tight = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(mean, scaler.mean_, rtol=tight)
    np.testing.assert_allclose(inv_scale, 1 / scaler.scale_, rtol=tight)
    assert inv_scale[4] == 1.0 and scaler.scale_[4] == 1.0     # the constant feature
    mean, inv_scale = feature_statistics(X, weights, center=False, scale=False)
    np.testing.assert_array_equal(mean, np.zeros(5))
    np.testing.assert_array_equal(inv_scale, np.ones(5))


def test_moments_are_accurate_for_large_offsets_and_small_spreads():
    X, weights = offset_data()
    # Rows sorted by the first feature: the first rows are no guide to the means.
    order = np.argsort(X[:, 0])
    X, weights = np.ascontiguousarray(X[order]), weights[order]
    statistics = describe_features(X, weights, center=True, scale=True)
    _, mean, variance = _reference.shifted_moments(X, weights, None)
    np.testing.assert_allclose(statistics.weighted_mean, mean, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(statistics.variance[:4], variance[:4], rtol=1e-12)
    assert statistics.variance[4] == 0.0 and statistics.weight == pytest.approx(weights.sum())


def test_nonfinite_values_are_named_by_row_and_column():
    X, weights = offset_data(1000)
    X[600, 3], X[700, 1] = np.inf, np.nan
    with pytest.raises(ValueError, match=r"^X contains infinity at row 600, column 3\.$"):
        feature_statistics(X, weights, center=True, scale=False)
    X[[0, 500], 2] = np.nan        # one of the rows the shift is taken from
    with pytest.raises(ValueError, match=r"^X contains NaN at row 0, column 2\.$"):
        feature_statistics(X, weights, center=False, scale=False)


def test_values_whose_squares_overflow_get_their_own_message():
    X = np.array([[1e200, 1.0], [-1e200, 2.0], [3e200, 0.0]])
    with pytest.raises(ValueError, match="X's values are too large to sum in float64: scale "
                                         "X down"):
        feature_statistics(X, np.ones(3), center=True, scale=False)


def data_sets():
    """Row-norm shapes the bounds must get right: Gaussian, heavy tails, every row of the
    same norm (one-hot), and far from the origin."""
    gaussian = rng.standard_normal((5000, 30))
    heavy = rng.standard_t(2, (5000, 8))
    one_hot = np.eye(12)[rng.integers(0, 12, 5000)]
    far = 1e3 + 0.1 * rng.standard_normal((5000, 4))
    raw = rng.standard_normal((5000, 6)) * np.geomspace(0.05, 200, 6) + rng.uniform(-500, 500, 6)
    return {"gaussian": gaussian, "heavy": heavy, "one-hot": one_hot, "far": far, "raw": raw}


@pytest.mark.parametrize("name", ["gaussian", "heavy", "one-hot", "far", "raw"])
@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighting", ["varied", "ones", "equal", "none"])
def test_row_norms_equal_those_of_a_full_pass(name, scale, center, fit_intercept, dtype,
                                             weighting):
    """The largest norm from the distance bounds is the full pass's, scaled or not: the
    distances are kept in a sample's estimate of the scales, and the bounds allow for it.
    Rows of equal weight take a shortcut of their own."""
    X = data_sets()[name].astype(dtype)
    if weighting == "varied":
        weights = rng.uniform(0, 2, X.shape[0]).astype(dtype)
        weights[::5] = 0.0
    else:
        weights = np.full(X.shape[0], 1.0 if weighting in ("ones", "none") else 0.37,
                          dtype=dtype)
    given = None if weighting == "none" else weights     # None: every row weighs 1
    statistics = describe_features(X, given, center=center, scale=scale, distances=True)
    total, largest = row_norm_sums(X, weights, statistics.mean, statistics.inv_scale,
                                   fit_intercept)
    assert statistics.largest_norm(X, given, fit_intercept) == largest
    assert statistics.norm_total(fit_intercept) == pytest.approx(total, rel=1e-10)
    r_total, r_largest = _reference.row_norm_sums(X, weights, statistics.mean.astype(np.float64),
                                                  statistics.inv_scale.astype(np.float64),
                                                  float(fit_intercept))
    assert total == pytest.approx(r_total, rel=1e-12)
    assert largest == pytest.approx(r_largest, rel=1e-12)


def test_scaled_row_norms_total_the_count_of_varying_features():
    X, weights = offset_data()
    statistics = describe_features(X, weights, center=True, scale=True)
    # Four features vary, one is constant: Σ s·‖z‖² / Σ s is 4 for standardised z.
    assert statistics.norm_total(False) / statistics.weight == pytest.approx(4.0, rel=1e-8)
    total, largest = row_norm_sums(X, weights, statistics.mean, statistics.inv_scale, True)
    assert statistics.norm_total(True) == pytest.approx(total, rel=1e-8)
    assert statistics.largest_norm(X, weights, True) == largest


@pytest.mark.parametrize("batch_size", [1, 16, None])
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_the_automatic_step_comes_from_the_row_norms(batch_size, Estimator):
    X = 5.0 + rng.standard_normal((3000, 7))
    y = X @ rng.standard_normal(7)
    y = (y > np.median(y)).astype(int) if Estimator is GDClassifier else y
    model = Estimator(batch_size=batch_size, max_iter=1, tol=None).fit(X, y)
    z = (X - X.mean(axis=0)) / X.std(axis=0)          # the standardised features trained on
    norms = np.sum(z ** 2, axis=1) + 1.0
    bound = norms.mean() if batch_size is None else norms.max()
    curvature = CURVATURE[model.loss]
    assert model._state.base_rate == pytest.approx(1.0 / (curvature * bound), rel=1e-10)


@pytest.mark.parametrize("batch_size", [1, 32, None])
@pytest.mark.parametrize("make", [
    lambda: GDRegressor(),
    lambda: GDRegressor(loss="huber"),
    lambda: GDRegressor(early_stopping=True),
    lambda: GDClassifier(),
    lambda: GDClassifier(class_weight="balanced"),
])
def test_no_sample_weight_fits_as_weights_of_one(batch_size, make):
    """Without sample_weight the setup reads no array of weights (statistics, row norms,
    initial intercept): the fit is the one with every weight 1, to the last bit."""
    X = 3.0 + rng.standard_normal((2000, 6))
    y = X @ rng.standard_normal(6) + 0.1 * rng.standard_normal(2000)
    if isinstance(make(), GDClassifier):
        y = (y > np.median(y)).astype(int) + (y > np.quantile(y, 0.9))
    kwargs = dict(batch_size=batch_size, max_iter=3, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        without = make().set_params(**kwargs).fit(X, y)
        ones = make().set_params(**kwargs).fit(X, y, sample_weight=np.ones(2000))
    np.testing.assert_array_equal(without.coef_, ones.coef_)
    np.testing.assert_array_equal(without.intercept_, ones.intercept_)
    assert without.learning_rates_ == ones.learning_rates_
