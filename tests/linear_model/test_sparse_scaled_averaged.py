"""Sparse X with per-feature scales and averaged iterates: the CSR loops equal the NumPy twin
and the same X dense (center=False, scale=True) on every exact path; the estimators scale
sparse X as MaxAbsScaler does by default, as StandardScaler(with_mean=False) does with
scale=True, and average it as they average dense X."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, StandardScaler

from gdfast import GDClassifier, GDRegressor
from gdfast.linear_model import _engine, _statistics

N_SAMPLES, N_FEATURES = 60, 40
EPOCHS = 3


def sparse_data(seed=0, dtype=np.float64):
    """CSR rows whose columns range over very different spreads; column 7 holds no value,
    column 9 the same value in every row (both constant: scale 1)."""
    rng = np.random.default_rng(seed)
    X = sp.random(N_SAMPLES, N_FEATURES, density=0.15, random_state=seed, format="lil",
                  dtype=np.float64)
    X[:, 7] = 0
    X[:, 9] = 3.0
    X = X.tocsr()
    X.eliminate_zeros()
    spreads = np.exp(rng.uniform(-2, 2, N_FEATURES))
    spreads[9] = 1.0
    X = (X @ sp.diags(spreads)).tocsr().astype(dtype)
    X.sort_indices()
    return X, rng


def inverse_scales(X, sample_weight=None):
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    return _statistics.describe_features(X, np.asarray(weights, dtype=X.dtype), center=False,
                                         scale=True).inv_scale


def run(engine, X, y, config, *, inv_scale=None, average_start=None, n_outputs=1,
        epochs=EPOCHS):
    """epochs of run_epoch from zero; return (coef, state, average, loss sums)."""
    dtype = X.dtype
    coef = np.zeros(n_outputs * (X.shape[1] + 1), dtype=dtype)
    state = np.zeros((_engine.state_rows(config["optimizer"]), coef.size), dtype=dtype)
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(X.shape[0], dtype=np.intp)
    average = None if average_start is None else np.zeros_like(coef)
    config = dict(config, scale=inv_scale is not None)
    t, rng_state, losses = 0, 11, []
    y = np.asarray(y, dtype=dtype)
    for _ in range(epochs):
        status, loss_sum, t, rng_state, _ = _engine.run_epoch(
            engine, X, y, np.ones(X.shape[0], dtype=dtype), coef, state, scalars, order,
            dict(config), t, rng_state, inv_scale=inv_scale, average=average,
            average_start=average_start or 0)
        assert status == _engine.STATUS_OK
        losses.append(loss_sum)
    return coef, state, average, losses


# One rule per kind of CSR update, with the penalties that change how skipped steps are
# caught up.
EXACT_CASES = [
    ("sgd", {}),
    ("sgd", {"l1": 0.01, "l2": 0.05, "weight_decay": 0.02}),
    ("adagrad", {"l1": 0.02}),
    ("rmsprop", {"centered": True, "l1": 0.01}),
    ("adadelta", {"rho": 0.8, "learning_rate": 1.0}),
    ("momentum", {"momentum": 0.9, "learning_rate": 0.005}),
    ("adam", {"l2": 0.01}),
]
BATCH_SIZES = [1, 7, N_SAMPLES]


def regression_targets(X, rng):
    return X @ rng.normal(size=X.shape[1]) + 0.5 + 0.05 * rng.normal(size=X.shape[0])


def assert_close(a, b, tolerance=1e-10):
    """a equals b to tolerance relative to b's largest entry (at least 1)."""
    b = np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=0,
                               atol=tolerance * max(1.0, float(np.max(np.abs(b), initial=0))))


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("optimizer, extra", EXACT_CASES)
def test_scaled_sparse_equals_scaled_dense_and_the_twin(optimizer, extra, batch_size):
    X, rng = sparse_data()
    y = regression_targets(X, rng)
    inv_scale = inverse_scales(X)
    assert inv_scale[7] == 1.0 and inv_scale[9] == 1.0 and np.ptp(inv_scale) > 1.0
    config = {"optimizer": optimizer, "batch_size": batch_size, "shuffle": True,
              "learning_rate": 0.02, **extra}
    sparse_coef, sparse_state, _, losses = run("cython", X, y, config, inv_scale=inv_scale)
    dense_coef, dense_state, _, dense_losses = run("cython", X.toarray(), y, config,
                                                   inv_scale=inv_scale)
    twin_coef, twin_state, _, twin_losses = run("numpy", X, y, config, inv_scale=inv_scale)
    unscaled_coef = run("cython", X, y, config)[0]
    assert_close(sparse_coef, dense_coef)
    assert_close(sparse_state, dense_state)
    np.testing.assert_allclose(losses, dense_losses, rtol=1e-10)
    assert_close(sparse_coef, twin_coef)
    assert_close(sparse_state, twin_state)
    np.testing.assert_allclose(losses, twin_losses, rtol=1e-10)
    if optimizer != "adadelta":     # its first steps hardly depend on the gradient's size
        # the scales did act
        assert np.max(np.abs(sparse_coef - unscaled_coef)) > 1e-3 * np.max(np.abs(sparse_coef))


# Plain SGD without l1 keeps its average in closed form; a strong l2 folds the weights'
# scale into them several times an epoch.
AVERAGED_CASES = EXACT_CASES + [("sgd", {"l2": 0.05}), ("sgd", {"l2": 10.0}),
                                ("sgd", {"l2": 0.5, "weight_decay": 0.3})]


@pytest.mark.parametrize("average_start", [0, 9, 70])
@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("optimizer, extra", AVERAGED_CASES)
def test_averaged_sparse_equals_averaged_dense_and_the_twin(optimizer, extra, batch_size,
                                                            average_start):
    X, rng = sparse_data(seed=1)
    y = regression_targets(X, rng)
    inv_scale = inverse_scales(X)
    config = {"optimizer": optimizer, "batch_size": batch_size, "shuffle": True,
              "learning_rate": 0.02, **extra}
    sparse_coef, _, sparse_average, _ = run("cython", X, y, config, inv_scale=inv_scale,
                                            average_start=average_start)
    dense_coef, _, dense_average, _ = run("cython", X.toarray(), y, config,
                                          inv_scale=inv_scale, average_start=average_start)
    twin_coef, _, twin_average, _ = run("numpy", X, y, config, inv_scale=inv_scale,
                                        average_start=average_start)
    plain_coef = run("cython", X, y, config, inv_scale=inv_scale)[0]
    assert_close(sparse_coef, plain_coef)             # averaging leaves the iterates alone
    assert_close(sparse_average, dense_average)
    assert_close(sparse_average, twin_average)
    assert_close(sparse_coef, dense_coef)
    assert_close(sparse_coef, twin_coef)
    assert np.max(np.abs(sparse_average - sparse_coef)) > 1e-6 * np.max(np.abs(sparse_coef))


@pytest.mark.parametrize("optimizer", ["adam", "adamax"])
def test_lazy_adam_family_scaled_and_averaged_equals_the_twin(optimizer):
    X, rng = sparse_data(seed=2)
    y = regression_targets(X, rng)
    inv_scale = inverse_scales(X)
    config = {"optimizer": optimizer, "lazy": True, "batch_size": 4, "shuffle": True,
              "learning_rate": 0.02, "l1": 0.01}
    coef, state, average, _ = run("cython", X, y, config, inv_scale=inv_scale,
                                  average_start=3)
    twin_coef, twin_state, twin_average, _ = run("numpy", X, y, config, inv_scale=inv_scale,
                                                 average_start=3)
    assert_close(coef, twin_coef)
    assert_close(state, twin_state)
    assert_close(average, twin_average)


def test_averaging_a_hand_computed_sparse_example():
    """Two rows, plain SGD from zero at rate 0.25 on the squared error r² (slope 2r), no
    intercept, no scale: θ1 = 0.5·y0·x0, θ2 = θ1 − 0.5·(θ1·x1 − y1)·x1, and the average is
    their mean."""
    X = sp.csr_matrix(np.array([[2.0, 0.0], [1.0, 1.0]]))
    y = np.array([1.0, 2.0])
    config = {"optimizer": "sgd", "learning_rate": 0.25, "fit_intercept": False}
    coef = np.zeros(3)
    average = np.zeros(3)
    _engine.run_epoch("cython", X, y, np.ones(2), coef, np.zeros((0, 3)),
                      np.ones(_engine.SCALAR_STATE_SIZE), np.arange(2, dtype=np.intp),
                      config, 0, 1, average=average, average_start=0)
    theta1 = 0.5 * 1.0 * np.array([2.0, 0.0])                    # (1, 0)
    theta2 = theta1 - 0.5 * (theta1 @ [1.0, 1.0] - 2.0) * np.array([1.0, 1.0])   # (1.5, 0.5)
    np.testing.assert_allclose(coef[:2], theta2, rtol=1e-15)
    np.testing.assert_allclose(average[:2], (theta1 + theta2) / 2, rtol=1e-15)


# --- through the estimators -------------------------------------------------------------


def weighted_problem(seed=0):
    X, rng = sparse_data(seed)
    y = regression_targets(X, rng)
    weights = rng.uniform(0.2, 3.0, X.shape[0])
    return X, y, weights, rng


def fitted_scaler(X, sample_weight=None):
    # Its variance of the constant column can round below zero (sqrt warns; the column
    # still gets scale 1).
    with np.errstate(invalid="ignore"):
        return StandardScaler(with_mean=False).fit(X, sample_weight=sample_weight)


def test_sparse_scales_are_standard_scalers_with_mean_false():
    X, _, weights, _ = weighted_problem()
    scaler = fitted_scaler(X, weights)
    np.testing.assert_allclose(inverse_scales(X, weights), 1 / scaler.scale_, rtol=1e-12)
    unweighted = fitted_scaler(X)
    np.testing.assert_allclose(inverse_scales(X), 1 / unweighted.scale_, rtol=1e-12)


@pytest.mark.parametrize("params", [
    {"optimizer": "sgd", "penalty": "elasticnet", "alpha": 0.01, "batch_size": 1},
    {"optimizer": "adagrad", "batch_size": 8},
    {"optimizer": "adam", "penalty": "l2", "alpha": 0.01, "batch_size": None},
])
@pytest.mark.parametrize("scale", [True, "auto"])
def test_sparse_regressor_equals_its_scaler_pipeline(params, scale):
    """scale=True trains as after StandardScaler(with_mean=False) with the same weights, the
    default on sparse X as after MaxAbsScaler."""
    X, y, weights, _ = weighted_problem()
    params = dict(params, max_iter=5, tol=None, random_state=0)
    model = GDRegressor(scale=scale, **params).fit(X, y, sample_weight=weights)
    scaler = fitted_scaler(X, weights) if scale is True else MaxAbsScaler().fit(X)
    pipeline = make_pipeline(scaler, GDRegressor(scale=False, **params))
    pipeline[-1].fit(scaler.transform(X), y, sample_weight=weights)
    np.testing.assert_allclose(model.predict(X), pipeline.predict(X), rtol=0, atol=1e-8)
    inner = pipeline[-1]
    assert_close(model.coef_, inner.coef_ / scaler.scale_, 1e-8)
    assert_close(model.intercept_, inner.intercept_, 1e-8)
    if scale == "auto":         # the same scales on dense X when asked for
        dense = GDRegressor(center=False, scale="maxabs").fit(X.toarray(), y,
                                                             sample_weight=weights)
        np.testing.assert_array_equal(dense._state.inv_scale, model._state.inv_scale)


def test_sparse_classifier_equals_a_with_mean_false_pipeline():
    X, rng = sparse_data(seed=3)
    y = (X @ rng.normal(size=N_FEATURES) > 0).astype(int)
    params = {"max_iter": 5, "tol": None, "random_state": 0, "penalty": "l2", "alpha": 1e-3}
    model = GDClassifier(scale=True, **params).fit(X, y)
    pipeline = make_pipeline(fitted_scaler(X), GDClassifier(scale=False, **params))
    pipeline[-1].fit(pipeline[0].transform(X), y)
    np.testing.assert_allclose(model.decision_function(X), pipeline.decision_function(X),
                               rtol=0, atol=1e-8)


def test_max_abs_scales_skip_rows_of_zero_weight_and_keep_zero_columns_at_one():
    X, y, _, _ = weighted_problem()
    X = X.tolil()
    X[3, 5] = -1e6                     # the largest value of column 5, in a row of weight 0
    X = X.tocsr()
    weights = np.ones(X.shape[0])
    weights[3] = 0.0
    expected = MaxAbsScaler().fit(X[np.flatnonzero(weights)]).scale_
    for data in (X, X.toarray()):
        statistics = _statistics.describe_features(data, weights, center=False, scale="maxabs")
        np.testing.assert_array_equal(statistics.inv_scale, 1 / expected)
    assert statistics.inv_scale[7] == 1.0          # column 7 holds no value
    # A row repeating a column: the column's value is the repeats' sum (scipy's rule).
    repeated = sp.csr_matrix((np.array([2.0, -5.0, 1.0]), np.array([1, 1, 0]),
                              np.array([0, 2, 3])), shape=(2, 3))
    scales = _statistics.describe_features(repeated, np.ones(2), center=False,
                                           scale="maxabs").inv_scale
    np.testing.assert_array_equal(scales, [1.0, 1 / 3.0, 1.0])


@pytest.mark.parametrize("params", [
    {"optimizer": "sgd", "penalty": "l1", "alpha": 0.01, "batch_size": 1},
    {"optimizer": "adagrad", "batch_size": 4},
    {"optimizer": "momentum", "batch_size": 8, "learning_rate": 0.005},
])
@pytest.mark.parametrize("average", [True, 20])
def test_averaged_sparse_estimator_equals_dense(params, average):
    X, y, weights, _ = weighted_problem(seed=4)
    params = dict(params, max_iter=4, tol=None, random_state=0, average=average)
    sparse_model = GDRegressor(**params).fit(X, y, sample_weight=weights)
    dense_model = GDRegressor(center=False, scale="maxabs", **params).fit(X.toarray(), y,
                                                                          sample_weight=weights)
    twin_model = GDRegressor(engine="numpy", **params).fit(X, y, sample_weight=weights)
    plain_model = GDRegressor(**dict(params, average=False)).fit(X, y, sample_weight=weights)
    assert_close(sparse_model.coef_, dense_model.coef_)
    assert_close(sparse_model.intercept_, dense_model.intercept_)
    assert_close(sparse_model.coef_, twin_model.coef_)
    assert np.max(np.abs(sparse_model.coef_ - plain_model.coef_)) > 1e-6
    # partial_fit goes on from the last iterate and the running average, as on dense X.
    sparse_model.partial_fit(X, y, sample_weight=weights)
    dense_model.partial_fit(X.toarray(), y, sample_weight=weights)
    assert_close(sparse_model.coef_, dense_model.coef_)


def test_sparse_partial_fit_follows_the_stream_scales():
    X, y, _, _ = weighted_problem(seed=5)
    # The later chunks hold larger values than the first: the scales grow as they arrive.
    X = sp.vstack([X[:20], 3 * X[20:40], 10 * X[40:]]).tocsr()
    sparse_model = GDRegressor(random_state=0)
    dense_model = GDRegressor(random_state=0, center=False, scale="maxabs", average=10)
    for start in (0, 20, 40):
        sparse_model.partial_fit(X[start:start + 20], y[start:start + 20])
        dense_model.partial_fit(X[start:start + 20].toarray(), y[start:start + 20])
        assert np.all(np.isfinite(sparse_model.coef_))
    assert_close(sparse_model.coef_, dense_model.coef_)
    assert_close(sparse_model.intercept_, dense_model.intercept_)
    np.testing.assert_array_equal(sparse_model._state.inv_scale, 1 / MaxAbsScaler().fit(X).scale_)
    with pytest.raises(ValueError, match="changed from one to the other"):
        sparse_model.partial_fit(X[:20].toarray(), y[:20])


def test_scale_false_trains_sparse_x_on_its_raw_values():
    X, y, _, _ = weighted_problem(seed=6)
    params = {"max_iter": 3, "tol": None, "random_state": 0, "scale": False, "average": False}
    sparse_model = GDRegressor(**params).fit(X, y)
    dense_model = GDRegressor(center=False, **params).fit(X.toarray(), y)
    assert_close(sparse_model.coef_, dense_model.coef_)
    assert np.all(sparse_model._state.inv_scale == 1)


@pytest.mark.parametrize("bad, kind", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_a_non_finite_stored_value_is_named_by_row_and_column(bad, kind):
    X, y, _, _ = weighted_problem()
    X = X.copy()
    row = 17
    column = X.indices[X.indptr[row] + 1]
    X.data[X.indptr[row] + 1] = bad
    saved = X.data.copy()
    with pytest.raises(ValueError, match=f"X contains {kind} at row {row}, column {column}"):
        GDRegressor().fit(X, y)
    np.testing.assert_array_equal(X.data, saved)
    fitted = GDRegressor(max_iter=2, tol=None).fit(X[:10], y[:10])
    with pytest.raises(ValueError, match=f"X contains {kind} at row {row}, column {column}"):
        fitted.partial_fit(X, y)


@pytest.mark.parametrize("batch_size", [1, 5])
@pytest.mark.parametrize("loss, multiclass, n_outputs", [("log_loss", "multinomial", 3),
                                                         ("hinge", "ovr", 3)])
def test_averaged_sgd_with_several_outputs_equals_dense(loss, multiclass, n_outputs,
                                                        batch_size):
    X, rng = sparse_data(seed=7)
    y = rng.integers(0, n_outputs, X.shape[0]).astype(float)
    inv_scale = inverse_scales(X)
    config = {"optimizer": "sgd", "loss": loss, "multiclass": multiclass, "l2": 0.3,
              "batch_size": batch_size, "shuffle": True, "learning_rate": 0.05}
    _, _, average, _ = run("cython", X, y, config, inv_scale=inv_scale, average_start=4,
                           n_outputs=n_outputs)
    _, _, dense_average, _ = run("cython", X.toarray(), y, config, inv_scale=inv_scale,
                                 average_start=4, n_outputs=n_outputs)
    _, _, twin_average, _ = run("numpy", X, y, config, inv_scale=inv_scale,
                                average_start=4, n_outputs=n_outputs)
    assert_close(average, dense_average)
    assert_close(average, twin_average)


def test_averaged_float32_sgd_is_close_to_the_twin():
    X, rng = sparse_data(seed=8, dtype=np.float32)
    y = regression_targets(X, rng)
    inv_scale = inverse_scales(X)
    config = {"optimizer": "sgd", "l2": 0.2, "batch_size": 1, "learning_rate": 0.02}
    _, _, average, _ = run("cython", X, y, config, inv_scale=inv_scale, average_start=0)
    _, _, twin_average, _ = run("numpy", X, y, config, inv_scale=inv_scale, average_start=0)
    assert average.dtype == np.float32
    np.testing.assert_allclose(average, twin_average, rtol=0,
                               atol=1e-4 * float(np.max(np.abs(twin_average))))
