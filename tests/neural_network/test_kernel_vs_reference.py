"""The compiled network kernel takes the NumPy twin's steps: every activation, optimizer,
batch mode and output layer, float64 to 1e-10."""
import numpy as np
import pytest

from gdfast.neural_network import _engine
from gdfast.optim import OPTIMIZER_CLASSES
from neural_network.network_problems import OUTPUTS, problem


def train(engine, output, activation, optimizer, batch_size, *, dtype=np.float64, epochs=3,
          l2=0.1, unit_weights=False, center=False):
    X, Y, weights, theta, sizes = problem(output, dtype=dtype)
    mean = np.linspace(-1.0, 1.0, X.shape[1]).astype(dtype) if center else None
    cls = OPTIMIZER_CLASSES[optimizer]
    state = np.zeros((cls.n_buffers, theta.size), dtype=dtype)
    scalars, order = np.ones(4), np.arange(len(X))
    config = dict(cls().kernel_config(), batch_size=batch_size, shuffle=True,
                  learning_rate=0.003, l2=l2, unit_weights=unit_weights, center=center)
    t, rng_state, results = 0, 12345, []
    for _ in range(epochs):
        status, loss_sum, t, rng_state, lr = _engine.run_epoch(
            engine, X, Y, weights, theta, state, scalars, order, sizes, activation, output,
            config, t, rng_state, mean=mean)
        results.append((status, loss_sum, t, rng_state, lr))
    return theta, state, scalars, order, results


@pytest.mark.usefixtures("each_network_build")
@pytest.mark.parametrize("batch_size", [1, 5, 23])
@pytest.mark.parametrize("optimizer", list(OPTIMIZER_CLASSES))
@pytest.mark.parametrize("activation", _engine.ACTIVATION_NAMES)
@pytest.mark.parametrize("output", OUTPUTS)
def test_kernel_equals_reference(output, activation, optimizer, batch_size):
    kernel = train("cython", output, activation, optimizer, batch_size)
    reference = train("numpy", output, activation, optimizer, batch_size)
    np.testing.assert_allclose(kernel[0], reference[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(kernel[1], reference[1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(kernel[2], reference[2], rtol=1e-12)
    np.testing.assert_array_equal(kernel[3], reference[3])        # the same shuffle
    for ours, theirs in zip(kernel[4], reference[4]):
        assert ours[0] == theirs[0] == 0
        assert ours[1] == pytest.approx(theirs[1], rel=1e-11)
        assert ours[2:4] == theirs[2:4]
        assert ours[4] == pytest.approx(theirs[4], rel=1e-12)
    assert not np.allclose(kernel[0], problem(output)[3])           # it did train
    assert np.max(np.abs(kernel[0])) < 100                          # and did not diverge


@pytest.mark.usefixtures("each_network_build")
@pytest.mark.parametrize("output", OUTPUTS)
def test_unit_weights_and_float32(output):
    for unit_weights in (False, True):
        kernel = train("cython", output, "tanh", "adam", 4, dtype=np.float32,
                       unit_weights=unit_weights)
        reference = train("numpy", output, "tanh", "adam", 4, dtype=np.float32,
                          unit_weights=unit_weights)
        assert kernel[0].dtype == np.float32
        np.testing.assert_allclose(kernel[0], reference[0], rtol=0, atol=1e-4)


def test_the_penalty_acts_on_weights_only():
    # With sgd, the l2 term changes each weight by lr·l2/b·w per step, and never a bias.
    X, Y, weights, theta, sizes = problem("identity")
    results = []
    for l2 in (0.0, 5.0):
        coef = theta.copy()
        config = dict(OPTIMIZER_CLASSES["sgd"]().kernel_config(), batch_size=len(X),
                      shuffle=False, learning_rate=0.1, l2=l2, unit_weights=False)
        _engine.run_epoch("cython", X, Y, weights, coef, np.zeros((0, coef.size)),
                          np.ones(4), np.arange(len(X)), sizes, "relu", "identity", config,
                          0, 1)
        results.append(coef)
    difference = results[0] - results[1]
    is_weight = _engine._reference.weight_mask(sizes)
    np.testing.assert_allclose(difference[is_weight], 0.1 * 5.0 / len(X) * theta[is_weight],
                               rtol=1e-12)
    np.testing.assert_array_equal(difference[~is_weight], 0.0)


@pytest.mark.usefixtures("each_network_build")
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("batch_size", [1, 6])
def test_centred_inputs(output, batch_size):
    kernel = train("cython", output, "relu", "nadam", batch_size, center=True)
    reference = train("numpy", output, "relu", "nadam", batch_size, center=True)
    np.testing.assert_allclose(kernel[0], reference[0], rtol=0, atol=1e-10)
    uncentred = train("cython", output, "relu", "nadam", batch_size)
    assert np.max(np.abs(kernel[0] - uncentred[0])) > 1e-4      # the mean was used


def test_the_engine_runs_the_build_the_linear_models_run():
    from gdfast.linear_model import _engine as linear_engine
    avx2 = linear_engine.kernel.__name__.endswith("_avx2")
    assert _engine.kernel.__name__.endswith("_avx2") == avx2
