"""gdfast must run its compiled kernel; there is no silent pure-Python fallback."""
import importlib.machinery
import math
import os
import pathlib
import platform
import subprocess
import sys

import numpy as np
import pytest

import gdfast
from gdfast import GDClassifier, GDRegressor
from gdfast._kernels import linear as _kernel
from gdfast.linear_model import _engine


@pytest.mark.parametrize("module", _engine.available_kernels(), ids=lambda m: m.__name__)
def test_kernel_builds_are_compiled_extension_modules(module):
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    assert module.__file__.endswith(suffixes), module.__file__
    assert type(module.run_epoch).__name__ in ("cython_function_or_method", "fused_cython_function")


def test_the_fastest_build_this_cpu_can_run_is_selected():
    if platform.machine().lower() in ("x86_64", "amd64") and _kernel.cpu_supports_avx2_fma():
        assert _engine.kernel.__name__ == "gdfast._kernels.linear_avx2"
    else:
        assert _engine.kernel is _kernel


@pytest.mark.parametrize("choice, expected", [("baseline", "gdfast._kernels.linear"), ("bogus", None)])
def test_gdfast_kernel_variable_forces_a_build(choice, expected, tmp_path):
    code = "from gdfast.linear_model import _engine; print(_engine.kernel.__name__)"
    # From an empty folder, so the installed gdfast is imported, not a source checkout.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, GDFAST_KERNEL=choice), cwd=tmp_path)
    if expected is None:
        assert result.returncode != 0 and "GDFAST_KERNEL='bogus'" in result.stderr
    else:
        assert result.returncode == 0 and result.stdout.strip() == expected


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_default_engine_calls_the_kernel(Estimator, monkeypatch):
    """Replace the kernel entry point by one that refuses: a default fit must hit it."""
    calls = []

    def refusing_run_epoch(*args):
        calls.append(args)
        raise RuntimeError("kernel reached")

    monkeypatch.setattr(_engine.kernel, "run_epoch", refusing_run_epoch)
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
        if name == "gdfast._kernels" and fromlist and "linear" in fromlist:
            raise ImportError("simulated missing extension")
        return real_import(name, globals, locals, fromlist, level)

    saved = {k: v for k, v in sys.modules.items() if k == "gdfast" or k.startswith("gdfast.")}
    try:
        for name in saved:
            del sys.modules[name]
        monkeypatch.setattr(builtins, "__import__", no_kernel)
        with pytest.raises(ImportError, match="compiled kernel") as raised:
            importlib.import_module("gdfast")
        assert "pip install" in str(raised.value)
    finally:
        monkeypatch.undo()
        sys.modules.update(saved)
    assert sys.modules["gdfast"] is gdfast


def test_a_source_tree_without_its_kernel_says_so_and_what_to_run(tmp_path):
    """A checkout's src/ on the import path (no compiled kernel there) names itself and the
    install command, instead of telling the user to reinstall what they just installed."""
    import shutil
    source = tmp_path / "src" / "gdfast"
    shutil.copytree(pathlib.Path(gdfast.__file__).parent, source,
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__"))
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'gdfast'\n")
    result = subprocess.run([sys.executable, "-c", "import gdfast"], capture_output=True,
                            text=True, cwd=tmp_path / "src",
                            env=dict(os.environ, PYTHONPATH=str(tmp_path / "src")))
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "source tree" in message and str(source) in message
    assert f"`pip install .` in {tmp_path}" in message


@pytest.mark.parametrize("module", _engine.available_kernels(), ids=lambda m: m.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_read_rows_in_order_is_the_sum_of_the_rows_dot_w(module, dtype):
    # The benchmark's shuffled-read bound must really read every row it is given.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 37)).astype(dtype)
    w = rng.standard_normal(37).astype(dtype)
    order = rng.permutation(500)[:300].astype(np.intp)
    expected = float(np.sum(X[order].astype(np.float64) @ w.astype(np.float64)))
    assert module.read_rows_in_order(X, order, w) == pytest.approx(
        expected, rel=1e-4 if dtype == np.float32 else 1e-12, abs=1e-3)
    y = rng.standard_normal(500).astype(dtype)
    # With targets, each row's target is read too.
    assert module.read_rows_in_order(X, order, w, y) == pytest.approx(
        expected + float(np.sum(y[order].astype(np.float64))),
        rel=1e-4 if dtype == np.float32 else 1e-12, abs=1e-3)
    with pytest.raises(ValueError, match="y has 499 values for 500 rows"):
        module.read_rows_in_order(X, order, w, y[:499])
    with pytest.raises(ValueError, match="outside X"):
        module.read_rows_in_order(X, np.array([500], dtype=np.intp), w)
    with pytest.raises(ValueError, match="values for 37 features"):
        module.read_rows_in_order(X, order, w[:5])


@pytest.mark.parametrize("module", _engine.available_kernels(), ids=lambda m: m.__name__)
def test_logistic_chain_feeds_each_sigmoid_the_last_one(module):
    # The benchmark's log-loss chain bound must really make each row wait on the last.
    scores = np.random.default_rng(4).normal(0.0, 20.0, 1_000)
    a, expected = 0.0, 0.0
    for score in scores:
        a = 1.0 / (1.0 + math.exp(-(score + 0.5 * a)))
        expected += a
    assert module.logistic_chain(scores, 0.5) == pytest.approx(expected, rel=1e-13)
    assert module.logistic_chain(scores, 0.5) != pytest.approx(
        module.logistic_chain(scores, 0.0), rel=1e-6)
