"""Sparse X (scipy.sparse): the kernel's CSR loops equal the NumPy twin, and every update
that is caught up exactly gives the model of the same X dense (trained uncentred); the lazy
Adam family is its own, documented update; the estimators read CSR without copying it."""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from gdfast import GDClassifier, GDRegressor
from gdfast.linear_model import _engine
from gdfast.optim import Adam, Adamax, AdamW, NAdam

N_SAMPLES, N_FEATURES = 60, 40
EPOCHS = 3


def sparse_data(seed=0, dtype=np.float64, density=0.12):
    rng = np.random.default_rng(seed)
    X = sp.random(N_SAMPLES, N_FEATURES, density=density, random_state=seed, format="csr",
                  dtype=dtype)
    X.data = (X.data * 4 - 2).astype(dtype)
    X.indices[:] = np.where(X.indices == 7, 8, X.indices)   # column 7 never holds a value
    X.has_canonical_format = False                           # now it may hold duplicates
    X.sum_duplicates()
    return X, rng


def targets(loss, rng, n_classes=2):
    if loss in ("squared_error", "huber", "epsilon_insensitive"):
        return rng.normal(size=N_SAMPLES), 1, "none"
    if n_classes > 2:
        return rng.integers(0, n_classes, N_SAMPLES).astype(float), n_classes, "multinomial"
    labels = rng.integers(0, 2, N_SAMPLES).astype(float)
    return (labels if loss == "log_loss" else 2 * labels - 1), 1, "none"


def run(engine, X, y, config, n_outputs=1, epochs=EPOCHS):
    """epochs of run_epoch from zero; return (coef, state, scalars, loss sums)."""
    n_features = X.shape[1]
    dtype = X.dtype
    coef = np.zeros(n_outputs * (n_features + 1), dtype=dtype)
    state = np.zeros((_engine.state_rows(config["optimizer"]), coef.size), dtype=dtype)
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(X.shape[0], dtype=np.intp)
    t, rng_state, losses = 0, 11, []
    y = np.asarray(y, dtype=dtype)
    for _ in range(epochs):
        status, loss_sum, t, rng_state, _ = _engine.run_epoch(
            engine, X, y, np.ones(X.shape[0], dtype=dtype), coef, state, scalars, order,
            dict(config), t, rng_state)
        assert status == _engine.STATUS_OK
        losses.append(loss_sum)
    return coef, state, scalars, losses


# Every rule with a penalty or hyper-parameter that changes how its skipped steps are caught
# up; the kind of update the kernel takes for it on CSR rows.
EXACT_CASES = [
    ("sgd", {}, "lazy sgd"),
    ("sgd", {"l2": 0.05}, "lazy sgd"),
    ("sgd", {"l1": 0.02}, "lazy sgd"),
    ("sgd", {"l1": 0.01, "l2": 0.05, "weight_decay": 0.02}, "lazy sgd"),
    ("adagrad", {}, "lazy compact"),
    ("adagrad", {"l1": 0.02, "lr_decay": 0.01}, "lazy compact"),
    ("rmsprop", {}, "lazy compact"),
    ("rmsprop", {"centered": True, "l1": 0.01}, "lazy compact"),
    ("adadelta", {"rho": 0.8}, "lazy compact"),
    ("adagrad", {"l2": 0.05}, "dense step"),
    ("rmsprop", {"momentum": 0.5}, "dense step"),
    ("momentum", {"momentum": 0.9, "learning_rate": 0.005}, "lazy compact"),
    ("nesterov", {"momentum": 0.9, "learning_rate": 0.005}, "lazy compact"),
    ("momentum", {"momentum": 0.0, "learning_rate": 0.005}, "lazy compact"),
    ("nesterov", {"momentum": 0.9, "l1": 0.01, "learning_rate": 0.005}, "dense step"),
    ("momentum", {"momentum": 0.9, "l2": 0.05, "learning_rate": 0.005}, "dense step"),
    ("momentum", {"momentum": 0.9, "schedule": "invscaling", "power_t": 0.25,
                  "learning_rate": 0.005}, "dense step"),
    ("nesterov", {"momentum": 0.9, "warmup_steps": 5.0, "learning_rate": 0.005}, "dense step"),
    ("adam", {}, "dense step"),
    ("adamw", {"weight_decay": 0.05}, "dense step"),
    ("nadam", {}, "dense step"),
    ("adamax", {"l2": 0.01}, "dense step"),
]
BATCH_SIZES = [1, 7, N_SAMPLES]


@pytest.mark.parametrize("optimizer, extra, kind", EXACT_CASES)
def test_each_rule_takes_the_expected_kind_of_sparse_update(optimizer, extra, kind):
    assert _engine.sparse_update_kind(dict(optimizer=optimizer, **extra)) == kind


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "nadam", "adamax"])
def test_lazy_adam_family_updates_only_the_batch_columns(optimizer):
    assert _engine.sparse_update_kind({"optimizer": optimizer, "lazy": True}) == "lazy compact"


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("optimizer, extra, kind", EXACT_CASES)
def test_sparse_equals_dense_and_the_twin(optimizer, extra, kind, batch_size):
    X, rng = sparse_data()
    y, _, _ = targets("squared_error", rng)
    config = {"optimizer": optimizer, "batch_size": batch_size, "shuffle": True,
              "learning_rate": 0.05, **extra}
    sparse_coef, sparse_state, scalars, losses = run("cython", X, y, config)
    dense_coef, dense_state, dense_scalars, dense_losses = run("cython", X.toarray(), y, config)
    twin_coef, twin_state, _, twin_losses = run("numpy", X, y, config)
    assert np.max(np.abs(sparse_coef - dense_coef)) < 1e-10
    np.testing.assert_allclose(sparse_state, dense_state, rtol=0, atol=1e-10)
    np.testing.assert_allclose(scalars, dense_scalars, rtol=1e-12)
    np.testing.assert_allclose(losses, dense_losses, rtol=1e-10)
    assert np.max(np.abs(sparse_coef - twin_coef)) < 1e-10
    np.testing.assert_allclose(sparse_state, twin_state, rtol=0, atol=1e-10)
    np.testing.assert_allclose(losses, twin_losses, rtol=1e-10)
    assert np.any(sparse_coef != 0)


@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("loss, n_classes", [
    ("huber", 2), ("epsilon_insensitive", 2), ("log_loss", 2), ("hinge", 2),
    ("modified_huber", 2), ("log_loss", 3)])
@pytest.mark.parametrize("optimizer, extra", [("sgd", {"l1": 0.01, "l2": 0.05}),
                                              ("adagrad", {}), ("adam", {})])
def test_every_loss_and_multinomial_sparse_equals_dense(loss, n_classes, optimizer, extra,
                                                        batch_size):
    X, rng = sparse_data(seed=3)
    y, n_outputs, multiclass = targets(loss, rng, n_classes)
    config = dict(optimizer=optimizer, loss=loss, multiclass=multiclass,
                  batch_size=batch_size, learning_rate=0.05, **extra)
    sparse_coef = run("cython", X, y, config, n_outputs)[0]
    dense_coef = run("cython", X.toarray(), y, config, n_outputs)[0]
    twin_coef = run("numpy", X, y, config, n_outputs)[0]
    assert np.max(np.abs(sparse_coef - dense_coef)) < 1e-10
    assert np.max(np.abs(sparse_coef - twin_coef)) < 1e-10
    assert np.any(sparse_coef != 0)


def test_one_vs_rest_sparse_equals_dense():
    X, rng = sparse_data(seed=4)
    y = rng.integers(0, 3, N_SAMPLES).astype(float)
    config = {"optimizer": "sgd", "loss": "hinge", "multiclass": "ovr", "batch_size": 1,
                  "learning_rate": 0.05, "l2": 0.01}
    sparse_coef = run("cython", X, y, config, 3)[0]
    dense_coef = run("cython", X.toarray(), y, config, 3)[0]
    assert np.max(np.abs(sparse_coef - dense_coef)) < 1e-10


def test_float32_sparse_is_close_to_dense():
    X, rng = sparse_data(dtype=np.float32)
    y, _, _ = targets("squared_error", rng)
    config = {"optimizer": "sgd", "batch_size": 1, "learning_rate": 0.05, "l2": 0.05, "l1": 0.01}
    sparse_coef = run("cython", X, y, config)[0]
    dense_coef = run("cython", X.toarray(), y, config)[0]
    assert sparse_coef.dtype == np.float32
    np.testing.assert_allclose(sparse_coef, dense_coef, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("optimizer, extra", [("adagrad", {}), ("rmsprop", {}),
                                              ("adam", {"lazy": True})])
def test_float32_compact_updates_are_close_to_the_twin(optimizer, extra, batch_size):
    X, rng = sparse_data(dtype=np.float32)
    y, _, _ = targets("squared_error", rng)
    config = dict(optimizer=optimizer, batch_size=batch_size, learning_rate=0.05, l1=0.01,
                  **extra)
    coef = run("cython", X, y, config)[0]
    assert coef.dtype == np.float32
    np.testing.assert_allclose(coef, run("numpy", X, y, config)[0], atol=1e-4)


@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
def test_float32_momentum_catch_up_is_close_to_dense(optimizer, batch_size):
    X, rng = sparse_data(dtype=np.float32)
    y, _, _ = targets("squared_error", rng)
    config = dict(optimizer=optimizer, batch_size=batch_size, learning_rate=0.01,
                  momentum=0.9)
    coef = run("cython", X, y, config)[0]
    assert coef.dtype == np.float32
    np.testing.assert_allclose(coef, run("cython", X.toarray(), y, config)[0], atol=1e-5)


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
@pytest.mark.parametrize("momentum", [0.5, 0.99])
def test_momentum_catches_up_long_idle_gaps_exactly(optimizer, momentum):
    """A column read in the first and the last row only coasts on its velocity for every
    update between: the geometric sum gives the dense loop's result."""
    rng = np.random.default_rng(3)
    n_rows = 400
    X = sp.random(n_rows, 30, density=0.1, format="csr", random_state=4)
    X = sp.lil_matrix(X)
    X[:, 29] = 0.0
    X[0, 29], X[n_rows - 1, 29] = 1.5, -0.7
    X = sp.csr_matrix(X)
    y = rng.standard_normal(n_rows)
    config = dict(optimizer=optimizer, batch_size=1, shuffle=False, learning_rate=0.02,
                  momentum=momentum)
    assert _engine.sparse_update_kind(config) == "lazy compact"
    sparse_coef, sparse_state = run("cython", X, y, config)[:2]
    dense_coef, dense_state = run("cython", X.toarray(), y, config)[:2]
    np.testing.assert_allclose(sparse_coef, dense_coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse_state, dense_state, rtol=1e-10, atol=1e-12)
    assert sparse_coef[29] != 0.0


def test_momentum_catches_up_lags_longer_than_the_table_of_powers():
    """More updates in an epoch than the kernel tabulates the decay for: a column idle for
    longer still gets the dense loop's result."""
    rng = np.random.default_rng(5)
    n_rows = _engine.kernel.IDLE_TABLE_LIMIT + 500
    X = sp.lil_matrix((n_rows, 4))
    X[:, 0] = rng.standard_normal((n_rows, 1)) * 0.1
    X[0, 3], X[n_rows - 1, 3] = 1.5, -0.7          # idle for every update between
    X = sp.csr_matrix(X)
    y = rng.standard_normal(n_rows)
    config = dict(optimizer="momentum", batch_size=1, shuffle=False, learning_rate=0.01,
                  momentum=0.9999)
    sparse_coef, sparse_state = run("cython", X, y, config, epochs=1)[:2]
    dense_coef, dense_state = run("cython", X.toarray(), y, config, epochs=1)[:2]
    np.testing.assert_allclose(sparse_coef, dense_coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse_state, dense_state, rtol=1e-10, atol=1e-12)
    assert sparse_coef[3] != 0.0


@pytest.mark.parametrize("optimizer, extra", [
    ("momentum", {"momentum": 0.9, "learning_rate": 0.005}),
    ("nesterov", {"momentum": 0.9, "learning_rate": 0.005}),
    ("adagrad", {"l1": 0.01}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "l1": 0.01}),
    ("adadelta", {"rho": 0.8}),
    ("adam", {"lazy": True, "amsgrad": True}),
    ("nadam", {"lazy": True}),
])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_compact_updates_with_several_outputs_equal_the_twin_and_dense(optimizer, extra,
                                                                        batch_size):
    """Each column's weights and state for every output are gathered, stepped and put back
    together: multinomial log loss, every rule the compact update takes."""
    X, rng = sparse_data(seed=6)
    y, n_outputs, multiclass = targets("log_loss", rng, n_classes=3)
    config = dict(optimizer=optimizer, loss="log_loss", multiclass=multiclass,
                  batch_size=batch_size, **{"learning_rate": 0.05, **extra})
    assert _engine.sparse_update_kind(config) == "lazy compact"
    coef, state, _, losses = run("cython", X, y, config, n_outputs)
    twin_coef, twin_state, _, twin_losses = run("numpy", X, y, config, n_outputs)
    assert np.max(np.abs(coef - twin_coef)) < 1e-10
    np.testing.assert_allclose(state, twin_state, rtol=0, atol=1e-10)
    np.testing.assert_allclose(losses, twin_losses, rtol=1e-10)
    if not extra.get("lazy"):
        dense_coef, dense_state = run("cython", X.toarray(), y, config, n_outputs)[:2]
        assert np.max(np.abs(coef - dense_coef)) < 1e-10
        np.testing.assert_allclose(state, dense_state, rtol=0, atol=1e-10)
    assert np.any(coef != 0)


@pytest.mark.parametrize("batch_size", [1, 7])
def test_rmsprop_leaves_a_mean_gradient_it_does_not_read_alone(batch_size):
    """Without centring, RMSprop never reads or writes its mean-gradient buffer (one a
    centred fit left there): the sparse update leaves it as the dense one does."""
    X, rng = sparse_data(seed=2)
    y, _, _ = targets("squared_error", rng)
    config = dict(optimizer="rmsprop", batch_size=batch_size, learning_rate=0.05)
    results = []
    for rows in (X, X.toarray()):
        coef = np.zeros(N_FEATURES + 1)
        state = np.zeros((_engine.state_rows("rmsprop"), coef.size))
        state[1] = np.random.default_rng(9).standard_normal(coef.size)
        left = state[1].copy()
        status = _engine.run_epoch("cython", rows, y, np.ones(N_SAMPLES), coef, state,
                                   np.ones(_engine.SCALAR_STATE_SIZE),
                                   np.arange(N_SAMPLES, dtype=np.intp), config, 0, 11)[0]
        assert status == _engine.STATUS_OK
        np.testing.assert_array_equal(state[1], left)
        results.append((coef, state))
    assert np.max(np.abs(results[0][0] - results[1][0])) < 1e-10
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=0, atol=1e-10)


def test_scale_settles_when_it_nears_underflow():
    """A strong l2 shrinks the scale below 1e-9 within an epoch; the result is unchanged."""
    X, rng = sparse_data()
    y, _, _ = targets("squared_error", rng)
    config = {"optimizer": "sgd", "batch_size": 1, "learning_rate": 0.5, "l2": 1.0, "l1": 0.001}
    sparse_coef = run("cython", X, y, config)[0]
    dense_coef = run("cython", X.toarray(), y, config)[0]
    assert np.max(np.abs(sparse_coef - dense_coef)) < 1e-10


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "nadam", "adamax"])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_lazy_adam_family_equals_the_twin_and_leaves_other_columns_alone(optimizer,
                                                                         batch_size):
    X, rng = sparse_data()
    y, _, _ = targets("squared_error", rng)
    config = {"optimizer": optimizer, "lazy": True, "batch_size": batch_size, "learning_rate": 0.05,
                  "weight_decay": 0.01}
    coef, state, scalars, losses = run("cython", X, y, config)
    twin_coef, twin_state, twin_scalars, twin_losses = run("numpy", X, y, config)
    assert np.max(np.abs(coef - twin_coef)) < 1e-10
    assert np.max(np.abs(state - twin_state)) < 1e-10
    np.testing.assert_allclose(scalars, twin_scalars, rtol=1e-12)
    np.testing.assert_allclose(losses, twin_losses, rtol=1e-10)
    # Column 7 is in no row: its weight and moments never moved (the exact update would
    # decay weight decay's pull and the moments on every step).
    assert coef[7] == 0 and np.all(state[:, 7] == 0)
    exact = run("cython", X, y, dict(config, lazy=False))[0]
    assert np.max(np.abs(exact - coef)) > 1e-3           # a different update, by design


def test_lazy_adam_with_l1_applies_the_l1_step_to_every_weight():
    X, rng = sparse_data()
    y, _, _ = targets("squared_error", rng)
    config = {"optimizer": "adam", "lazy": True, "batch_size": 3, "learning_rate": 0.05, "l1": 0.05}
    coef = run("cython", X, y, config)[0]
    twin_coef = run("numpy", X, y, config)[0]
    assert np.max(np.abs(coef - twin_coef)) < 1e-10
    assert np.sum(coef[:N_FEATURES] == 0) > 1


# --- through the estimators -----------------------------------------------------------


def dense_twin(optimizer="sgd", batch_size=1, n_samples=N_SAMPLES):
    """The parameters under which a dense fit trains as the default fit on sparse X does:
    uncentred, scaled by the features' largest values and, for plain SGD on batches smaller
    than the data ('auto'), averaged from the middle of the first epoch."""
    averaged = optimizer == "sgd" and batch_size is not None and batch_size < n_samples
    return {"center": False, "scale": "maxabs",
            "average": -(-n_samples // batch_size) // 2 if averaged else False}


def regression_problem(seed=0):
    X, rng = sparse_data(seed)
    y = X @ rng.normal(size=N_FEATURES) + 0.5 + 0.05 * rng.normal(size=N_SAMPLES)
    return X, y


@pytest.mark.parametrize("batch_size", [1, 8, None])
@pytest.mark.parametrize("optimizer, penalty", [("sgd", "elasticnet"), ("adagrad", None),
                                                ("rmsprop", None), ("adam", "l2")])
def test_regressor_on_sparse_equals_dense_uncentred(optimizer, penalty, batch_size):
    X, y = regression_problem()
    params = {"optimizer": optimizer, "penalty": penalty, "alpha": 0.01, "batch_size": batch_size,
                  "max_iter": 5, "tol": None, "random_state": 0}
    sparse_model = GDRegressor(**params).fit(X, y)
    dense_model = GDRegressor(**dense_twin(optimizer, batch_size), **params).fit(X.toarray(), y)
    assert np.max(np.abs(sparse_model.coef_ - dense_model.coef_)) < 1e-10
    assert abs(sparse_model.intercept_[0] - dense_model.intercept_[0]) < 1e-10
    np.testing.assert_allclose(sparse_model.predict(X), dense_model.predict(X.toarray()),
                               rtol=1e-10, atol=1e-12)
    assert sparse_model.score(X, y) == pytest.approx(dense_model.score(X.toarray(), y))
    np.testing.assert_allclose(sparse_model.loss_curve_, dense_model.loss_curve_, rtol=1e-10)


def test_twin_engine_on_sparse_equals_the_kernel_through_the_estimator():
    X, y = regression_problem()
    params = {"optimizer": "adagrad", "batch_size": 4, "max_iter": 4, "tol": None, "random_state": 0}
    kernel = GDRegressor(**params).fit(X, y)
    twin = GDRegressor(engine="numpy", **params).fit(X, y)
    assert np.max(np.abs(kernel.coef_ - twin.coef_)) < 1e-10


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_on_sparse_equals_dense_uncentred(n_classes):
    X, rng = sparse_data(seed=5)
    y = np.digitize(X @ rng.normal(size=N_FEATURES), [0.0] if n_classes == 2 else [-0.3, 0.3])
    params = {"max_iter": 5, "tol": None, "random_state": 0, "penalty": "l2", "alpha": 1e-3}
    sparse_model = GDClassifier(**params).fit(X, y)
    dense_model = GDClassifier(**dense_twin(), **params).fit(X.toarray(), y)
    assert np.max(np.abs(sparse_model.coef_ - dense_model.coef_)) < 1e-10
    np.testing.assert_allclose(sparse_model.decision_function(X),
                               dense_model.decision_function(X.toarray()), atol=1e-10)
    np.testing.assert_allclose(sparse_model.predict_proba(X),
                               dense_model.predict_proba(X.toarray()), atol=1e-10)
    np.testing.assert_array_equal(sparse_model.predict(X), dense_model.predict(X.toarray()))
    assert sparse_model.score(X, y) == dense_model.score(X.toarray(), y)


def test_partial_fit_on_sparse_equals_dense():
    X, y = regression_problem()
    sparse_model = GDRegressor(random_state=0)
    dense_model = GDRegressor(random_state=0, **dense_twin(n_samples=30))
    for start in (0, 30):
        sparse_model.partial_fit(X[start:start + 30], y[start:start + 30])
        dense_model.partial_fit(X[start:start + 30].toarray(), y[start:start + 30])
    assert np.max(np.abs(sparse_model.coef_ - dense_model.coef_)) < 1e-10


def test_classifier_partial_fit_and_early_stopping_on_sparse():
    X, rng = sparse_data(seed=6)
    y = (X @ rng.normal(size=N_FEATURES) > 0).astype(int)
    model = GDClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])
    assert model.coef_.shape == (1, N_FEATURES)
    model = GDClassifier(random_state=0, early_stopping=True, validation_fraction=0.2,
                         max_iter=20).fit(X, y)
    assert model.best_validation_score_ is not None


@pytest.mark.parametrize("convert", [sp.csr_array, sp.csc_matrix, sp.coo_matrix,
                                     sp.csc_array, sp.lil_matrix])
def test_every_sparse_format_gives_the_csr_model(convert):
    X, y = regression_problem()
    params = {"max_iter": 3, "tol": None, "random_state": 0}
    expected = GDRegressor(**params).fit(X, y)
    model = GDRegressor(**params).fit(convert(X), y)
    np.testing.assert_array_equal(model.coef_, expected.coef_)
    np.testing.assert_array_equal(model.predict(convert(X)), expected.predict(X))


def test_int64_indices_and_float32_values():
    X, y = regression_problem()
    params = {"max_iter": 3, "tol": None, "random_state": 0}
    expected = GDRegressor(**params).fit(X, y)
    wide = X.copy()
    wide.indices = wide.indices.astype(np.int64)
    wide.indptr = wide.indptr.astype(np.int64)
    np.testing.assert_array_equal(GDRegressor(**params).fit(wide, y).coef_, expected.coef_)
    narrow = GDRegressor(**params).fit(X.astype(np.float32), y)
    assert narrow.coef_.dtype == np.float32
    np.testing.assert_allclose(narrow.coef_, expected.coef_, atol=1e-4)


def test_fit_reads_the_csr_arrays_without_copying_them():
    """A fit's traced allocations stay far below X's bytes: no copy of data or indices."""
    rng = np.random.default_rng(0)
    n_samples, n_features, nnz_per_row = 40_000, 5_000, 100
    indices = rng.integers(0, n_features, (n_samples, nnz_per_row)).astype(np.int32)
    indices.sort(axis=1)
    X = sp.csr_matrix((rng.standard_normal(n_samples * nnz_per_row), indices.ravel(),
                       np.arange(0, n_samples * nnz_per_row + 1, nnz_per_row, dtype=np.int32)),
                      shape=(n_samples, n_features))
    y = (rng.random(n_samples) > 0.5).astype(float)
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    model = GDClassifier(max_iter=2, tol=None, random_state=0)     # 'auto' reads row norms
    tracemalloc.start()
    model.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.1 * x_bytes, f"the fit allocated {peak / x_bytes:.0%} of X's bytes"


# --- bad input ------------------------------------------------------------------------


def copies(X):
    return X.data.copy(), X.indices.copy(), X.indptr.copy()


def assert_unchanged(X, saved):
    for array, before in zip((X.data, X.indices, X.indptr), saved):
        np.testing.assert_array_equal(array, before)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_explicit_non_finite_values_are_refused(bad):
    X, y = regression_problem()
    X.data[3] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        GDRegressor().fit(X, y)
    model = GDRegressor(max_iter=2, tol=None).fit(*regression_problem())
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.predict(X)


def test_negative_or_out_of_range_indices_are_refused():
    X, y = regression_problem()
    for value in (-1, N_FEATURES):
        bad = X.copy()
        bad.indices[2] = value
        saved = copies(bad)
        with pytest.raises(ValueError, match="column indices"):
            GDRegressor().fit(bad, y)
        assert_unchanged(bad, saved)


def test_the_kernel_checks_the_csr_structure_itself():
    X, _ = regression_problem()
    kernel_arrays = {"data": X.data, "indices": X.indices.copy(), "indptr": X.indptr.astype(np.intp)}
    for field, position, value, message in [("indices", 0, N_FEATURES, "column indices"),
                                            ("indices", 0, -3, "column indices"),
                                            ("indptr", 5, 0, "non-decreasing"),
                                            ("indptr", -1, 1, "disagree")]:
        arrays = {name: array.copy() for name, array in kernel_arrays.items()}
        arrays[field][position] = value
        with pytest.raises(ValueError, match=message):
            _engine.kernel.CSRRows(arrays["data"], arrays["indices"], arrays["indptr"],
                                   N_FEATURES)
    with pytest.raises(ValueError, match="int32 indices"):
        _engine.kernel.CSRRows(X.data, X.indices.astype(np.int64), X.indptr.astype(np.intp),
                               N_FEATURES)
    rows = _engine.kernel.CSRRows(X.data, X.indices, X.indptr.astype(np.intp), N_FEATURES)
    assert rows.distinct and rows.max_row_nnz == np.diff(X.indptr).max()
    reversed_rows = X.copy()
    for r in range(N_SAMPLES):
        reversed_rows.indices[X.indptr[r]:X.indptr[r + 1]] = X.indices[X.indptr[r]:X.indptr[r + 1]][::-1]
        reversed_rows.data[X.indptr[r]:X.indptr[r + 1]] = X.data[X.indptr[r]:X.indptr[r + 1]][::-1]
    assert _engine.kernel.CSRRows(reversed_rows.data, reversed_rows.indices,
                                  X.indptr.astype(np.intp), N_FEATURES).distinct
    repeated = X.indices.copy()
    repeated[X.indptr[3] + 1] = repeated[X.indptr[3]]
    assert not _engine.kernel.CSRRows(X.data, repeated, X.indptr.astype(np.intp),
                                      N_FEATURES).distinct
    assert rows.n_samples == N_SAMPLES


def test_unsorted_and_duplicate_indices_act_as_scipy_reads_them():
    """Duplicates add up (scipy's toarray and products sum them); order does not matter."""
    X, y = regression_problem()
    rows = np.repeat(np.arange(N_SAMPLES), np.diff(X.indptr))
    # Every value split into two halves stored at the same column, in reversed order.
    data = np.concatenate([X.data / 2, X.data / 2])
    columns = np.concatenate([X.indices, X.indices])
    row_of = np.concatenate([rows, rows])
    order = np.lexsort((-columns, row_of))
    messy = sp.csr_matrix((data[order], columns[order],
                           np.searchsorted(row_of[order], np.arange(N_SAMPLES + 1))),
                          shape=X.shape)
    assert not messy.has_canonical_format
    saved = copies(messy)
    for optimizer, batch_size in [("sgd", 1), ("adagrad", 1), ("rmsprop", 5), ("adam", 1)]:
        params = {"optimizer": optimizer, "batch_size": batch_size, "max_iter": 3, "tol": None,
                      "random_state": 0}
        expected = GDRegressor(**params).fit(X, y)
        model = GDRegressor(**params).fit(messy, y)
        assert np.max(np.abs(model.coef_ - expected.coef_)) < 1e-10, optimizer
        np.testing.assert_allclose(model.predict(messy), expected.predict(X), atol=1e-10)
    assert_unchanged(messy, saved)


def test_empty_and_all_zero_rows_train_as_dense_zero_rows():
    X, y = regression_problem()
    lil = X.tolil()
    lil[4, :] = 0                    # no stored values
    X = lil.tocsr()
    X[9, X[9].indices] = 0           # stored zeros
    assert X.indptr[5] == X.indptr[4] and X[9].nnz > 0 and not np.any(X[9].data)
    saved = copies(X)
    params = {"max_iter": 3, "tol": None, "random_state": 0, "batch_size": 4, "penalty": "l1",
                  "alpha": 0.01}
    model = GDRegressor(**params).fit(X, y)
    dense = GDRegressor(**dense_twin(batch_size=4), **params).fit(X.toarray(), y)
    assert np.max(np.abs(model.coef_ - dense.coef_)) < 1e-10
    assert_unchanged(X, saved)


def test_column_count_must_match_the_fit():
    X, y = regression_problem()
    model = GDRegressor(max_iter=2, tol=None).fit(X, y)
    wider = sp.hstack([X, X[:, :3]]).tocsr()
    with pytest.raises(ValueError, match="features"):
        model.predict(wider)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(wider, y)


def test_a_dense_centred_model_does_not_continue_on_sparse_rows():
    X, y = regression_problem()
    model = GDRegressor(max_iter=2, tol=None).fit(X.toarray() + 1.0, y)
    with pytest.raises(ValueError, match="centred on dense X"):
        model.partial_fit(X, y)


@pytest.mark.parametrize("optimizer", [Adam, AdamW, NAdam, Adamax])
def test_lazy_is_an_optimizer_parameter_off_by_default(optimizer):
    assert optimizer().lazy is False
    assert optimizer(lazy=True).kernel_config()["lazy"] is True
    X, y = regression_problem()
    params = {"max_iter": 3, "tol": None, "random_state": 0}
    lazy = GDRegressor(optimizer=optimizer(lazy=True), **params).fit(X, y)
    exact = GDRegressor(optimizer=optimizer(), **params).fit(X, y)
    dense = GDRegressor(optimizer=optimizer(lazy=True), **dense_twin("adam"), **params).fit(
        X.toarray(), y)
    # Dense rows hold every column: lazy changes nothing there.
    assert np.max(np.abs(exact.coef_ - dense.coef_)) < 1e-10
    assert np.max(np.abs(lazy.coef_ - exact.coef_)) > 1e-6
