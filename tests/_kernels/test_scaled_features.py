"""config["scale"]: the kernel trains on z = (x − mean)∘inv_scale (x∘inv_scale without
centring), held to the NumPy twin on every path: each optimizer, batch mode (the fused
one-row SGD, the four-row groups, the thread split), loss, dtype, multi-output model and
penalty; and with every scale 1 it is centring alone, bit for bit."""
import numpy as np
import pytest
from helpers import relative_error
from twin_cases import BATCH_MODES, KERNEL_CONFIG, OPTIMIZER_CASES, problem, tolerance

from gdfast._kernels import linear as _kernel
from gdfast.linear_model import _engine

pytestmark = pytest.mark.usefixtures("each_kernel_build")

SPREADS = np.array([0.05, 1.0, 20.0, 0.5, 3.0, 0.2, 8.0])


def scaled_problem(loss, dtype, center, n_samples=97, seed=0):
    """Features with spreads from 0.05 to 20 (with centring, offsets of hundreds in float64,
    of 30 spreads in float32, whose batch scores (w∘s)·x − (w∘s)·mean lose to cancellation
    about as many digits as the offsets are spreads), their weighted means and inverse
    standard deviations, and the targets of z."""
    X, y, weights = problem(loss, dtype, n_samples=n_samples, seed=seed)
    if not center:
        offsets = 0.1 * SPREADS
    elif dtype == np.float64:
        offsets = np.linspace(-300.0, 500.0, X.shape[1])
    else:
        offsets = 30.0 * SPREADS * np.sign(np.linspace(-1.0, 1.0, X.shape[1]) + 0.01)
    raw = X.astype(np.float64) * SPREADS + offsets
    mean = np.average(raw, axis=0, weights=weights)
    std = np.sqrt(np.average((raw - mean) ** 2, axis=0, weights=weights))
    X = raw.astype(dtype)
    return X, y, weights, mean.astype(dtype), (1.0 / std).astype(dtype)


def run_epochs(X, y, weights, mean, inv_scale, config, n_outputs=1, epochs=4, rng_state=3,
               initial_buffer=0.0, engines=_engine.ENGINES):
    results = {}
    for engine in engines:
        coef = np.zeros(n_outputs * (X.shape[1] + 1), dtype=X.dtype)
        state = np.full((_engine.state_rows(config["optimizer"]), coef.size), initial_buffer,
                        dtype=X.dtype)
        scalars, order, t, rng, losses = np.ones(4), np.arange(X.shape[0]), 0, rng_state, []
        for _ in range(epochs):
            status, loss_sum, t, rng, _ = _engine.run_epoch(
                engine, X, y, weights, coef, state, scalars, order, config, t, rng,
                mean=mean, inv_scale=inv_scale)
            assert status == _engine.STATUS_OK
            losses.append(loss_sum)
        results[engine] = coef, np.array(losses), state
    return results


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("case", OPTIMIZER_CASES)
def test_every_optimizer_matches_reference_on_scaled_features(case, center, mode, dtype):
    optimizer, rate, hyper, initial = OPTIMIZER_CASES[case]
    X, y, weights, mean, inv_scale = scaled_problem("squared_error", dtype, center)
    config = {"loss": "squared_error", "optimizer": optimizer, "center": center,
              "scale": True, "batch_size": BATCH_MODES[mode] or X.shape[0], "shuffle": True,
              "learning_rate": rate, **hyper}
    results = run_epochs(X, y, weights, mean, inv_scale, config, initial_buffer=initial)
    (k_coef, k_loss, k_state), (r_coef, r_loss, r_state) = results["cython"], results["numpy"]
    assert relative_error(k_coef, r_coef) < tolerance(dtype, "squared_error")
    assert relative_error(k_loss, r_loss) < tolerance(dtype, "squared_error")
    if k_state.size:
        assert relative_error(k_state, r_state) < 10 * tolerance(dtype, "squared_error")
    assert np.abs(k_coef).max() > 0.01


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("loss, multiclass, optimizer", [
    ("squared_error", "none", "sgd"), ("huber", "none", "sgd"),
    ("epsilon_insensitive", "none", "adam"), ("log_loss", "none", "sgd"),
    ("hinge", "none", "momentum"), ("modified_huber", "none", "sgd"),
    ("log_loss", "multinomial", "sgd"), ("log_loss", "multinomial", "adam"),
    ("hinge", "ovr", "sgd"), ("log_loss", "ovr", "nesterov")])
def test_every_loss_and_model_matches_reference_on_scaled_features(loss, multiclass,
                                                                   optimizer, center, mode,
                                                                   dtype):
    X, y, weights, mean, inv_scale = scaled_problem(loss, dtype, center)
    n_outputs = 1
    if multiclass != "none":
        z = (X - mean) * inv_scale
        y = np.digitize(z[:, 0] + z[:, 2], [-0.5, 0.5]).astype(dtype)
        n_outputs = 3
    config = {"loss": loss, "multiclass": multiclass, "optimizer": optimizer,
              "center": center, "scale": True, "batch_size": BATCH_MODES[mode] or X.shape[0],
              "shuffle": True, "learning_rate": 0.01}
    results = run_epochs(X, y, weights, mean, inv_scale, config, n_outputs)
    assert relative_error(results["cython"][0], results["numpy"][0]) < tolerance(dtype, loss)
    assert relative_error(results["cython"][1], results["numpy"][1]) < tolerance(dtype, loss)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("penalty", [{"l2": 0.05}, {"l1": 0.01}, {"l2": 0.02, "l1": 0.005}])
def test_penalties_act_on_the_weights_of_scaled_features(penalty, mode, dtype):
    X, y, weights, mean, inv_scale = scaled_problem("squared_error", dtype, center=True)
    config = {"loss": "squared_error", "optimizer": "sgd", "center": True, "scale": True,
              "batch_size": BATCH_MODES[mode] or X.shape[0], "shuffle": True,
              "learning_rate": 0.02, **penalty}
    results = run_epochs(X, y, weights, mean, inv_scale, config, epochs=6)
    assert relative_error(results["cython"][0], results["numpy"][0]) < tolerance(dtype, "l2")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("optimizer, loss, multiclass", [
    ("sgd", "squared_error", "none"), ("momentum", "log_loss", "multinomial")])
def test_threaded_batches_match_reference_on_scaled_features(optimizer, loss, multiclass,
                                                             center, dtype):
    """A batch of 2**20 values or more is split over threads, each thread's share using the
    scaled weights computed once for the batch."""
    X, y, weights, mean, inv_scale = scaled_problem(loss, dtype, center, n_samples=90001,
                                                    seed=8)
    n_outputs = 1
    if multiclass != "none":
        z = (X - mean) * inv_scale
        y = np.digitize(z[:, 0] + z[:, 2], [-0.5, 0.5]).astype(dtype)
        n_outputs = 3
    coefs = {}
    for engine, threads in [("numpy", 1), ("cython", 1), ("cython", 2)]:
        config = {"loss": loss, "multiclass": multiclass, "optimizer": optimizer,
                  "batch_size": X.shape[0], "n_threads": threads, "center": center,
                  "scale": True, "learning_rate": 0.05}
        coefs[engine, threads] = run_epochs(X, y, weights, mean, inv_scale, config, n_outputs,
                                            epochs=3, engines=(engine,))[engine][0]
    for key in [("cython", 1), ("cython", 2)]:
        assert relative_error(coefs[key], coefs["numpy", 1]) < tolerance(dtype, loss)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("loss, multiclass", [("huber", "none"), ("log_loss", "multinomial")])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_batch_gradient_matches_reference_on_scaled_features(loss, multiclass, center,
                                                            n_threads, dtype):
    X, y, weights, mean, inv_scale = scaled_problem(loss, dtype, center, n_samples=300)
    n_outputs = 1
    if multiclass != "none":
        y = np.digitize(X[:, 0], np.quantile(X[:, 0], [0.33, 0.66])).astype(dtype)
        n_outputs = 3
    coef = (0.3 * np.random.default_rng(1).standard_normal(n_outputs * 8)).astype(dtype)
    rows = np.random.default_rng(3).integers(0, X.shape[0], 120)
    config = {"loss": loss, "multiclass": multiclass, "center": center, "scale": True,
              "n_threads": n_threads}
    results = {engine: _engine.batch_gradient(engine, X, y, weights, coef, rows, config,
                                              mean=mean, inv_scale=inv_scale)
               for engine in _engine.ENGINES}
    assert relative_error(results["cython"][0], results["numpy"][0]) < tolerance(dtype, loss)
    assert relative_error(results["cython"][1], results["numpy"][1]) < tolerance(dtype, loss)
    # The gradient of the weights of z is the raw one times the scales.
    plain = _engine.batch_gradient("numpy", X, y, weights, coef, rows,
                                   dict(config, scale=False), mean=mean)
    scaled_coef = coef.reshape(n_outputs, 8).copy()
    scaled_coef[:, :7] *= inv_scale
    raw = _engine.batch_gradient("numpy", X, y, weights, scaled_coef.ravel(), rows,
                                 dict(config, scale=False), mean=mean)[0].reshape(n_outputs, 8)
    expected = raw.copy()
    expected[:, :7] *= inv_scale
    np.testing.assert_allclose(results["numpy"][0].reshape(n_outputs, 8), expected,
                               rtol=1e-10 if dtype == np.float64 else 1e-4, atol=1e-6)
    assert not np.allclose(plain[0], results["numpy"][0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])      # sgd per sample: the fused path
@pytest.mark.parametrize("center", [True, False])
def test_unit_scales_are_centring_alone_bit_for_bit(center, optimizer, mode, dtype):
    X, y, weights, mean, _ = scaled_problem("squared_error", dtype, center)
    ones = np.ones(X.shape[1], dtype=dtype)
    config = {"loss": "squared_error", "optimizer": optimizer, "center": center,
              "batch_size": BATCH_MODES[mode] or X.shape[0], "shuffle": True,
              "learning_rate": 1e-3 if center else 1e-5}
    scaled = run_epochs(X, y, weights, mean, ones, dict(config, scale=True),
                        engines=("cython",))["cython"]
    plain = run_epochs(X, y, weights, mean, None, config, engines=("cython",))["cython"]
    np.testing.assert_array_equal(scaled[0], plain[0])
    np.testing.assert_array_equal(scaled[1], plain[1])


def test_the_kernel_needs_one_scale_per_feature():
    X, y, weights, mean, inv_scale = scaled_problem("squared_error", np.float64, True)
    coef, order = np.zeros(8), np.arange(X.shape[0])
    config = dict(KERNEL_CONFIG, center=True, scale=True)
    for bad in (None, inv_scale[:-1]):
        with pytest.raises(ValueError, match="scale needs inv_scale, one value per feature"):
            _kernel.run_epoch(X, y, weights, mean, coef, np.zeros((0, 8)), np.ones(4), order,
                              config, 0, 0, np.empty(0), 0, bad)
        with pytest.raises(ValueError, match="scale needs inv_scale, one value per feature"):
            _kernel.batch_gradient(X, y, weights, mean, coef, order, config, bad)
    with pytest.raises(ValueError, match="inv_scale 6 for 7 features"):
        _engine.batch_gradient("cython", X, y, weights, coef, order, {"scale": True},
                               mean=mean, inv_scale=inv_scale[:-1])
