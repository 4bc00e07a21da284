"""The compact mini-batch's column records (csr.pxd): a column a batch holds is found again
by its slot mark, whatever its weight's bytes; rules whose state does not decay keep no
stamp; a batch that stops on a non-finite loss leaves the parameters the dense loop leaves."""
import numpy as np
import pytest
import scipy.sparse as sp

from gdfast.linear_model import _engine

N_SAMPLES, N_FEATURES = 48, 30


def shared_column_rows(seed=0, dtype=np.float64):
    """Rows that all hold column 3 (so every batch repeats it), some holding a column
    twice (duplicate indices, read as their sum), column 7 in no row."""
    rng = np.random.default_rng(seed)
    rows, columns, values = [], [], []
    for i in range(N_SAMPLES):
        picked = rng.choice([c for c in range(N_FEATURES) if c not in (3, 7)], 4, replace=False)
        row_columns = [3, *picked] + ([picked[0]] if i % 5 == 0 else [])
        rows += [i] * len(row_columns)
        columns += row_columns
        values += list(rng.uniform(-2, 2, len(row_columns)))
    X = sp.csr_matrix((np.array(values, dtype=dtype), np.array(columns, dtype=np.int32),
                       np.searchsorted(rows, np.arange(N_SAMPLES + 1))),
                      shape=(N_SAMPLES, N_FEATURES))
    X.has_canonical_format = False
    return X, rng.standard_normal(N_SAMPLES).astype(dtype)


def run(engine, X, y, config, epochs=3, learning_rate=0.05):
    dtype = X.dtype
    coef = np.zeros(N_FEATURES + 1, dtype=dtype)
    state = np.zeros((_engine.state_rows(config["optimizer"]), coef.size), dtype=dtype)
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(N_SAMPLES, dtype=np.intp)
    t, rng_state, statuses = 0, 7, []
    for _ in range(epochs):
        status, _, t, rng_state, _ = _engine.run_epoch(
            engine, X, np.asarray(y, dtype=dtype), np.ones(N_SAMPLES, dtype=dtype), coef,
            state, scalars, order, {"learning_rate": learning_rate, "shuffle": True, **config},
            t, rng_state)
        statuses.append(status)
    return coef, state, statuses, t


RULES = [
    ("adagrad", {}, "lazy compact"),                      # records without stamps
    ("adagrad", {"l1": 0.02}, "lazy compact"),
    ("adagrad", {"l2": 0.05}, "dense step"),
    ("adam", {"lazy": True}, "lazy compact"),
    ("rmsprop", {}, "lazy compact"),                      # records whose state decays
    ("rmsprop", {"centered": True}, "lazy compact"),
    ("momentum", {"momentum": 0.9, "learning_rate": 0.005}, "lazy compact"),
    ("nesterov", {"momentum": 0.5, "learning_rate": 0.005}, "lazy compact"),
]


@pytest.mark.parametrize("batch_size", [1, 4, 16])
@pytest.mark.parametrize("optimizer, extra, kind", RULES)
def test_columns_repeated_within_batches_and_rows_equal_dense_and_the_twin(
        optimizer, extra, kind, batch_size):
    X, y = shared_column_rows()
    config = dict(optimizer=optimizer, batch_size=batch_size, **extra)
    assert _engine.sparse_update_kind(config) == kind
    coef, state, statuses, _ = run("cython", X, y, config)
    twin_coef, twin_state, _, _ = run("numpy", X, y, config)
    assert statuses == [_engine.STATUS_OK] * 3
    assert np.max(np.abs(coef - twin_coef)) < 1e-10
    np.testing.assert_allclose(state, twin_state, rtol=0, atol=1e-10)
    if not extra.get("lazy"):
        dense_coef, dense_state, _, _ = run("cython", X.toarray(), y, config)
        assert np.max(np.abs(coef - dense_coef)) < 1e-10
        np.testing.assert_allclose(state, dense_state, rtol=0, atol=1e-10)
    assert coef[3] != 0 and coef[7] == 0


@pytest.mark.parametrize("optimizer, extra, kind", RULES[:2] + RULES[4:])
def test_float32_records_are_close_to_the_twin(optimizer, extra, kind):
    X, y = shared_column_rows(seed=1, dtype=np.float32)
    config = dict(optimizer=optimizer, batch_size=4, **extra)
    coef, state, statuses, _ = run("cython", X, y, config)
    twin_coef, twin_state, _, _ = run("numpy", X.astype(np.float64), y.astype(np.float64),
                                      config)
    assert coef.dtype == np.float32 and statuses == [_engine.STATUS_OK] * 3
    np.testing.assert_allclose(coef, twin_coef, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state, twin_state, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("optimizer, extra, kind", RULES)
def test_a_non_finite_batch_leaves_the_parameters_the_dense_loop_leaves(optimizer, extra,
                                                                        kind):
    """A rate large enough for the weights to overflow: the epoch stops at the batch whose
    loss is not finite, before its step, the sparse loop with the dense loop's parameters
    (not a held column's slot mark in a weight)."""
    X, y = shared_column_rows(seed=2)
    config = dict(optimizer=optimizer, batch_size=4, loss="squared_error", **extra)
    config["learning_rate"] = 1e160
    sparse = run("cython", X, 1e150 * y, config, epochs=1)
    dense = run("cython", X.toarray(), 1e150 * y, config, epochs=1)
    assert sparse[2] == dense[2] == [_engine.kernel.STATUS_NONFINITE]
    assert sparse[3] == dense[3] > 0                   # after some steps
    np.testing.assert_allclose(sparse[0], dense[0], rtol=1e-10)
    np.testing.assert_allclose(sparse[1], dense[1], rtol=1e-10)


@pytest.mark.parametrize("optimizer, extra, expected", [
    ("adagrad", {}, (16, None)),
    ("adam", {"lazy": True}, (32, None)),
    ("momentum", {"momentum": 0.9}, (16, "scaled")),
    ("rmsprop", {"centered": True}, (32, "scaled")),
    ("adadelta", {}, (32, "scaled")),
    ("momentum", {"momentum": 0.0}, (32, "stamped")),       # no decay to scale by
    ("adagrad", {"l2": 0.01}, (0, None)),                     # dense step
])
def test_which_rules_keep_stamps_in_their_records(optimizer, extra, expected):
    config = dict(optimizer=optimizer, batch_size=32, **extra)
    assert _engine.sparse_column_records(config, 10**6, 2**20, 5 * 10**7) == expected


def test_scaled_records_need_updates_enough_between_rescalings():
    """μ = 0.1 reaches the float64 rescaling bound in 150 updates: with 4 columns read per
    update that is fewer columns than a rescaling reads over 1,000 features, more over 500;
    float32's bound comes sooner."""
    config = dict(optimizer="momentum", momentum=0.1, batch_size=2)
    assert _engine.sparse_column_records(config, 400, 1000, 800)[1] == "stamped"
    assert _engine.sparse_column_records(config, 400, 500, 800)[1] == "scaled"
    config["momentum"] = 0.9
    assert _engine.sparse_column_records(config, 400, 2000, 800)[1] == "scaled"
    assert _engine.sparse_column_records(config, 400, 2000, 800, itemsize=4) == (16, "stamped")
    assert _engine.sparse_column_records(config, 400, 200, 800, itemsize=4) == (8, "scaled")


def wide_rows(n_features, seed=3, n_rows=400, per_row=2):
    rng = np.random.default_rng(seed)
    columns = np.concatenate([np.sort(rng.choice(n_features, per_row, replace=False))
                              for _ in range(n_rows)]).astype(np.int32)
    X = sp.csr_matrix((rng.uniform(-2, 2, columns.size), columns,
                       np.arange(0, columns.size + 1, per_row)), shape=(n_rows, n_features))
    return X, rng.standard_normal(n_rows)


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
@pytest.mark.parametrize("n_features, form", [(30, "scaled"), (1000, "stamped")])
def test_both_idle_forms_and_rescaling_equal_the_twin(optimizer, n_features, form):
    """μ = 0.1 over 200 updates an epoch: the scaled records are rescaled within each
    epoch; with 1,000 features the records keep stamps instead. Both give the twin's
    result (the dense loop's, tested above)."""
    X, y = wide_rows(n_features)
    config = dict(optimizer=optimizer, momentum=0.1, batch_size=2, learning_rate=0.01)
    assert _engine.sparse_column_records(config, X.shape[0], n_features, X.nnz)[1] == form
    coef, state, statuses, _ = run_wide("cython", X, y, config)
    twin_coef, twin_state, _, _ = run_wide("numpy", X, y, config)
    assert statuses == [_engine.STATUS_OK] * 3
    np.testing.assert_allclose(coef, twin_coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state, twin_state, rtol=1e-10, atol=1e-12)
    assert np.count_nonzero(coef) > n_features // 2


def run_wide(engine, X, y, config, epochs=3):
    n_rows, n_features = X.shape
    coef = np.zeros(n_features + 1)
    state = np.zeros((_engine.state_rows(config["optimizer"]), coef.size))
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(n_rows, dtype=np.intp)
    t, rng_state, statuses = 0, 5, []
    for _ in range(epochs):
        status, _, t, rng_state, _ = _engine.run_epoch(
            engine, X, y, np.ones(n_rows), coef, state, scalars, order,
            dict(config, shuffle=True), t, rng_state)
        statuses.append(status)
    return coef, state, statuses, t
