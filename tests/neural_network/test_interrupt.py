"""Ctrl-C during a network's fit keeps the epochs (and restarts) that finished."""
import _thread
import sys
import threading
import time
import traceback

import numpy as np
import pytest

from gdfast import MLPClassifier, MLPRegressor
from gdfast.neural_network import _engine

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

rng = np.random.default_rng(5)
X = rng.normal(size=(60, 3))
y = X[:, 0] - X[:, 1] ** 2


def interrupt_on_call(monkeypatch, number):
    """Make the `number`-th epoch raise KeyboardInterrupt as Ctrl-C would, in its kernel call."""
    real, calls = _engine.run_epoch, []

    def run_epoch(*args, **kwargs):
        calls.append(None)
        if len(calls) == number:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_engine, "run_epoch", run_epoch)


@pytest.mark.parametrize("engine", ["cython", "numpy"])
def test_ctrl_c_keeps_the_last_finished_epoch(monkeypatch, engine):
    params = dict(hidden_layer_sizes=(5,), batch_size=16, random_state=0, engine=engine,
                  max_iter=10, tol=0.0)
    expected = MLPRegressor(**dict(params, max_iter=3)).fit(X, y)
    interrupt_on_call(monkeypatch, 4)
    model = MLPRegressor(**params)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.n_iter_ == 3 and model.t_ == expected.t_
    for ours, theirs in zip(model.coefs_ + model.intercepts_,
                            expected.coefs_ + expected.intercepts_):
        np.testing.assert_array_equal(ours, theirs)


def test_ctrl_c_during_a_restart_keeps_the_finished_runs(monkeypatch):
    params = dict(hidden_layer_sizes=(4,), random_state=0, max_iter=3, tol=0.0)
    complete = MLPRegressor(**dict(params, n_restarts=2)).fit(X, y)
    interrupt_on_call(monkeypatch, 7)          # the first epoch of the third run
    model = MLPRegressor(**dict(params, n_restarts=3))
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.restart_losses_ == complete.restart_losses_
    np.testing.assert_array_equal(model.coefs_[0], complete.coefs_[0])


def test_ctrl_c_in_the_first_epoch_leaves_the_model_as_it_was(monkeypatch):
    labels = (y > 0).astype(int)
    interrupt_on_call(monkeypatch, 1)
    model = MLPClassifier(hidden_layer_sizes=(3,), random_state=0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, labels)
    assert not hasattr(model, "coefs_")
    monkeypatch.undo()
    model.fit(X, labels)
    before = [W.copy() for W in model.coefs_]
    interrupt_on_call(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(X, labels)
    for W, old in zip(model.coefs_, before):
        np.testing.assert_array_equal(W, old)


def test_ctrl_c_inside_a_compiled_epoch_stops_it_and_keeps_the_finished_ones(monkeypatch):
    """A real (simulated) SIGINT while the kernel runs an epoch without the GIL: the kernel
    looks at signals every few milliseconds of work and stops the epoch."""
    big = np.random.default_rng(6).normal(size=(40_000, 40))
    target = big[:, 0] * big[:, 1]
    params = dict(hidden_layer_sizes=(64,), random_state=0, max_iter=10, tol=0.0)
    expected = MLPRegressor(**dict(params, max_iter=2)).fit(big, target)
    real, calls = _engine.run_epoch, []
    main = threading.main_thread()

    def interrupt_once_inside_the_kernel():
        # With a long switch interval the main thread only lets this one run once it has
        # released the GIL: inside the kernel's epoch.
        while True:
            frame = sys._current_frames()[main.ident]
            if frame.f_code.co_name == "run_epoch" and frame.f_code.co_filename == \
                    _engine.__file__:
                break
            time.sleep(0.0005)
        _thread.interrupt_main()

    def run_epoch(*args, **kwargs):
        calls.append(None)
        if len(calls) == 3:
            threading.Thread(target=interrupt_once_inside_the_kernel, daemon=True).start()
        return real(*args, **kwargs)

    monkeypatch.setattr(_engine, "run_epoch", run_epoch)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    model = MLPRegressor(**params)
    try:
        with pytest.raises(KeyboardInterrupt) as raised:
            model.fit(big, target)
    finally:
        sys.setswitchinterval(interval)
    # raised by the kernel itself, not by Python code around it
    assert traceback.extract_tb(raised.value.__traceback__)[-1].filename.endswith("mlp.pyx")
    assert model.n_iter_ == 2
    np.testing.assert_array_equal(model.coefs_[0], expected.coefs_[0])
