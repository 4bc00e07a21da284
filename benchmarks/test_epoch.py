"""One training epoch, compiled kernel against its NumPy reference, for every optimizer."""
import numpy as np
import pytest

from gdfast import _engine

BATCH_SIZES = {"per-sample": 1, "mini-batch": 32, "full": None}  # None: all rows
# Small enough that no case diverges, whatever the batch size: per-sample steps on unscaled
# rows with ||x||^2 ~ 100 stay far below the stability limit 1 / ||x||^2.
LEARNING_RATE = 1e-4
# Hyper-parameters that make every optimizer take its usual path (momentum on for the
# momentum family); the rest come from _engine.NEUTRAL_CONFIG.
HYPER = {"momentum": 0.9}
REFERENCE_OPTIMIZERS = ("sgd", "adam")   # the NumPy per-row loop is slow: two are enough

CASES = [
    *[("cython", batch, "squared_error", "sgd") for batch in BATCH_SIZES],
    ("cython", "per-sample", "log_loss", "sgd"),
    ("cython", "mini-batch", "log_loss", "sgd"),
    *[("cython", batch, "squared_error", optimizer)
      for optimizer in _engine.OPTIMIZER_NAMES if optimizer != "sgd"
      for batch in ("per-sample", "mini-batch")],
    *[("numpy", batch, "squared_error", optimizer)
      for optimizer in REFERENCE_OPTIMIZERS for batch in BATCH_SIZES],
]


@pytest.mark.parametrize("engine, batch, loss, optimizer", CASES,
                         ids=["-".join(case) for case in CASES])
def test_epoch(benchmark, dataset, results, engine, batch, loss, optimizer):
    X, y = dataset.X, dataset.y[loss]
    n_samples, n_features = X.shape
    config = dict(HYPER, loss=loss, optimizer=optimizer,
                  batch_size=BATCH_SIZES[batch] or n_samples, shuffle=True,
                  fit_intercept=True, learning_rate=LEARNING_RATE)
    sample_weight = np.ones(n_samples)
    coef = np.zeros(n_features + 1)
    state = np.zeros((_engine.state_rows(optimizer), n_features + 1))
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(n_samples, dtype=np.intp)

    # coef, state and order carry over between rounds, as between epochs of a fit: an
    # epoch's cost does not depend on their values, and no copy ends up in the timing.
    def epoch():
        return _engine.run_epoch(engine, X, y, sample_weight, coef, state, scalars, order,
                                 config, 0, 12345)

    if engine == "numpy" and batch != "full":
        # A Python step per row or batch: seconds per epoch on the large size, so a fixed,
        # small number of rounds rather than pytest-benchmark's calibration.
        rounds = 1 if dataset.size == "large" else 3
        status, *_ = benchmark.pedantic(epoch, rounds=rounds, iterations=1, warmup_rounds=0)
    else:
        status, *_ = benchmark(epoch)
    assert status == _engine.STATUS_OK
    assert np.all(np.isfinite(coef))
    results[(dataset.size, engine, batch, loss, optimizer)] = benchmark
    dataset.measure_floor(repeats=5)
