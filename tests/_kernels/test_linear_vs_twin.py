"""The compiled epoch loop against gdfast/_slow/linear.py, path by path."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gdfast._kernels import linear as _kernel
from gdfast._slow import linear as _reference
from gdfast.linear_model import _engine
from helpers import relative_error
from twin_cases import (BATCH_MODES, KERNEL_CONFIG, TOLERANCE, problem,
                        run_both, tolerance)

pytestmark = pytest.mark.usefixtures("each_kernel_build")
# The kernel's `average` argument when nothing is averaged.
NO_AVERAGE = np.empty(0)

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", _engine.LOSS_NAMES)
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_epochs_match_reference_on_fixed_orders(dtype, loss, mode, fit_intercept):
    X, y, weights = problem(loss, dtype)
    n = X.shape[0]
    batch_size = BATCH_MODES[mode] or n
    config = {"loss": loss, "optimizer": "sgd", "batch_size": batch_size, "shuffle": False,
              "fit_intercept": fit_intercept, "learning_rate": 0.05}
    rng = np.random.default_rng(42)
    orders = [rng.permutation(n).astype(np.intp) for _ in range(6)]
    (k_coef, k_loss, k_t, *_), (r_coef, r_loss, r_t, *_) = run_both(X, y, weights, config, orders)
    assert k_coef.dtype == dtype
    assert k_t == r_t == 6 * -(-n // batch_size)
    assert relative_error(k_coef, r_coef) < tolerance(dtype, loss)
    assert relative_error(k_loss, r_loss) < tolerance(dtype, loss)
    assert np.any(k_coef != 0)
    if not fit_intercept:
        assert k_coef[-1] == 0


@pytest.mark.parametrize("mode", BATCH_MODES)
def test_shuffled_epochs_match_reference(mode):
    """Both engines shuffle with the same generator, so a seed fixes the whole run."""
    X, y, weights = problem("squared_error", np.float64)
    n = X.shape[0]
    config = {"loss": "squared_error", "optimizer": "sgd", "batch_size": BATCH_MODES[mode] or n,
              "shuffle": True, "fit_intercept": True, "learning_rate": 0.05}
    orders = [np.arange(n, dtype=np.intp)] * 4  # copied, then overwritten by a permutation
    kernel, reference = run_both(X, y, weights, config, orders, rng_state=12345)
    assert relative_error(kernel[0], reference[0]) < 1e-10
    assert kernel[3] == reference[3]  # the generators end in the same state


@pytest.mark.parametrize("n", [1, 2, 17, 1000])
def test_shuffle_is_the_reference_permutation_whatever_the_order_held(n):
    """The epoch's order depends on the generator's state alone, which is all a fitted model
    keeps to resume its run."""
    order_kernel = np.full(n, n - 1, dtype=np.intp)          # any valid content
    order_reference = np.arange(n, dtype=np.intp)[::-1].copy()
    X = np.zeros((n, 1))
    config = dict(KERNEL_CONFIG, batch_size=1, shuffle=True, learning_rate=0.0)
    _, _, _, kernel_state, _ = _kernel.run_epoch(X, np.zeros(n), np.ones(n), np.zeros(1),
                                                 np.zeros(2), np.zeros((0, 2)), np.ones(4),
                                                 order_kernel, config, 0, 7, NO_AVERAGE, 0)
    reference_state = _reference.random_permutation(order_reference, 7)
    np.testing.assert_array_equal(order_kernel, order_reference)
    assert kernel_state == reference_state
    assert sorted(order_kernel) == list(range(n))
    if n > 2:
        assert not np.array_equal(order_kernel, np.arange(n))


def test_permutations_are_uniform():
    """Each of the 3! orders of three rows comes up about equally often."""
    counts = {}
    state = 1
    for _ in range(6000):
        order = np.zeros(3, dtype=np.intp)
        state = _reference.random_permutation(order, state)
        counts[tuple(order)] = counts.get(tuple(order), 0) + 1
    assert len(counts) == 6
    assert all(abs(count - 1000) < 120 for count in counts.values())


@settings(derandomize=True, deadline=None, max_examples=60)
@given(n_samples=st.integers(1, 40), n_features=st.integers(1, 9),
       batch_size=st.integers(1, 50), loss=st.sampled_from(_engine.LOSS_NAMES),
       learning_rate=st.floats(1e-4, 0.1), seed=st.integers(0, 2**32 - 1),
       shuffle=st.booleans())
def test_random_small_problems_match_reference(n_samples, n_features, batch_size, loss,
                                               learning_rate, seed, shuffle):
    X, y, weights = problem(loss, np.float64, n_samples, n_features, seed=seed % 1000)
    config = {"loss": loss, "optimizer": "sgd", "batch_size": batch_size, "shuffle": shuffle,
              "fit_intercept": True, "learning_rate": learning_rate}
    orders = [np.random.default_rng(seed).permutation(n_samples).astype(np.intp)] * 3
    kernel, reference = run_both(X, y, weights, config, orders, rng_state=seed)
    assert relative_error(kernel[0], reference[0]) < 1e-10
    assert kernel[2] == reference[2]


def test_kernel_rejects_inconsistent_arrays_instead_of_crashing():
    X, y, weights = problem("squared_error", np.float64)
    n, d = X.shape
    config = dict(KERNEL_CONFIG, batch_size=1)
    good = dict(coef=np.zeros(d + 1), state=np.zeros((0, d + 1)), order=np.arange(n))
    scalars, mean = np.ones(4), np.zeros(d)
    cases = [
        ("coef", np.zeros(d), "coef"),
        ("state", np.zeros((1, d + 1)), "state"),
        ("order", np.arange(n - 1), "order"),
        ("order", np.full(n, n), "order"),
        ("order", np.full(n, -1), "order"),
    ]
    for name, bad, message in cases:
        args = dict(good, **{name: bad})
        with pytest.raises(ValueError, match=message):
            _kernel.run_epoch(X, y, weights, mean, args["coef"], args["state"], scalars,
                              args["order"].astype(np.intp), config, 0, 0, NO_AVERAGE, 0)
    with pytest.raises(ValueError, match="rows"):
        _kernel.run_epoch(X, y[:-1], weights, mean, good["coef"], good["state"], scalars,
                          good["order"], config, 0, 0, NO_AVERAGE, 0)
    with pytest.raises(ValueError, match="batch_size"):
        _kernel.run_epoch(X, y, weights, mean, good["coef"], good["state"], scalars, good["order"],
                          dict(config, batch_size=0), 0, 0, NO_AVERAGE, 0)
    with pytest.raises(ValueError, match="mean"):
        _kernel.run_epoch(X, y, weights, np.zeros(d + 1), good["coef"], good["state"], scalars,
                          good["order"], config, 0, 0, NO_AVERAGE, 0)
    with pytest.raises(ValueError, match="center needs fit_intercept"):
        _kernel.run_epoch(X, y, weights, mean, good["coef"], good["state"], scalars,
                          good["order"], dict(config, center=True, fit_intercept=False), 0, 0,
                          NO_AVERAGE, 0)
    with pytest.raises(ValueError, match="scalars"):
        _kernel.run_epoch(X, y, weights, mean, good["coef"], good["state"], np.ones(3), good["order"],
                          config, 0, 0, NO_AVERAGE, 0)
    with pytest.raises(ValueError, match="dtype mismatch"):  # one dtype per compiled version
        _kernel.run_epoch(X.astype(np.float32), y, weights, mean, good["coef"], good["state"],
                          scalars, good["order"], config, 0, 0, NO_AVERAGE, 0)


def test_nonfinite_status_is_reported_by_both_engines():
    X, y, weights = problem("squared_error", np.float64)
    X = X * 1e3
    config = {"loss": "squared_error", "optimizer": "sgd", "batch_size": 1, "shuffle": False,
              "fit_intercept": True, "learning_rate": 10.0}
    for engine in _engine.ENGINES:
        coef = np.zeros(X.shape[1] + 1)
        statuses = [_engine.run_epoch(engine, X, y, weights, coef, np.zeros((0, coef.size)),
                                      np.ones(4), np.arange(X.shape[0]), config, 0, 0)[0]
                    for _ in range(3)]
        assert statuses[0] != _engine.STATUS_OK


MULTICLASS_CASES = [("multinomial", "log_loss"), ("ovr", "log_loss"), ("ovr", "hinge"),
                    ("ovr", "modified_huber")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("multiclass, loss", MULTICLASS_CASES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_multiclass_models_match_reference(multiclass, loss, mode, dtype, optimizer):
    X, y, weights = problem("squared_error", dtype)
    classes = np.digitize(y, np.quantile(y, [0.33, 0.66])).astype(dtype)   # 3 classes
    n, d = X.shape
    config = {"loss": loss, "multiclass": multiclass, "optimizer": optimizer,
              "batch_size": BATCH_MODES[mode] or n, "shuffle": True, "fit_intercept": True,
              "learning_rate": 0.05}
    results = {}
    for engine in _engine.ENGINES:
        coef = np.zeros(3 * (d + 1), dtype=dtype)
        state = np.zeros((_engine.state_rows(optimizer), coef.size), dtype=dtype)
        scalars, order, t, rng = np.ones(4), np.arange(n), 0, 9
        losses = []
        for _ in range(4):
            status, loss_sum, t, rng, _ = _engine.run_epoch(engine, X, classes, weights, coef,
                                                            state, scalars, order, config, t, rng)
            assert status == _engine.STATUS_OK
            losses.append(loss_sum)
        results[engine] = coef, np.array(losses)
    assert relative_error(results["cython"][0], results["numpy"][0]) < tolerance(dtype, loss)
    assert relative_error(results["cython"][1], results["numpy"][1]) < tolerance(dtype, loss)
    assert np.ptp(results["cython"][0].reshape(3, -1), axis=0).max() > 0   # outputs differ


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("mode", BATCH_MODES)
def test_l1_proximal_step_matches_reference_and_gives_exact_zeros(optimizer, mode):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((97, 12))
    y = X[:, :3] @ np.array([2.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(97)
    weights = np.ones(97)
    config = {"loss": "squared_error", "optimizer": optimizer, "batch_size": BATCH_MODES[mode] or 97,
              "shuffle": True, "fit_intercept": True, "learning_rate": 0.02, "l1": 0.3,
              "l2": 0.05}
    # Enough steps to settle; Adam's normalised steps make weights that hover at zero
    # chaotic (rounding grows to 1e-8 over thousands of steps), so it gets fewer.
    epochs = {"stochastic": 30, "mini-batch": 300, "full": 300 if optimizer == "adam" else 2000}
    kernel, reference = run_both(X, y, weights, config, [np.arange(97)] * epochs[mode],
                                 rng_state=4)
    assert relative_error(kernel[0], reference[0]) < 1e-10
    weights_only = kernel[0][:-1]
    assert np.any(weights_only[3:] == 0.0)           # exact zeros among the nine irrelevant
    assert np.all(np.abs(weights_only[3:]) < 0.06)
    assert np.all(weights_only[:3] != 0.0)
    if mode == "full" and optimizer == "sgd":        # deterministic and converged: all of them
        assert np.all(weights_only[3:] == 0.0)


@pytest.mark.parametrize("loss, p, y, value, slope", [
    ("squared_error", 3.0, 1.0, 4.0, 4.0),
    ("huber", 1.05, 1.0, 0.0025, 0.1),                      # inside δ = 0.1: r²
    ("huber", 3.0, 1.0, 2 * 0.1 * 2.0 - 0.01, 0.2),          # outside: 2δ|r| − δ²
    ("huber", -1.0, 1.0, 2 * 0.1 * 2.0 - 0.01, -0.2),
    ("epsilon_insensitive", 1.05, 1.0, 0.0, 0.0),
    ("epsilon_insensitive", 3.0, 1.0, 1.9, 1.0),
    ("epsilon_insensitive", -1.0, 1.0, 1.9, -1.0),
    ("log_loss", 0.0, 1.0, np.log(2.0), -0.5),
    ("log_loss", 800.0, 0.0, 800.0, 1.0),                    # no overflow
    ("log_loss", -800.0, 0.0, 0.0, 0.0),
    ("hinge", 0.5, 1.0, 0.5, -1.0),
    ("hinge", 2.0, 1.0, 0.0, 0.0),
    ("hinge", 0.5, -1.0, 1.5, 1.0),
    ("modified_huber", 0.5, 1.0, 0.25, -1.0),                # (1 − z)², slope −2y(1 − z)
    ("modified_huber", -3.0, 1.0, 12.0, -4.0),               # z < −1: −4z, slope −4y
    ("modified_huber", 1.5, 1.0, 0.0, 0.0),
])
def test_losses_follow_their_definitions(loss, p, y, value, slope):
    """The loss table of docs/mathematics.md; the kernel is held to the same functions above."""
    losses, derivative = _reference.LOSSES[loss](np.array([p]), np.array([y]), 0.1)
    assert losses[0] == pytest.approx(value, abs=1e-12)
    assert derivative[0] == pytest.approx(slope, abs=1e-12)


def test_multinomial_loss_is_softmax_cross_entropy():
    P = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    losses, dP = _reference.multinomial_log_loss(P, np.array([0, 0]))
    softmax = np.exp(P[0] - P[0].max()) / np.exp(P[0] - P[0].max()).sum()
    assert losses[0] == pytest.approx(-np.log(softmax[0]))
    assert losses[1] == pytest.approx(0.0)                   # no overflow at large scores
    np.testing.assert_allclose(dP[0], softmax - [1, 0, 0])
    np.testing.assert_allclose(dP.sum(axis=1), 0.0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("optimizer, loss, multiclass", [
    ("sgd", "squared_error", "none"), ("sgd", "log_loss", "none"), ("adam", "huber", "none"),
    ("momentum", "log_loss", "multinomial"), ("sgd", "hinge", "ovr")])
def test_centred_parametrisation_matches_reference(optimizer, loss, multiclass, mode, dtype):
    """Features far from zero, trained as w·(x − mean) + c (the fused SGD path included)."""
    X, y, weights = problem(loss, dtype)
    X = X + np.arange(1, X.shape[1] + 1, dtype=dtype) * 10
    n, d = X.shape
    n_outputs = 1
    if multiclass != "none":
        y = np.digitize(X[:, 0], np.quantile(X[:, 0], [0.33, 0.66])).astype(dtype)
        n_outputs = 3
    mean = np.average(X, axis=0, weights=weights).astype(dtype)
    config = {"loss": loss, "multiclass": multiclass, "optimizer": optimizer, "center": True,
              "batch_size": BATCH_MODES[mode] or n, "shuffle": True, "fit_intercept": True,
              "learning_rate": 0.002}
    results = {}
    for engine in _engine.ENGINES:
        coef = np.zeros(n_outputs * (d + 1), dtype=dtype)
        state = np.zeros((_engine.state_rows(optimizer), coef.size), dtype=dtype)
        scalars, order, t, rng = np.ones(4), np.arange(n), 0, 2
        for _ in range(4):
            status, *_, t, rng, _ = _engine.run_epoch(engine, X, y, weights, coef, state, scalars,
                                                     order, config, t, rng, mean=mean)
            assert status == _engine.STATUS_OK
        results[engine] = coef
    assert relative_error(results["cython"], results["numpy"]) < tolerance(dtype, loss)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [None, 81000, 85001])
@pytest.mark.parametrize("optimizer, loss, multiclass", [
    ("sgd", "squared_error", "none"), ("adam", "log_loss", "none"),
    ("momentum", "log_loss", "multinomial")])
def test_threaded_batches_match_reference(optimizer, loss, multiclass, batch_size, dtype):
    """Batches of 2**20 values or more are split over threads; the sum's order is the only
    change. 13 features: 81,000 rows is just over the threshold."""
    X, y, weights = problem(loss, dtype, n_samples=170001, n_features=13, seed=8)
    n_outputs = 1
    if multiclass != "none":
        y = np.digitize(X[:, 0], np.quantile(X[:, 0], [0.33, 0.66])).astype(dtype)
        n_outputs = 3
    n, d = X.shape
    mean = np.average(X, axis=0).astype(dtype)
    coefs = {}
    for engine, threads in [("numpy", 1), ("cython", 1), ("cython", 2), ("cython", 3)]:
        config = {"loss": loss, "multiclass": multiclass, "optimizer": optimizer,
                  "batch_size": batch_size or n, "n_threads": threads, "shuffle": True,
                  "center": True, "fit_intercept": True, "learning_rate": 0.05}
        coef = np.zeros(n_outputs * (d + 1), dtype=dtype)
        state = np.zeros((_engine.state_rows(optimizer), coef.size), dtype=dtype)
        scalars, order, t, rng = np.ones(4), np.arange(n), 0, 5
        for _ in range(3):
            status, *_, t, rng, _ = _engine.run_epoch(engine, X, y, weights, coef, state, scalars,
                                                     order, config, t, rng, mean=mean)
            assert status == _engine.STATUS_OK
        coefs[engine, threads] = coef
    for key in [("cython", 1), ("cython", 2), ("cython", 3)]:
        assert relative_error(coefs[key], coefs["numpy", 1]) < tolerance(dtype, loss)
    assert not np.array_equal(coefs["cython", 2], coefs["cython", 1]) or dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])   # sgd per sample takes the fused path
@pytest.mark.parametrize("mode", BATCH_MODES)
def test_unit_weights_flag_equals_reading_ones(dtype, optimizer, mode):
    """unit_weights=True (no weights given: the kernel never reads them) gives bit for bit
    what reading a vector of ones gives, and matches the reference, on every path."""
    X, y, _ = problem("squared_error", dtype)
    n = X.shape[0]
    ones = np.ones(n, dtype=dtype)
    garbage = np.full(n, np.nan, dtype=dtype)      # must never be read under the flag
    config = {"loss": "squared_error", "optimizer": optimizer,
              "batch_size": BATCH_MODES[mode] or n, "shuffle": True, "learning_rate": 0.05}
    orders = [np.arange(n, dtype=np.intp)] * 3
    read, reference = run_both(X, y, ones, config, orders, rng_state=7)
    unit, unit_reference = run_both(X, y, garbage, dict(config, unit_weights=True), orders,
                                    rng_state=7)
    np.testing.assert_array_equal(unit[0], read[0])
    # The loss sums agree to rounding only: with the weight known to be 1 the compiler may
    # fuse a row's squared error into the sum (one rounding instead of two).
    np.testing.assert_allclose(unit[1], read[1], rtol=1e-14)
    np.testing.assert_array_equal(unit_reference[0], reference[0])
    assert relative_error(unit[0], reference[0]) < TOLERANCE[dtype]
    # No weights at all (None, the flag left off): the same path, bit for bit.
    none, none_reference = run_both(X, y, None, config, orders, rng_state=7)
    for got, expected in ((none, unit), (none_reference, unit_reference)):
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_weights_are_unit_weights_for_sparse_rows_and_gradients(dtype):
    """sample_weight None weighs every row 1 in the CSR epoch loop and in batch_gradient
    too, bit for bit as the unit_weights flag over an array never read."""
    import scipy.sparse as sp
    X, y, _ = problem("squared_error", dtype)
    n = X.shape[0]
    garbage = np.full(n, np.nan, dtype=dtype)
    config = dict(_engine.NEUTRAL_CONFIG, optimizer="adam", batch_size=8, shuffle=True,
                  learning_rate=0.05)
    results = []
    for weights, flag in ((garbage, True), (None, False)):
        coef = np.zeros(X.shape[1] + 1, dtype=dtype)
        state = np.zeros((_engine.state_rows("adam"), coef.size), dtype=dtype)
        status, loss_sum, *_ = _engine.run_epoch(
            "cython", sp.csr_matrix(X), y, weights, coef, state, np.ones(4),
            np.arange(n, dtype=np.intp), dict(config, unit_weights=flag), 0, 3)
        assert status == _engine.STATUS_OK
        gradient, gradient_loss = _engine.kernel.batch_gradient(
            X, y, weights, np.zeros(X.shape[1], dtype=dtype), coef,
            np.arange(0, n, 3, dtype=np.intp),
            _engine._kernel_codes(dict(config, unit_weights=flag)))
        results.append((coef, loss_sum, gradient, gradient_loss))
    for flagged, none in zip(*results):
        np.testing.assert_array_equal(none, flagged)
    assert np.all(np.isfinite(results[1][0])) and np.any(results[1][0] != 0)


@pytest.mark.parametrize("mode", ["mini-batch", "full"])
def test_unit_weight_log_loss_sums_many_rows_as_the_twin(mode):
    """With unit weights a batch's log loss takes the logarithm of a product of many rows'
    1 + exp(-|p|) (fastmath.h, gd_log_loss_rows_unit), not one per row: over 2,100 rows, many
    of their scores far into the saturated tails, the loss sums and the coefficients agree with
    the twin's and with the path that reads the weights, to the float64 tolerance."""
    X, y, _ = problem("log_loss", np.float64, n_samples=2_100, n_features=5, seed=3)
    X *= np.random.default_rng(4).choice([0.01, 1.0, 10.0, 50.0], size=(X.shape[0], 1))
    n = X.shape[0]
    config = {"loss": "log_loss", "optimizer": "sgd", "batch_size": BATCH_MODES[mode] or n,
              "shuffle": True, "learning_rate": 0.01}
    orders = [np.random.default_rng(seed).permutation(n).astype(np.intp) for seed in range(3)]
    read, reference = run_both(X, y, np.ones(n), config, orders, rng_state=7)
    unit, unit_reference = run_both(X, y, np.full(n, np.nan), dict(config, unit_weights=True),
                                    orders, rng_state=7)
    for got in (unit, read):
        assert relative_error(got[0], reference[0]) < TOLERANCE[np.float64]
        assert relative_error(got[1], reference[1]) < TOLERANCE[np.float64]
    np.testing.assert_allclose(unit[1], read[1], rtol=1e-13)
    np.testing.assert_allclose(unit[0], read[0], rtol=1e-12)
    np.testing.assert_array_equal(unit_reference[1], reference[1])
    assert np.all(np.asarray(unit[1]) > 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("unit_weights", [True, False])
@pytest.mark.parametrize("batch_size", [32, 101, None])
@pytest.mark.parametrize("loss, multiclass, n_outputs", [
    ("log_loss", "none", 1), ("log_loss", "multinomial", 4), ("hinge", "ovr", 3),
    ("log_loss", "multinomial", 17)])          # more outputs than a block takes: row by row
def test_blocks_of_rows_match_reference(loss, multiclass, n_outputs, batch_size,
                                        unit_weights, dtype):
    """Batches taken a block of rows at a time (scores, then losses, then gradient): a
    full batch of 8,995 rows, more than GD_LOG_PRODUCT_ROWS blocks of 32 (the logarithms of
    the unit-weight losses' products taken within the batch) and a partial last block, and
    mini-batches, one of a whole number of blocks and one not; scores up to ±60, so that
    the exponentials saturate, the loss sums as well as the coefficients equal to the
    twin's."""
    n, d = 8995, 5
    rng = np.random.default_rng(11)
    X = (rng.standard_normal((n, d)) * 6).astype(dtype)
    if n_outputs == 1:
        y = (X[:, 0] + rng.standard_normal(n) > 0).astype(dtype)
    else:
        y = rng.integers(0, n_outputs, n).astype(dtype)
    weights = rng.uniform(0.5, 2.0, n).astype(dtype)
    config = {"loss": loss, "multiclass": multiclass, "optimizer": "sgd",
              "batch_size": batch_size or n, "shuffle": True, "fit_intercept": True,
              "learning_rate": 0.05, "unit_weights": unit_weights}
    results = {}
    for engine in _engine.ENGINES:
        coef = (np.random.default_rng(3).standard_normal(n_outputs * (d + 1)) * 2).astype(dtype)
        state = np.zeros((0, coef.size), dtype=dtype)
        scalars, order, t, seed = np.ones(4), np.arange(n), 0, 9
        losses = []
        for _ in range(2):
            status, loss_sum, t, seed, _ = _engine.run_epoch(
                engine, X, y, None if unit_weights else weights, coef, state, scalars, order,
                config, t, seed)
            assert status == _engine.STATUS_OK
            losses.append(loss_sum)
        results[engine] = coef, np.array(losses)
    assert relative_error(results["cython"][0], results["numpy"][0]) < tolerance(dtype, loss)
    assert relative_error(results["cython"][1], results["numpy"][1]) < tolerance(dtype, loss)
    assert np.abs(results["cython"][1]).min() > 0


def _per_sample_log_loss_epochs(X, y, fit_intercept, average, epochs=2):
    """Plain-SGD per-sample log loss epochs (weight 1, constant rate) from zero; with
    `average` (a buffer), averaging that starts only after them. Returns coef, the loss
    sums, the update count and the last status."""
    d = X.shape[1]
    config = dict(_engine.NEUTRAL_CONFIG, loss="log_loss", optimizer="sgd", batch_size=1,
                  shuffle=True, fit_intercept=fit_intercept, learning_rate=1e-3,
                  unit_weights=True)
    coef = np.zeros(d + 1, dtype=X.dtype)
    state, scalars = np.zeros((0, d + 1), dtype=X.dtype), np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(X.shape[0], dtype=np.intp)
    t, rng, losses, status = 0, 9, [], _engine.STATUS_OK
    for _ in range(epochs):
        status, loss_sum, t, rng, _ = _engine.run_epoch(
            "cython", X, y, None, coef, state, scalars, order, config, t, rng,
            average=average, average_start=10**12)
        losses.append(loss_sum)
        if status != _engine.STATUS_OK:
            break
    return coef, np.array(losses), t, status


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n_samples", [300, 900_000])    # the second: two looks at Ctrl-C
def test_per_sample_log_loss_loop_of_its_own_equals_the_general_one(dtype, fit_intercept,
                                                                     n_samples):
    """Per-sample log loss on narrow rows, weight 1, one rate and nothing averaged runs a
    loop of its own (log_rows.h); with an average buffer (averaging that starts after the
    epochs, so the iterates are the same) the general loop (sgd_rows) runs instead. Same
    arithmetic, also where the long epoch stops to look at Ctrl-C and resumes: the same
    coefficients and loss sums to a few roundings (the compiler may fuse the intercept's
    multiply-add in one loop and not in the other, a rounding apart each step)."""
    rng = np.random.default_rng(5)
    d = 10
    X = rng.standard_normal((n_samples, d)).astype(dtype)
    y = (X @ rng.standard_normal(d) + rng.standard_normal(n_samples) > 0).astype(dtype)
    own = _per_sample_log_loss_epochs(X, y, fit_intercept, None)
    general = _per_sample_log_loss_epochs(X, y, fit_intercept, np.zeros(d + 1, dtype=dtype))
    assert own[3] == general[3] == _engine.STATUS_OK
    assert own[2] == general[2] == 2 * n_samples
    close = {np.float64: 1e-12, np.float32: 1e-5}[dtype]
    assert relative_error(own[0], general[0]) < close
    assert relative_error(own[1], general[1]) < close
    assert np.all(np.isfinite(own[0])) and np.any(own[0][:d] != 0)
    assert (own[0][d] != 0) == fit_intercept


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("d", [1, 4, 7, 8, 9, 15, 16, 17])
def test_per_sample_log_loss_loop_of_its_own_equals_the_general_one_at_every_width(
        dtype, fit_intercept, d):
    """The same on rows of every width around the loop's cases: rows of 4 to 16 float64
    or 8 to 16 float32 features keep the parameters in one to four vector registers, the
    last holding the row's last entries with those the others already hold masked out;
    narrower and wider rows keep them in memory. Without an intercept its entry, stored
    just after the last vector's, stays zero."""
    rng = np.random.default_rng(7)
    n_samples = 3000
    X = rng.standard_normal((n_samples, d)).astype(dtype)
    y = (X @ rng.standard_normal(d) + rng.standard_normal(n_samples) > 0).astype(dtype)
    own = _per_sample_log_loss_epochs(X, y, fit_intercept, None)
    general = _per_sample_log_loss_epochs(X, y, fit_intercept, np.zeros(d + 1, dtype=dtype))
    assert own[3] == general[3] == _engine.STATUS_OK
    close = {np.float64: 1e-12, np.float32: 1e-5}[dtype]
    assert relative_error(own[0], general[0]) < close
    assert relative_error(own[1], general[1]) < close
    assert np.all(own[0][:d] != 0)
    assert (own[0][d] != 0) == fit_intercept


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [6, 10])
def test_per_sample_log_loss_loop_of_its_own_stops_where_the_general_one_does(dtype, d):
    """A row whose score is infinite makes its loss non-finite: both loops stop the epoch
    after that row's step, with the same status and update count (10 float32 features:
    the loop that keeps the parameters in registers)."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((500, d)).astype(dtype)
    X[321, 2] = np.inf
    y = (rng.uniform(size=500) < 0.5).astype(dtype)
    own = _per_sample_log_loss_epochs(X, y, True, None)
    general = _per_sample_log_loss_epochs(X, y, True, np.zeros(d + 1, dtype=dtype))
    assert own[3] == general[3] != _engine.STATUS_OK
    assert own[2] == general[2] < 500                    # stopped within the first epoch
