"""A fit on data larger than the workers' memory: 1 GB of .npy files on disk (one per chunk,
Dask's npy stack), each mapped from disk by the task that needs it, on two worker processes
with a memory limit of 600 MB each (of which about 200-300 MB is the worker with gdfast
imported). The model equals the in-memory one, and each worker's peak resident memory grows
by a few chunks at most: no worker ever holds the data, only the chunks it is working on."""
import os

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import dask  # noqa: E402
from distributed import get_task_stream  # noqa: E402
from dask_processes import (peak_resident_bytes, time_limit, worker_pids,  # noqa: E402
                            worker_processes)

import gdfast  # noqa: E402
from gdfast import dask as gd_dask  # noqa: E402

pytestmark = pytest.mark.slow

N_SAMPLES, N_FEATURES = 8_000_000, 16          # 1.02 GB of float64
CHUNK_ROWS = 250_000                            # 32 MB chunks, 32 of them
MEMORY_LIMIT = 600 * 2**20
# A worker's peak may grow by this many chunks (a sixth of the data): the one its task
# trains on, those the scheduler has it read ahead (Dask queues up to about two reads per
# worker thread) or copies to it from the other worker, and the checks' temporaries.
CHUNKS_OF_PEAK = 5
FIT_SECONDS = 300


def write_on_disk(directory, seed=0):
    """X and y as npy stacks (a .npy file per chunk of CHUNK_ROWS rows), written chunk by
    chunk in this process (never whole in memory); the folders' paths."""
    rng = da.random.default_rng(seed)
    weights = np.random.default_rng(seed).standard_normal(N_FEATURES)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES), chunks=(CHUNK_ROWS, N_FEATURES)) + 1.0
    y = X @ weights + 0.5 + rng.standard_normal(N_SAMPLES, chunks=CHUNK_ROWS)
    paths = str(directory / "X"), str(directory / "y")
    with dask.config.set(scheduler="threads"):
        for path, values in zip(paths, (X, y)):
            da.to_npy_stack(path, values)
    return paths


def in_memory(path):
    """The npy stack at path read whole into this process's memory."""
    return da.from_npy_stack(path).compute(scheduler="threads")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                    reason="reads the peak resident memory from Linux's /proc")
def test_a_fit_on_data_larger_than_the_workers_memory(tmp_path):
    X_path, y_path = write_on_disk(tmp_path)
    X_disk, y_disk = da.from_npy_stack(X_path), da.from_npy_stack(y_path)
    assert X_disk.nbytes > MEMORY_LIMIT and X_disk.chunks[0] == (CHUNK_ROWS,) * 32
    chunk_bytes = CHUNK_ROWS * N_FEATURES * 8
    params = {"max_iter": 2, "tol": None, "random_state": 0}
    with worker_processes(memory_limit=MEMORY_LIMIT) as client, \
            time_limit(FIT_SECONDS, "the fit from disk"):
        # A small fit first: the workers' imports and kernel are in the peak before.
        small = np.random.default_rng(1).standard_normal((64, N_FEATURES))
        gd_dask.GDRegressor(max_iter=1, tol=None).fit(da.from_array(small, chunks=(32, -1)),
                                                       small[:, 0])
        pids = worker_pids(client)
        before = {worker: peak_resident_bytes(pid) for worker, pid in pids.items()}
        with get_task_stream(client) as tasks:
            model = gd_dask.GDRegressor(**params).fit(X_disk, y_disk)
        after = {worker: peak_resident_bytes(pid) for worker, pid in pids.items()}
        assert worker_pids(client) == pids                 # no worker was restarted
    # Both workers read chunks from disk (the client never did).
    assert {task["worker"] for task in tasks.data
            if "from-npy-stack" in str(task["key"])} == set(pids)
    grown = {worker: after[worker] - before[worker] for worker in before}
    print(f"peak resident memory before the fit {before}, grown by {grown} bytes; "
          f"chunks of {chunk_bytes} bytes")
    assert max(after.values()) < MEMORY_LIMIT
    assert max(grown.values()) <= CHUNKS_OF_PEAK * chunk_bytes
    reference = gdfast.GDRegressor(batch_size=None, **params).fit(
        in_memory(X_path), in_memory(y_path))
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0, atol=1e-10)
    assert model.n_iter_ == 2
