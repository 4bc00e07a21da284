"""A batch split over threads is cut into fixed chunks summed in chunk order: its result
depends on the partition, never on which thread took which chunk; and the optimizer's
updates alone (optimizer_steps, which the bench times) are the updates optimizer_step takes."""
import numpy as np
import pytest

from gdfast.linear_model import _engine
from helpers import relative_error
from twin_cases import OPTIMIZER_CASES, problem


def full_batch_epochs(n_threads, dtype, n_samples=81_000, n_features=13, epochs=3):
    """coef after `epochs` full-batch Adam epochs of squared error on n_threads threads.
    81,000 rows of 13 features are just over the size from which a batch is split."""
    X, y, weights = problem("squared_error", dtype, n_samples, n_features, 4)
    coef = np.zeros(n_features + 1, dtype=dtype)
    state = np.zeros((_engine.state_rows("adam"), coef.size), dtype=dtype)
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(n_samples, dtype=np.intp)
    config = {"optimizer": "adam", "batch_size": n_samples, "n_threads": n_threads,
              "learning_rate": 0.01}
    t = 0
    for _ in range(epochs):
        status, _, t, _, _ = _engine.run_epoch("cython", X, y, weights, coef, state, scalars,
                                               order, config, t, 0)
        assert status == _engine.STATUS_OK
    return coef


@pytest.mark.usefixtures("each_kernel_build")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_split_batches_give_the_same_bits_run_after_run(dtype):
    first = full_batch_epochs(2, dtype)
    for _ in range(3):
        np.testing.assert_array_equal(full_batch_epochs(2, dtype), first)
    # The batch is cut into the same chunks for two, three or four threads: same bits.
    np.testing.assert_array_equal(full_batch_epochs(3, dtype), first)
    np.testing.assert_array_equal(full_batch_epochs(4, dtype), first)
    # Split batches run on one thread for a while after a slowed thread held the others
    # up: the same chunks, the same bits.
    try:
        _engine.kernel._split_batches_on_one_thread(60.0)
        np.testing.assert_array_equal(full_batch_epochs(2, dtype), first)
    finally:
        _engine.kernel._split_batches_on_one_thread(0.0)
    # One thread sums the rows in one run: the same model up to rounding.
    one = full_batch_epochs(1, dtype)
    assert relative_error(one, first) < (1e-10 if dtype == np.float64 else 1e-4)
    assert np.any(first != 0)


def test_more_threads_than_rows_gives_the_gradient_of_every_row():
    """Two rows of 2^19 features are split over 8 threads: at most one chunk per row."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2, 1 << 19))
    y, weights = np.array([1.0, -1.0]), np.ones(2)
    coef = 1e-3 * rng.standard_normal(X.shape[1] + 1)
    rows = np.arange(2)
    config = {"loss": "squared_error", "n_threads": 8}
    gradient, loss = _engine.batch_gradient("cython", X, y, weights, coef, rows, config)
    expected, expected_loss = _engine.batch_gradient("numpy", X, y, weights, coef, rows, config)
    assert relative_error(gradient, expected) < 1e-12
    assert relative_error(loss, expected_loss) < 1e-12


@pytest.mark.usefixtures("each_kernel_build")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", OPTIMIZER_CASES)
def test_optimizer_steps_are_repeated_optimizer_steps(case, dtype):
    name, rate, hyper, initial = OPTIMIZER_CASES[case]
    n_features, n_steps = 6, 5
    gradient = np.random.default_rng(1).standard_normal(n_features + 1).astype(dtype)
    config = dict(_engine.NEUTRAL_CONFIG, **hyper, optimizer=name, learning_rate=rate)
    runs = []
    for one_call in (True, False):
        coef = np.linspace(-1, 1, n_features + 1).astype(dtype)
        state = np.full((_engine.state_rows(name), coef.size), initial, dtype=dtype)
        scalars = np.ones(_engine.SCALAR_STATE_SIZE)
        given = gradient.copy()
        if one_call:
            t, lr = _engine.kernel.optimizer_steps(coef, gradient, state, scalars,
                                                   _engine._kernel_codes(config), 0, n_steps)
        else:
            decay_mask = np.r_[np.ones(n_features, bool), False]    # the intercept: no decay
            t = 0
            for _ in range(n_steps):
                t, lr = _engine.optimizer_step("cython", coef, gradient, state, scalars,
                                               decay_mask, config, t)
        np.testing.assert_array_equal(gradient, given)
        runs.append((coef, state, scalars, t, lr))
    (coef, state, scalars, t, lr), expected = runs
    np.testing.assert_array_equal(coef, expected[0])
    np.testing.assert_array_equal(state, expected[1])
    np.testing.assert_array_equal(scalars, expected[2])
    assert (t, lr) == (expected[3], expected[4]) and t == n_steps
    assert np.any(coef != np.linspace(-1, 1, n_features + 1).astype(dtype))


def test_optimizer_steps_reject_what_would_overrun_memory():
    config = _engine._kernel_codes(dict(_engine.NEUTRAL_CONFIG, optimizer="adam"))
    coef, state = np.zeros(5), np.zeros((3, 5))
    with pytest.raises(ValueError, match="one value per entry of coef"):
        _engine.kernel.optimizer_steps(coef, np.zeros(4), state, np.ones(4), config, 0, 3)
    with pytest.raises(ValueError, match="one row per optimizer buffer"):
        _engine.kernel.optimizer_steps(coef, np.zeros(5), np.zeros((2, 5)), np.ones(4),
                                       config, 0, 3)
    with pytest.raises(ValueError, match="n_steps must be at least 0"):
        _engine.kernel.optimizer_steps(coef, np.zeros(5), state, np.ones(4), config, 0, -1)
    assert np.all(coef == 0) and np.all(state == 0)


def test_threads_verdict_compares_a_split_batch_with_one_thread():
    """A split batch's threads lost when it took longer than one thread would have (its
    median chunk's time per row times its rows), paid when it took at most 9/10 of that."""
    verdict = _engine.kernel._threads_verdict
    n_rows, n_chunks = 199_000, 64
    chunk_rows = -(-n_rows // n_chunks)
    rows = np.full(n_chunks, chunk_rows)
    rows[-1] = n_rows - (n_chunks - 1) * chunk_rows
    chunk_ns = rows * 32                                  # 32 ns a row
    one_thread = 32 * n_rows
    assert verdict(one_thread // 2, chunk_ns, n_rows) == 1
    assert verdict(one_thread * 9 // 10, chunk_ns, n_rows) == 1
    assert verdict(one_thread * 9 // 10 + 1000, chunk_ns, n_rows) == 0
    assert verdict(one_thread, chunk_ns, n_rows) == 0
    assert verdict(one_thread + 1000, chunk_ns, n_rows) == -1
    # Chunks during which their thread was descheduled (here a 3 ms time slice in one
    # chunk of five) do not count as one thread's time: the batch still lost.
    held_up = chunk_ns.copy()
    held_up[::5] += 3_000_000
    assert verdict(one_thread + 1000, held_up, n_rows) == -1
    # Per row: two chunks of 51 and 50 rows at 10 ns a row are a 1,010 ns one-thread time.
    assert verdict(1010, np.array([510, 500]), 101) == 0
    assert verdict(1011, np.array([510, 500]), 101) == -1
    with pytest.raises(ValueError, match="are not cut into"):
        verdict(one_thread, np.ones(63, dtype=np.int64), 64)
