import pytest

from gdfast.neural_network import _engine

BUILDS = {module.__name__.rsplit(".", 1)[1]: module for module in _engine.available_kernels()}


@pytest.fixture(params=list(BUILDS))
def each_network_build(request, monkeypatch):
    """Run the test once per compiled build of the network kernel this machine can execute
    (baseline, AVX2)."""
    monkeypatch.setattr(_engine, "kernel", BUILDS[request.param])
    return BUILDS[request.param]
