"""Passes over data already in the workers' memory: one task per worker thread over the
chunks it holds, with the same results, to the last bit, as a task per chunk."""
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import dask  # noqa: E402
from distributed import get_task_stream, wait  # noqa: E402

import gdfast  # noqa: E402
from gdfast import dask as gd_dask  # noqa: E402
from gdfast.dask import _chunks, _placement  # noqa: E402

# Unequal row chunks, one of a single row; 240 rows.
CHUNKS = (1, 59, 40, 60, 30, 50)


def regression(n_samples=240, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) + np.arange(1, n_features + 1)
    y = X @ rng.standard_normal(n_features) + 2.0 + 0.3 * rng.standard_normal(n_samples)
    return X, y


def loaded_and_persisted(*arrays):
    """Each array as a dask array in CHUNKS row chunks twice: to be loaded by each pass
    (from the array in the graph) and persisted in the workers' memory."""
    loaded = [da.from_array(values, chunks=(CHUNKS,) + values.shape[1:]) for values in arrays]
    persisted = dask.persist(*loaded)
    wait(list(persisted))
    return loaded, list(persisted)


def chunk_sum(X, y, sample_weight, coef):
    """A chunk's sum of X @ coef and its row count."""
    return {"sum": float(np.sum(np.asarray(X) @ coef)), "rows": X.shape[0]}


def test_reader_groups_cover_each_persisted_chunk_once_per_thread(client):
    X, = regression()[:1]
    (loaded,), (persisted,) = loaded_and_persisted(X)
    groups = _placement.reader_groups(persisted)
    # One worker with two threads: its six chunks dealt in turn to them.
    assert client.nthreads() and list(client.nthreads().values()) == [2]
    assert groups == [[0, 2, 4], [1, 3, 5]]
    # Chunks still to be loaded, or no cluster: a task per chunk.
    assert _placement.reader_groups(loaded) is None
    with dask.config.set(scheduler="sync"):
        assert _placement.reader_groups(persisted) is None
    # A persisted array sliced into new chunks is not in memory as those chunks.
    assert _placement.reader_groups(persisted[1:]) is None


def test_a_pass_over_persisted_chunks_runs_a_task_per_thread(client):
    X, y = regression()
    (X_loaded, y_loaded), (X_persisted, y_persisted) = loaded_and_persisted(X, y)
    coef = np.arange(1.0, X.shape[1] + 1)
    expected = {"sum": float(np.sum(X @ coef)), "rows": len(X)}
    tasks = {}
    for name, (X_chunked, y_chunked) in {"loaded": (X_loaded, y_loaded),
                                         "persisted": (X_persisted, y_persisted)}.items():
        with get_task_stream() as stream:
            result = _chunks.reduce_chunks(chunk_sum, X_chunked, y_chunked, None, coef)
        assert result["rows"] == expected["rows"]
        np.testing.assert_allclose(result["sum"], expected["sum"], rtol=1e-12)
        tasks[name] = [task["key"] for task in stream.data
                       if "chunk_sum" in str(task["key"]) or "combine" in str(task["key"])]
    # Loaded: a task per chunk and the tree's node; persisted: a task per worker thread.
    assert len(tasks["loaded"]) == len(CHUNKS) + 1
    assert len(tasks["persisted"]) == 2


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("params", [
    {"max_iter": 6, "tol": None},
    {"batch_size": 50, "max_iter": 3, "tol": None, "optimizer": "adam"},
    {"strategy": "local_sgd", "batch_size": 8, "max_iter": 3, "tol": None,
     "early_stopping": True, "validation_fraction": 0.2, "n_iter_no_change": 5},
])
def test_a_regressor_on_persisted_chunks_fits_as_on_loaded_ones(params):
    X, y = regression()
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    (X_loaded, y_loaded, w_loaded), persisted = loaded_and_persisted(X, y, weights)
    loaded = gd_dask.GDRegressor(random_state=0, **params).fit(X_loaded, y_loaded,
                                                                sample_weight=w_loaded)
    model = gd_dask.GDRegressor(random_state=0, **params).fit(*persisted[:2],
                                                               sample_weight=persisted[2])
    np.testing.assert_array_equal(model.coef_, loaded.coef_)
    np.testing.assert_array_equal(model.intercept_, loaded.intercept_)
    np.testing.assert_array_equal(model.loss_curve_, loaded.loss_curve_)
    assert np.all(model.coef_ != 0)
    if params.get("strategy") is None:
        reference = gdfast.GDRegressor(random_state=0, **dict(params, batch_size=params.get(
            "batch_size"))).fit(X, y, sample_weight=weights)
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
        np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0, atol=1e-10)


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("strategy", ["gradient", "local_sgd"])
def test_a_classifier_on_persisted_chunks_fits_as_on_loaded_ones(strategy):
    X, y = regression()
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    (X_loaded, labels_loaded), (X_persisted, labels_persisted) = loaded_and_persisted(X, labels)
    params = {"strategy": strategy, "max_iter": 4, "tol": None, "random_state": 0,
              "batch_size": None if strategy == "gradient" else 16}
    loaded = gd_dask.GDClassifier(**params).fit(X_loaded, labels_loaded)
    model = gd_dask.GDClassifier(**params).fit(X_persisted, labels_persisted)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    np.testing.assert_array_equal(model.coef_, loaded.coef_)
    np.testing.assert_array_equal(model.intercept_, loaded.intercept_)
    np.testing.assert_array_equal(model.predict(X_persisted).compute(), loaded.predict(X))


@pytest.mark.usefixtures("client")
def test_nan_in_a_persisted_chunk_gives_the_in_memory_error():
    X, y = regression()
    X[100, 2] = np.nan                     # in the fourth chunk (rows 100 to 159)
    _, (X_persisted, y_persisted) = loaded_and_persisted(X, y)
    with pytest.raises(ValueError) as in_memory:
        gdfast.GDRegressor(batch_size=None).fit(X, y)
    with pytest.raises(ValueError) as on_dask:
        gd_dask.GDRegressor().fit(X_persisted, y_persisted)
    assert str(on_dask.value) == str(in_memory.value)
    assert str(on_dask.value) == "X contains NaN at row 100, column 2."
