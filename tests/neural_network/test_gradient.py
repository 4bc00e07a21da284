"""Backpropagation's gradient equals a finite-difference gradient of the batch objective,
for the NumPy twin's batch_gradient and for the kernel's own (read off one plain step)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gdfast._slow import mlp as reference
from gdfast.neural_network import _engine
from gdfast.optim import SGD
from neural_network.network_problems import OUTPUTS


def objective(theta, X, Y, weights, sizes, activation, output):
    """Σ s_i ℓ_i / n, written from the forward pass alone."""
    W, b = reference.unpack(theta, sizes)
    losses, _ = reference.output_loss(reference.forward(X, W, b, activation)[-1], Y, output)
    return float(weights @ losses) / len(X)


def finite_difference(theta, *args, h=1e-6):
    gradient = np.empty_like(theta)
    for j in range(theta.size):
        step = np.zeros_like(theta)
        step[j] = h
        gradient[j] = (objective(theta + step, *args) - objective(theta - step, *args)) / (2 * h)
    return gradient


@pytest.mark.usefixtures("each_network_build")
@settings(derandomize=True, deadline=None, max_examples=60)
@given(hidden=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       n_inputs=st.integers(1, 4), n_outputs=st.integers(2, 3),
       n_samples=st.integers(1, 6), activation=st.sampled_from(_engine.ACTIVATION_NAMES),
       output=st.sampled_from(OUTPUTS), seed=st.integers(0, 2**16))
def test_backpropagation_equals_finite_differences(hidden, n_inputs, n_outputs, n_samples,
                                                   activation, output, seed):
    rng = np.random.default_rng(seed)
    sizes = [n_inputs, *hidden, 1 if output == "logistic" else n_outputs]
    _, n_params = reference.parameter_layout(sizes)
    theta = rng.normal(size=n_params)
    X = rng.normal(size=(n_samples, n_inputs))
    if output == "softmax":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n_samples)]
    elif output == "logistic":
        Y = rng.integers(0, 2, (n_samples, 1)).astype(float)
    else:
        Y = rng.normal(size=(n_samples, sizes[-1]))
    weights = rng.uniform(0.5, 2.0, n_samples)
    args = (X, Y, weights, sizes, activation, output)
    expected = finite_difference(theta, *args)

    analytic, loss_sum = reference.batch_gradient(X, Y, weights, theta, np.arange(n_samples),
                                                  sizes, activation, output)
    np.testing.assert_allclose(analytic, expected, rtol=1e-5, atol=1e-7)
    assert abs(loss_sum / n_samples - objective(theta, *args)) < 1e-12

    # The kernel: one full-batch SGD step of rate 1 moves θ by exactly its gradient.
    stepped = theta.copy()
    config = dict(SGD().kernel_config(), batch_size=n_samples, shuffle=False,
                  learning_rate=1.0, unit_weights=False)
    status, kernel_loss, *_ = _engine.run_epoch(
        "cython", X, Y, weights, stepped, np.zeros((0, n_params)), np.ones(4),
        np.arange(n_samples), sizes, activation, output, config, 0, 1)
    assert status == 0
    np.testing.assert_allclose(theta - stepped, expected, rtol=1e-5, atol=1e-7)
    assert abs(kernel_loss - loss_sum) < 1e-12 * max(1.0, abs(loss_sum))
