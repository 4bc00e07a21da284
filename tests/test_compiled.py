"""gdfast must run its compiled kernel; there is no silent pure-Python fallback."""
import importlib.machinery

import numpy as np
import pytest

import gdfast
from gdfast import GDClassifier, GDRegressor, _kernel


def test_kernel_is_a_compiled_extension_module():
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    assert _kernel.__file__.endswith(suffixes), _kernel.__file__
    assert type(_kernel.run_epoch).__name__ in ("cython_function_or_method", "fused_cython_function")


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_default_engine_calls_the_kernel(Estimator, monkeypatch):
    """Replace the kernel entry point by one that refuses: a default fit must hit it."""
    calls = []

    def refusing_run_epoch(*args):
        calls.append(args)
        raise RuntimeError("kernel reached")

    monkeypatch.setattr(_kernel, "run_epoch", refusing_run_epoch)
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    with pytest.raises(RuntimeError, match="kernel reached"):
        Estimator().fit(X, y)
    assert len(calls) == 1
    Estimator(engine="numpy").fit(X, y)  # the reference does not touch the kernel


def test_missing_kernel_fails_loudly(monkeypatch):
    import builtins
    import importlib
    import sys

    real_import = builtins.__import__

    def no_kernel(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "gdfast" and fromlist and "_kernel" in fromlist:
            raise ImportError("simulated missing extension")
        return real_import(name, globals, locals, fromlist, level)

    saved = {k: v for k, v in sys.modules.items() if k == "gdfast" or k.startswith("gdfast.")}
    try:
        for name in saved:
            del sys.modules[name]
        monkeypatch.setattr(builtins, "__import__", no_kernel)
        with pytest.raises(ImportError, match="no pure-Python fallback"):
            importlib.import_module("gdfast")
    finally:
        monkeypatch.undo()
        sys.modules.update(saved)
    assert sys.modules["gdfast"] is gdfast
