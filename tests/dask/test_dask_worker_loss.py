"""A worker process killed in the middle of a fit, on a cluster of two worker processes: the
scheduler either runs the lost task again on a worker that remains (the fit completes with
the model it would have had) or, once a task has cost it more workers than it allows, the
fit fails with a message saying so and the estimator keeps its previous model."""
import os

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from dask_processes import (fit_while_a_worker_is_killed, numbered_chunk,  # noqa: E402
                            worker_pids, worker_processes)

import gdfast  # noqa: E402
from gdfast import dask as gd_dask  # noqa: E402

pytestmark = pytest.mark.slow

N_CHUNKS = 4
# The chunk load on which the worker is killed: in the fourth pass over the data (the first
# pass gives the feature means; each later one is an epoch), so max_iter - 3 epochs remain.
VICTIM = 3 * N_CHUNKS + 1
PARAMS = {"max_iter": 16, "tol": None, "optimizer": "momentum", "random_state": 0}
# How long the victim load sleeps: far longer than the kill takes to land.
VICTIM_SLEEP = 120.0
# How long a fit may take, the victim's lost task run again included: a failure, not a hang.
FIT_SECONDS = 90


def regression(n_samples=400, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) + 1.0
    return X, X @ rng.standard_normal(n_features) + 0.5 + 0.1 * rng.standard_normal(n_samples)


def numbered_chunks(X, marks):
    """X as a dask array whose every chunk load is numbered by numbered_chunk; not
    persisted, so each pass of the fit loads every chunk again."""
    return da.from_array(X, chunks=(len(X) // N_CHUNKS, X.shape[1])).map_blocks(
        numbered_chunk, str(marks), VICTIM, VICTIM_SLEEP, dtype=X.dtype)


def test_the_fit_completes_on_the_remaining_worker(tmp_path):
    X, y = regression()
    reference = gdfast.GDRegressor(batch_size=None, **PARAMS).fit(X, y)
    with worker_processes(config={"distributed.scheduler.allowed-failures": 3}) as client:
        workers = set(worker_pids(client).values())
        model = gd_dask.GDRegressor(**PARAMS)
        killed = fit_while_a_worker_is_killed(model, numbered_chunks(X, tmp_path), y,
                                              tmp_path, client, FIT_SECONDS)
    assert killed in workers
    # The lost load ran again elsewhere, and the later passes went on: more loads than the
    # victim's number, and every epoch's steps as in memory.
    assert len([name for name in os.listdir(tmp_path) if name.isdigit()]) > VICTIM + 1
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0, atol=1e-10)
    assert model.n_iter_ == PARAMS["max_iter"]


def test_a_worker_lost_in_a_pass_over_persisted_chunks(tmp_path):
    """X persisted (each pass a task per worker over the chunks it holds) and y loaded by
    every pass: the worker killed in the middle of a y load of the fourth pass takes its
    chunks of X with it; the scheduler computes them again and the fit ends as in memory."""
    from distributed import wait

    from gdfast.dask._placement import reader_groups
    X, y = regression()
    reference = gdfast.GDRegressor(batch_size=None, **PARAMS).fit(X, y)
    with worker_processes(config={"distributed.scheduler.allowed-failures": 3}) as client:
        workers = set(worker_pids(client).values())
        X_persisted = da.from_array(X, chunks=(len(X) // N_CHUNKS, X.shape[1])).persist()
        wait(X_persisted)
        assert len(reader_groups(X_persisted)) == 2
        y_loaded = da.from_array(y, chunks=len(y) // N_CHUNKS).map_blocks(
            numbered_chunk, str(tmp_path), VICTIM, VICTIM_SLEEP, dtype=y.dtype)
        model = gd_dask.GDRegressor(**PARAMS)
        killed = fit_while_a_worker_is_killed(model, X_persisted, y_loaded, tmp_path,
                                              client, FIT_SECONDS)
    assert killed in workers
    assert len([name for name in os.listdir(tmp_path) if name.isdigit()]) > VICTIM + 1
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0, atol=1e-10)
    assert model.n_iter_ == PARAMS["max_iter"]


def test_a_fit_the_scheduler_gives_up_on_keeps_the_previous_model(tmp_path):
    X, y = regression()
    with worker_processes(config={"distributed.scheduler.allowed-failures": 0}) as client:
        model = gd_dask.GDRegressor(**dict(PARAMS, max_iter=5)).fit(
            da.from_array(X, chunks=(100, 4)), y)
        before = {name: np.copy(value) for name, value in vars(model).items()
                  if name.endswith("_") and isinstance(value, np.ndarray)}
        before_state = model._state.copy()
        model.set_params(max_iter=PARAMS["max_iter"], warm_start=True)
        with pytest.raises(RuntimeError, match="A Dask worker died") as error:
            fit_while_a_worker_is_killed(model, numbered_chunks(X, tmp_path), y, tmp_path,
                                         client, FIT_SECONDS)
    # What happened, what the estimator kept, what to do; the scheduler's own message after.
    message = str(error.value)
    assert "keeps the model it had before" in message and "fit again" in message
    assert "allowed-failures" in message
    assert type(error.value.__cause__).__name__ == "KilledWorker"
    # Dask's message names the task given up on (any one of the dead worker's).
    assert message.endswith(str(error.value.__cause__)) and "workers" in message
    assert model.n_iter_ == 5 and model.max_iter == PARAMS["max_iter"]
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)
    np.testing.assert_array_equal(model._state.coef, before_state.coef)
