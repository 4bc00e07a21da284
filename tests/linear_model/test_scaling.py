"""scale=True: training on standardised features, inside the kernel, without copying X.

The estimator with scaling on takes the steps of make_pipeline(StandardScaler(), the same
estimator with scale=False): the same statistics, starting intercept, automatic step and
shuffle, so the two runs agree to rounding, whatever the penalty, batch mode or optimizer."""
import warnings

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gdfast import GDClassifier, GDRegressor
from gdfast.linear_model import _statistics

OFFSETS = np.array([300.0, -2.0, 100.0, 4.0, 7.0, -50.0])
SPREADS = np.array([0.05, 1.0, 30.0, 0.0, 0.5, 5.0])      # feature 3 is constant


def problem(center, seed=0, n=200):
    """Features with offsets of hundreds and spreads from 0.05 to 30 (one constant); without
    centring, offsets small enough next to the spreads that z = x/std stays moderate (a
    model with z in the thousands trains chaotically, in any parametrisation)."""
    rng = np.random.default_rng(seed)
    offsets = OFFSETS if center else np.array([0.02, 0.5, -10.0, 0.3, 0.2, 2.0])
    X = rng.standard_normal((n, 6)) * SPREADS + offsets
    z = rng.standard_normal((n, 6))
    y = z[:, [0, 1, 2, 4, 5]] @ [1.0, -2.0, 0.5, 1.5, -1.0]
    X[:, [0, 1, 2, 4, 5]] = z[:, [0, 1, 2, 4, 5]] * SPREADS[[0, 1, 2, 4, 5]] + offsets[[0, 1, 2, 4, 5]]
    noise = rng.standard_normal(n)
    targets = {"regression": y + 0.3 * noise,
               "binary": (y + noise > 0).astype(int),
               "multinomial": np.digitize(y + noise, [-1.0, 1.0])}
    return X, targets, rng.uniform(0.2, 3.0, n)


CASES = [("regression", GDRegressor), ("binary", GDClassifier), ("multinomial", GDClassifier)]


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("batch_size", [1, 16, None])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("weighted", [False, True])
def test_scaling_equals_a_standard_scaler_in_front(center, batch_size, optimizer, weighted):
    """Every penalty, the regressor and the binary and multinomial classifiers."""
    X, targets, weights = problem(center)
    sample_weight = weights if weighted else None
    # Centred, Adam starts where the intercept's gradient is zero up to rounding and divides
    # it by its own magnitude: the two runs' roundings (the statistics of NumPy's and of the
    # kernel's sums, which differ with the machine's vector width) become steps of up to the
    # rate, of either sign: the predictions parted by 4e-8 within 15 epochs on one machine.
    atol = 1e-6 if center and optimizer == "adam" else 1e-8
    for target_name, Estimator in CASES:
        y = targets[target_name]
        for penalty in (None, "l2", "l1", "elasticnet"):
            params = {"penalty": penalty, "alpha": 0.01, "batch_size": batch_size,
                      "optimizer": optimizer, "max_iter": 15, "tol": None, "random_state": 3,
                      "center": center}
            if optimizer == "momentum":
                params["learning_rate"] = 0.01
            ours = Estimator(scale=True, **params).fit(X, y, sample_weight=sample_weight)
            reference = make_pipeline(StandardScaler(with_mean=center),
                                      Estimator(scale=False, **params))
            fit_params = {}
            if weighted:
                name = reference.steps[1][0]
                fit_params = {"standardscaler__sample_weight": weights,
                              f"{name}__sample_weight": weights}
            with warnings.catch_warnings():
                # StandardScaler's weighted variance of the constant feature can round
                # below zero (it then takes that feature as constant, as it should).
                warnings.filterwarnings("ignore", "invalid value encountered in sqrt")
                reference.fit(X, y, **fit_params)
            if Estimator is GDRegressor:
                ours_out, reference_out = ours.predict(X), reference.predict(X)
            else:
                ours_out = ours.decision_function(X)
                reference_out = reference.decision_function(X)
            np.testing.assert_allclose(ours_out, reference_out, rtol=0, atol=atol,
                                       err_msg=f"{target_name} {penalty}")
            assert np.abs(ours_out).max() > 0.1          # a model, not the starting point


@pytest.mark.parametrize("engine", ["cython", "numpy"])
def test_coefficients_are_in_the_original_units(engine):
    """predict needs nothing but coef_ and intercept_, and the penalty acts on the weights of
    the standardised features."""
    X, targets, _ = problem(center=True)
    y = targets["regression"]
    model = GDRegressor(batch_size=None, penalty="l2", alpha=0.1, max_iter=400, tol=None,
                        lr_schedule="constant", learning_rate=0.5, engine=engine).fit(X, y)
    np.testing.assert_allclose(model.predict(X), X @ model.coef_ + model.intercept_[0],
                               rtol=1e-12)
    assert model.coef_[3] == 0.0                                # the constant feature
    # The ridge optimum on z = (x − mean)/std, mapped back to the original units.
    mean, std = X.mean(axis=0), np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    Z = (X - mean) / std
    n = len(X)
    # mean (p − y)² + 0.1·½‖w‖²: the normal equations (2/n ZᵀZ + 0.1 I) w = 2/n Zᵀ(y − ȳ).
    w = np.linalg.solve(2.0 / n * Z.T @ Z + 0.1 * np.eye(6), 2.0 / n * Z.T @ (y - y.mean()))
    np.testing.assert_allclose(model.coef_, w / std, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(model.intercept_[0], y.mean() - (w / std) @ mean, rtol=1e-6)


def test_scale_auto_follows_center_and_false_is_centring_alone():
    X, targets, _ = problem(center=True)
    y = targets["regression"]
    params = {"batch_size": 8, "max_iter": 5, "tol": None, "random_state": 0}
    default = GDRegressor(**params).fit(X, y)
    explicit = GDRegressor(scale=True, **params).fit(X, y)
    assert np.array_equal(default.coef_, explicit.coef_)
    plain = GDRegressor(center=False, learning_rate=1e-7, **params).fit(X, y)
    textbook = GDRegressor(center=False, scale=False, learning_rate=1e-7, **params).fit(X, y)
    assert np.array_equal(plain.coef_, textbook.coef_)
    centred = GDRegressor(scale=False, **params).fit(X, y)
    assert np.all(centred._state.inv_scale == 1.0)
    assert not np.allclose(centred.coef_, default.coef_)


def test_feature_statistics_are_standard_scalers():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((1000, 4)) * [0.05, 1.0, 3.0, 0.0] + [500.0, -1.0, 0.0, 7.25]
    weights = rng.uniform(0.0, 2.0, 1000)
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        mean, inv_scale = _statistics.feature_statistics(Xd, weights, center=True, scale=True)
        assert mean.dtype == inv_scale.dtype == dtype
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "invalid value encountered in sqrt")
            scaler = StandardScaler().fit(Xd.astype(np.float64), sample_weight=weights)
        rtol = 1e-12 if dtype == np.float64 else 1e-6
        np.testing.assert_allclose(mean, scaler.mean_, rtol=rtol)
        np.testing.assert_allclose(inv_scale, 1.0 / scaler.scale_, rtol=max(rtol, 1e-10))
        assert inv_scale[3] == 1.0                           # constant: scale 1
    # A feature at 500 with spread 0.05: the two-pass variance keeps its digits.
    exact_std = np.sqrt(np.average((X[:, 0] - np.average(X[:, 0], weights=weights)) ** 2,
                                   weights=weights))
    _, inv_scale = _statistics.feature_statistics(X, weights, center=True, scale=True)
    assert inv_scale[0] == pytest.approx(1.0 / exact_std, rel=1e-12)
    mean, inv_scale = _statistics.feature_statistics(X, weights, center=False, scale=True)
    assert np.all(mean == 0.0) and inv_scale[0] == pytest.approx(1.0 / exact_std, rel=1e-12)
    mean, inv_scale = _statistics.feature_statistics(X, weights, center=True, scale=False)
    assert np.all(inv_scale == 1.0)
    np.testing.assert_allclose(mean, np.average(X, axis=0, weights=weights), rtol=1e-13)
    mean, inv_scale = _statistics.feature_statistics(X, weights, center=False, scale=False)
    assert np.all(mean == 0.0) and np.all(inv_scale == 1.0)


def test_moments_of_chunks_combine_into_those_of_their_union():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((900, 3)) * [0.05, 2.0, 1.0] + [300.0, 0.0, -5.0]
    X[600:] *= 50.0
    weights = rng.uniform(0.1, 2.0, 900)
    whole = _statistics.weighted_moments(X, weights)
    combined = _statistics.weighted_moments(X[:100], weights[:100])
    for start, stop in [(100, 600), (600, 900)]:
        combined = _statistics.combined_moments(
            combined, _statistics.weighted_moments(X[start:stop], weights[start:stop]))
    assert combined.weight == pytest.approx(whole.weight, rel=1e-14)
    np.testing.assert_allclose(combined.mean, whole.mean, rtol=1e-13)
    np.testing.assert_allclose(combined.variance, whole.variance, rtol=1e-11)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adagrad", "rmsprop", "adadelta",
                                       "adam", "nadam", "adamax"])
def test_a_stream_whose_ranges_grow_does_not_diverge(optimizer):
    """Later chunks with feature ranges 10 to 100 times the first's: the statistics follow
    the stream, the model carried over unchanged at each move. (With the first chunk's
    statistics kept, or none, plain SGD's step from that chunk overflows on the later ones.)"""
    def stream():
        rng = np.random.default_rng(7)
        for growth in (1, 1, 10, 30, 100, 100, 100, 100):
            X = rng.standard_normal((500, 3)) * growth + 5.0
            yield X, X @ [0.01, -0.02, 0.005] + 0.01 * rng.standard_normal(500)
    model = GDRegressor(optimizer=optimizer, random_state=0)
    chunks = []
    for X, y in stream():
        chunks.append((X, y))
        model.partial_fit(X, y)
        assert np.all(np.isfinite(model.coef_))
    X, y = chunks[-1]
    assert model.score(X, y) > 0.99
    if optimizer == "sgd":
        unscaled = GDRegressor(scale=False, random_state=0)
        with pytest.raises(ValueError, match="overflow"):
            for X, y in stream():
                unscaled.partial_fit(X, y)
    # The state's statistics are those of every row seen.
    seen = np.vstack([X for X, _ in chunks])
    np.testing.assert_allclose(model._state.mean, seen.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(model._state.inv_scale, 1.0 / seen.std(axis=0), rtol=1e-10)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "adadelta"])
def test_restandardising_keeps_the_model_and_rescales_the_buffers(optimizer):
    X, targets, _ = problem(center=True)
    y = targets["regression"]
    model = GDRegressor(optimizer=optimizer, random_state=0).partial_fit(X[:100], y[:100])
    state = model._state.copy()
    before = state.model_coef()
    new_mean = state.mean + np.linspace(-1.0, 1.0, 6)
    ratio = np.linspace(0.5, 4.0, 6)
    buffers = state.buffers.copy()
    state.restandardise(new_mean, state.inv_scale * ratio, model._options(partial=True)[0]
                        .buffer_units)
    after = state.model_coef()
    np.testing.assert_allclose(after[0], before[0], rtol=1e-12)
    np.testing.assert_allclose(after[1], before[1], rtol=1e-12)
    units = model._options(partial=True)[0].buffer_units
    for old, new, power in zip(buffers, state.buffers, units):
        np.testing.assert_allclose(new[:6], old[:6] * ratio ** power, rtol=1e-12)
        assert new[6] == old[6]                               # the intercept's entry


def test_two_halves_equal_one_call_without_statistics():
    """The README's claim: with center=False, scale=False, a number as learning_rate,
    shuffle=False (and weights averaging 1 per half), two calls on two halves are one
    call on both, to rounding: the one-row path computes each row's score ahead of the
    previous row's step and corrects it (sgd_rows), but a call's first row's score directly,
    a few ulps apart. With statistics that follow the stream they need not be close."""
    X, targets, _ = problem(center=False)
    y = targets["regression"]
    params = {"center": False, "scale": False, "learning_rate": 0.001, "shuffle": False,
              "lr_schedule": "constant"}
    halves = GDRegressor(**params).partial_fit(X[:100], y[:100]).partial_fit(X[100:], y[100:])
    whole = GDRegressor(**params).partial_fit(X, y)
    np.testing.assert_allclose(halves.coef_, whole.coef_, rtol=1e-13)
    np.testing.assert_allclose(halves.intercept_, whole.intercept_, rtol=1e-13)


def test_partial_fit_scales_in_float32():
    X, targets, _ = problem(center=True)
    y = targets["regression"]
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    model = GDRegressor(random_state=0)
    for start in range(0, 200, 50):
        model.partial_fit(X32[start:start + 50], y32[start:start + 50])
    assert model.coef_.dtype == np.float32 and model._state.inv_scale.dtype == np.float32
    assert model.score(X32, y32) > 0.8


def test_a_model_set_by_the_user_is_stored_in_the_scaled_parametrisation():
    X, targets, _ = problem(center=True)
    y = targets["regression"]
    model = GDRegressor(max_iter=3, tol=None, random_state=0).fit(X, y)
    model.coef_ = np.linspace(-1.0, 1.0, 6)
    model.intercept_ = np.array([2.5])
    optimizer = model._options(partial=True)[0]
    weights, intercepts = model._resume_state(X.shape[0], 6, X.dtype, optimizer).model_coef()
    np.testing.assert_allclose(weights[0], model.coef_, rtol=1e-13)
    np.testing.assert_allclose(intercepts, model.intercept_, rtol=1e-13)
    # Unchanged attributes leave the state exactly as it was: a warm start continues the run.
    refit = GDRegressor(max_iter=3, tol=None, random_state=0).fit(X, y)
    assert np.array_equal(refit._resume_state(X.shape[0], 6, X.dtype, optimizer).coef, refit._state.coef)
