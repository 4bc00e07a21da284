"""A fit on data larger than the workers' memory: a 1 GB .npy file on disk, read chunk by
chunk by the tasks that need it, on two worker processes with a memory limit of 600 MB each
(of which about 280 MB is the worker with gdfast imported). The model equals the in-memory
one, and each worker's peak resident memory grows by a few chunks at most: no worker ever
holds the data, only the chunks it is working on."""
import os

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from dask import delayed  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

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


def write_on_disk(directory, seed=0):
    """X and y as .npy files written block by block (never whole in memory); their paths."""
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(N_FEATURES)
    paths = directory / "X.npy", directory / "y.npy"
    X = np.lib.format.open_memmap(paths[0], mode="w+", dtype=np.float64,
                                  shape=(N_SAMPLES, N_FEATURES))
    y = np.lib.format.open_memmap(paths[1], mode="w+", dtype=np.float64, shape=(N_SAMPLES,))
    for start in range(0, N_SAMPLES, 1_000_000):
        block = rng.standard_normal((min(1_000_000, N_SAMPLES - start), N_FEATURES)) + 1.0
        X[start:start + len(block)] = block
        y[start:start + len(block)] = block @ weights + 0.5 + rng.standard_normal(len(block))
    X.flush(), y.flush()
    del X, y
    return paths


def load_rows(path, start, stop):
    """Rows start:stop of the .npy file at path, read into memory. Read, not mapped: the
    pages of a mapped file count in the process's resident memory while it reads them."""
    with open(path, "rb") as file:
        major, _ = np.lib.format.read_magic(file)
        read_header = (np.lib.format.read_array_header_1_0 if major == 1
                       else np.lib.format.read_array_header_2_0)
        shape, fortran_order, dtype = read_header(file)
        assert not fortran_order
        row_values = int(np.prod(shape[1:], dtype=np.int64))
        file.seek(start * row_values * dtype.itemsize, os.SEEK_CUR)
        rows = np.fromfile(file, dtype=dtype, count=(stop - start) * row_values)
    return rows.reshape((stop - start,) + tuple(shape[1:]))


def from_disk(path):
    """The .npy file as a dask array of CHUNK_ROWS-row chunks, each read by its own task
    when a computation needs it (and not kept: each pass reads the file again)."""
    shape = np.load(path, mmap_mode="r").shape
    starts = range(0, shape[0], CHUNK_ROWS)
    return da.concatenate([
        da.from_delayed(delayed(load_rows)(str(path), start, min(start + CHUNK_ROWS, shape[0])),
                        shape=(min(CHUNK_ROWS, shape[0] - start),) + shape[1:],
                        dtype=np.float64)
        for start in starts])


def peak_resident_bytes():
    """The process's peak resident memory (Linux's VmHWM). Not getrusage's ru_maxrss: a
    process started by fork and exec inherits its parent's, here the test's after writing
    the file."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024                                  # given in kB


@pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                    reason="reads the peak resident memory from Linux's /proc")
def test_a_fit_on_data_larger_than_the_workers_memory(tmp_path):
    X_path, y_path = write_on_disk(tmp_path)
    assert os.path.getsize(X_path) > MEMORY_LIMIT
    chunk_bytes = CHUNK_ROWS * N_FEATURES * 8
    params = {"max_iter": 2, "tol": None, "random_state": 0}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      memory_limit=MEMORY_LIMIT, dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster) as client:
        # A small fit first: the workers' imports and kernel are in the peak before.
        small = np.random.default_rng(1).standard_normal((64, N_FEATURES))
        gd_dask.GDRegressor(max_iter=1, tol=None).fit(da.from_array(small, chunks=(32, -1)),
                                                       small[:, 0])
        processes = client.run(os.getpid)
        before = client.run(peak_resident_bytes)
        model = gd_dask.GDRegressor(**params).fit(from_disk(X_path), from_disk(y_path))
        after = client.run(peak_resident_bytes)
        assert client.run(os.getpid) == processes         # no worker was restarted
    grown = {worker: after[worker] - before[worker] for worker in before}
    print(f"peak resident memory before the fit {before}, grown by {grown} bytes; "
          f"chunks of {chunk_bytes} bytes")
    assert max(after.values()) < MEMORY_LIMIT
    assert max(grown.values()) <= CHUNKS_OF_PEAK * chunk_bytes
    reference = gdfast.GDRegressor(batch_size=None, **params).fit(
        np.load(X_path, mmap_mode="r"), np.load(y_path))
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0, atol=1e-10)
    assert model.n_iter_ == 2
