"""A Dask cluster shared by the tests of gdfast.dask: threads only, started once."""
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from distributed import Client, LocalCluster  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: starts worker processes of its own (seconds each); deselect with "
        "-m 'not slow'")


@pytest.fixture(scope="session")
def client():
    """A client of a one-worker, two-thread cluster in this process (starts in well under a
    second); the default scheduler of every dask computation while it is open."""
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client
