"""Averaging of the iterates (docs/mathematics.md, section "Averaging"): the compiled epoch
loop against a hand-computed example and against gdfast/_slow/linear.py on every path."""
import numpy as np
import pytest

from gdfast.linear_model import _engine
from helpers import relative_error
from twin_cases import BATCH_MODES, OPTIMIZER_CASES, TOLERANCE, problem, run_both

pytestmark = pytest.mark.usefixtures("each_kernel_build")


def three_updates(engine, average_start):
    """Plain SGD at rate 0.1 on squared error, rows (x, y) = (1, 1) and (2, 3), from zero:
    one epoch a row at a time (two updates, the fused one-row path), then one full batch."""
    X, y, weights = np.array([[1.0], [2.0]]), np.array([1.0, 3.0]), np.ones(2)
    coef, state, scalars = np.zeros(2), np.zeros((0, 2)), np.ones(4)
    average = np.full(2, np.nan)            # not read before the first averaged update
    t = 0
    for batch_size in (1, 2):
        config = {"loss": "squared_error", "batch_size": batch_size, "learning_rate": 0.1}
        status, _, t, _, _ = _engine.run_epoch(engine, X, y, weights, coef, state, scalars,
                                               np.arange(2), config, t, 0, average=average,
                                               average_start=average_start)
        assert status == _engine.STATUS_OK
    return coef, average, t


@pytest.mark.parametrize("engine", _engine.ENGINES)
def test_three_updates_by_hand(engine):
    # θ = (w, b), gradient 2(p − y)·(x, 1):
    # θ1 = (0, 0) − 0.1·(−2, −2)                          = (0.2, 0.2)
    # θ2 = θ1 − 0.1·2·(0.6 − 3)·(2, 1)                    = (1.16, 0.68)
    # θ3 = θ2 − 0.1·½[2·(1.84 − 1)·(1, 1) + 2·(3.0 − 3)·(2, 1)] = (1.076, 0.596)
    coef, average, t = three_updates(engine, average_start=0)
    assert t == 3
    np.testing.assert_allclose(coef, [1.076, 0.596], rtol=1e-14)
    np.testing.assert_allclose(average, [(0.2 + 1.16 + 1.076) / 3, (0.2 + 0.68 + 0.596) / 3],
                               rtol=1e-14)
    # Averaging after update 1: θ2 and θ3 only; the iterates themselves are unchanged.
    coef_later, average_later, _ = three_updates(engine, average_start=1)
    np.testing.assert_array_equal(coef_later, coef)
    np.testing.assert_allclose(average_later, [(1.16 + 1.076) / 2, (0.68 + 0.596) / 2],
                               rtol=1e-14)
    # Not started within these updates: the buffer is left as it was.
    _, untouched, _ = three_updates(engine, average_start=3)
    assert np.all(np.isnan(untouched))


def iterates(X, y, weights, config, orders):
    """Every iterate of the twin's run of these epochs (orders given, not shuffled), one
    update at a time through its two halves."""
    n = X.shape[0]
    batch_size = config["batch_size"]
    coef = np.zeros(X.shape[1] + 1, dtype=X.dtype)
    state = np.zeros((_engine.state_rows(config["optimizer"]), coef.size), dtype=X.dtype)
    scalars, t, seen = np.ones(_engine.SCALAR_STATE_SIZE), 0, []
    for order in orders:
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            gradient, _ = _engine.batch_gradient("numpy", X, y, weights, coef, rows, config)
            t, _ = _engine.optimizer_step("numpy", coef, gradient / len(rows), state, scalars,
                                          _engine.linear_decay_mask(X.shape[1]), config, t)
            seen.append(coef.copy())
    return np.array(seen)


@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("average_start", [0, 2])
def test_average_is_the_mean_of_the_iterates(mode, average_start):
    X, y, weights = problem("squared_error", np.float64)
    n = X.shape[0]
    config = {"loss": "squared_error", "optimizer": "momentum", "momentum": 0.9,
              "batch_size": BATCH_MODES[mode] or n, "shuffle": False, "learning_rate": 0.01}
    rng = np.random.default_rng(3)
    orders = [rng.permutation(n).astype(np.intp) for _ in range(5)]
    kernel, reference = run_both(X, y, weights, config, orders, average_start=average_start)
    steps = iterates(X, y, weights, dict(_engine.NEUTRAL_CONFIG, **config), orders)
    assert kernel[2] == len(steps)
    expected = steps[average_start:].mean(axis=0)
    assert relative_error(reference[7], expected) < 1e-12
    assert relative_error(kernel[7], expected) < 1e-12
    assert relative_error(kernel[0], steps[-1]) < 1e-12       # coef stays the last iterate
    assert relative_error(kernel[7], steps[-1]) > 1e-3        # and differs from the mean


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("case", OPTIMIZER_CASES)
@pytest.mark.parametrize("average_start", [0, 3])
def test_every_optimizer_and_batch_mode_averages_as_the_reference(case, mode, dtype,
                                                                  average_start):
    """average=True (start 0) and average=3 (from inside the first epoch)."""
    name, lr, hyper, initial = OPTIMIZER_CASES[case]
    X, y, weights = problem("squared_error", dtype)
    n = X.shape[0]
    config = dict(hyper, loss="squared_error", optimizer=name,
                  batch_size=BATCH_MODES[mode] or n, shuffle=True, learning_rate=lr)
    orders = [np.arange(n, dtype=np.intp)] * 5
    kernel, reference = run_both(X, y, weights, config, orders, rng_state=3,
                                 initial_buffer=initial, average_start=average_start)
    plain, _ = run_both(X, y, weights, config, orders, rng_state=3, initial_buffer=initial)
    np.testing.assert_array_equal(kernel[0], plain[0])        # averaging leaves the iterates
    assert kernel[7].dtype == dtype
    assert relative_error(kernel[7], reference[7]) < TOLERANCE[dtype]
    assert relative_error(kernel[0], reference[0]) < TOLERANCE[dtype]
    assert relative_error(kernel[7], kernel[0]) > 10 * TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("multiclass", ["multinomial", "ovr"])
def test_several_outputs_centred_average_as_the_reference(multiclass, mode, dtype):
    X, _, weights = problem("log_loss", dtype)
    X = X + np.arange(1, X.shape[1] + 1, dtype=dtype) * 10
    n, d = X.shape
    y = np.digitize(X[:, 0], np.quantile(X[:, 0], [0.33, 0.66])).astype(dtype)
    mean = np.average(X, axis=0, weights=weights).astype(dtype)
    config = {"loss": "log_loss", "multiclass": multiclass, "optimizer": "momentum",
              "momentum": 0.9, "center": True, "batch_size": BATCH_MODES[mode] or n,
              "shuffle": True, "learning_rate": 0.002}
    results = {}
    for engine in _engine.ENGINES:
        coef = np.zeros(3 * (d + 1), dtype=dtype)
        state = np.zeros((_engine.state_rows("momentum"), coef.size), dtype=dtype)
        average = np.zeros_like(coef)
        scalars, order, t, rng = np.ones(4), np.arange(n), 0, 2
        for _ in range(3):
            status, _, t, rng, _ = _engine.run_epoch(engine, X, y, weights, coef, state,
                                                     scalars, order, config, t, rng,
                                                     mean=mean, average=average,
                                                     average_start=1)
            assert status == _engine.STATUS_OK
        results[engine] = average
    assert relative_error(results["cython"], results["numpy"]) < TOLERANCE[dtype]
    assert np.ptp(results["cython"].reshape(3, -1), axis=0).max() > 0   # outputs differ


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_threaded_batches_average_as_the_reference(dtype):
    """A batch of 2**20 values or more is split over threads: its average as well."""
    X, y, weights = problem("squared_error", dtype, n_samples=170001, n_features=13, seed=8)
    n, d = X.shape
    averages = {}
    for engine, threads in [("numpy", 1), ("cython", 2)]:
        config = {"loss": "squared_error", "optimizer": "sgd", "batch_size": 85001,
                  "n_threads": threads, "shuffle": True, "learning_rate": 0.05}
        coef, state = np.zeros(d + 1, dtype=dtype), np.zeros((0, d + 1), dtype=dtype)
        average = np.zeros_like(coef)
        scalars, order, t, rng = np.ones(4), np.arange(n), 0, 5
        for _ in range(2):
            status, _, t, rng, _ = _engine.run_epoch(engine, X, y, weights, coef, state,
                                                     scalars, order, config, t, rng,
                                                     average=average, average_start=0)
            assert status == _engine.STATUS_OK
        averages[engine] = (average, coef)
    assert relative_error(averages["cython"][0], averages["numpy"][0]) < TOLERANCE[dtype]
    assert relative_error(averages["cython"][0], averages["cython"][1]) > 1e-3


@pytest.mark.parametrize("engine", _engine.ENGINES)
@pytest.mark.parametrize("average, message", [
    (np.zeros(3), "average must be"),                          # the wrong size
    (np.zeros(4, dtype=np.float32), "average must be"),        # the wrong dtype
    (np.zeros((1, 4)), "average must be"),                     # 2-d
    ([0.0, 0.0, 0.0, 0.0], "average must be"),                 # not an array
    (np.zeros(8)[::2], "average must be"),                     # not contiguous
])
def test_bad_average_buffers_are_clear_errors(engine, average, message):
    X, y, weights = problem("squared_error", np.float64, n_features=3)
    coef = np.zeros(4)
    with pytest.raises(ValueError, match=message):
        _engine.run_epoch(engine, X, y, weights, coef, np.zeros((0, 4)), np.ones(4),
                          np.arange(X.shape[0]), {"batch_size": 1}, 0, 0, average=average)
    np.testing.assert_array_equal(coef, 0)


@pytest.mark.parametrize("average_start", [-1, 1.5, True, None])
def test_bad_average_start_is_a_clear_error(average_start):
    X, y, weights = problem("squared_error", np.float64, n_features=3)
    with pytest.raises(ValueError, match="average_start must be"):
        _engine.run_epoch("cython", X, y, weights, np.zeros(4), np.zeros((0, 4)), np.ones(4),
                          np.arange(X.shape[0]), {"batch_size": 1}, 0, 0, average=np.zeros(4),
                          average_start=average_start)


def test_the_kernel_itself_refuses_a_wrong_sized_average():
    from gdfast.linear_model._engine import kernel
    X, y, weights = problem("squared_error", np.float64, n_features=3)
    config = _engine._kernel_codes(dict(_engine.NEUTRAL_CONFIG, batch_size=1))
    args = (X, y, weights, np.zeros(3), np.zeros(4), np.zeros((0, 4)), np.ones(4),
            np.arange(X.shape[0]), config, 0, 0)
    with pytest.raises(ValueError, match="average must be empty"):
        kernel.run_epoch(*args, np.zeros(5), 0)
    with pytest.raises(ValueError, match="average_start must be at least 0"):
        kernel.run_epoch(*args, np.zeros(4), -2)
