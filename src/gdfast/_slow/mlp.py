"""The slow, obvious twin of the compiled network kernel (gdfast/_kernels/mlp.pyx).

A multilayer perceptron's parameters are one flat vector: for each layer, its weight matrix
(fan_in × fan_out, row-major) and then its bias vector. Each batch: the forward pass keeps
every layer's activations, the output's loss gives δ = ∂loss/∂z at the output, the backward
pass carries δ down layer by layer, and the optimizer step is the linear models' own
(gdfast._slow.linear.optimizer_step), with the l2 penalty on the weights only.
"""
import numpy as np

from gdfast._slow.linear import STATUS_NONFINITE, STATUS_OK, optimizer_step, random_permutation

# --- activations: h(z) and h'(z) written in terms of a = h(z) -----------------------------


def relu(z):
    return np.maximum(z, 0.0)


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {"identity": lambda z: z, "relu": relu, "tanh": np.tanh, "logistic": logistic}
DERIVATIVES = {"identity": lambda a: np.ones_like(a), "relu": lambda a: (a > 0) * 1.0,
               "tanh": lambda a: 1.0 - a * a, "logistic": lambda a: a * (1.0 - a)}


def parameter_layout(layer_sizes):
    """(offset of each layer's weights in the flat vector, total parameter count)."""
    offsets, total = [], 0
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        offsets.append(total)
        total += (fan_in + 1) * fan_out
    return offsets, total


def unpack(theta, layer_sizes):
    """Views of the flat vector: the list of weight matrices and the list of bias vectors."""
    offsets, _ = parameter_layout(layer_sizes)
    weights, biases = [], []
    for offset, fan_in, fan_out in zip(offsets, layer_sizes[:-1], layer_sizes[1:]):
        weights.append(theta[offset:offset + fan_in * fan_out].reshape(fan_in, fan_out))
        biases.append(theta[offset + fan_in * fan_out:offset + (fan_in + 1) * fan_out])
    return weights, biases


def weight_mask(layer_sizes):
    """True on the weights, False on the biases: where the l2 penalty acts."""
    _, total = parameter_layout(layer_sizes)
    mask = np.zeros(total, dtype=bool)
    for weights, _ in zip(*unpack(np.arange(total), layer_sizes)):
        mask[weights.ravel()] = True
    return mask


def forward(X, weights, biases, activation):
    """Every layer's values, the input's first; the last is the output's pre-activation z."""
    layers = [X]
    for index, (W, b) in enumerate(zip(weights, biases)):
        z = layers[-1] @ W + b
        hidden = index < len(weights) - 1
        layers.append(ACTIVATIONS[activation](z) if hidden else z)
    return layers


def output_loss(z, Y, output):
    """(per-row losses, ∂loss/∂z) of the output pre-activations z for targets Y (rows × K)."""
    if output == "identity":
        return 0.5 * np.sum((z - Y) ** 2, axis=1), z - Y
    if output == "logistic":
        losses = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))) - Y * z
        return losses.sum(axis=1), logistic(z) - Y
    shifted = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    losses = np.sum(Y * (log_norm - shifted), axis=1)
    return losses, np.exp(shifted - log_norm) - Y


def batch_gradient(X, Y, sample_weight, theta, rows, layer_sizes, activation, output,
                   mean=None):
    """(gradient, loss sum): the gradient of Σ s_i ℓ_i / len(rows) in the flat layout, and
    Σ s_i ℓ_i, over the rows X[rows] (less `mean`, if given: the centred parametrisation),
    in float64; no penalty."""
    theta = theta.astype(np.float64)
    weights, biases = unpack(theta, layer_sizes)
    inputs = X[rows].astype(np.float64)
    if mean is not None:
        inputs = inputs - mean.astype(np.float64)
    layers = forward(inputs, weights, biases, activation)
    s = sample_weight[rows].astype(np.float64)
    losses, dz = output_loss(layers[-1], Y[rows].astype(np.float64), output)
    delta = s[:, None] * dz / len(rows)
    gradient = np.zeros_like(theta)
    grad_weights, grad_biases = unpack(gradient, layer_sizes)
    for index in range(len(weights) - 1, -1, -1):
        grad_weights[index][:] = layers[index].T @ delta
        grad_biases[index][:] = delta.sum(axis=0)
        if index > 0:
            delta = (delta @ weights[index].T) * DERIVATIVES[activation](layers[index])
    return gradient, float(s @ losses)


def run_epoch(X, mean, Y, sample_weight, coef, state, scalars, order, layer_sizes, activation,
              output, config, t, rng_state):
    """Same arguments and result as gdfast._kernels.mlp.run_epoch, with the activation, the
    output and the optimizer named by their strings."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _epoch(X, mean, Y, sample_weight, coef, state, scalars, order, list(layer_sizes),
                      activation, output, config, t, rng_state)


def _epoch(X, mean, Y, sample_weight, coef, state, scalars, order, layer_sizes, activation, output,
           config, t, rng_state):
    n_samples = X.shape[0]
    if config["shuffle"] and config["batch_size"] < n_samples:
        rng_state = random_permutation(order, rng_state)
    mask = weight_mask(layer_sizes)
    weights = np.ones(n_samples) if config["unit_weights"] else sample_weight
    loss_sum, lr = 0.0, 0.0
    for start in range(0, n_samples, config["batch_size"]):
        rows = order[start:start + config["batch_size"]]
        gradient, batch_loss = batch_gradient(X, Y, weights, coef, rows, layer_sizes,
                                              activation, output,
                                              mean if config["center"] else None)
        if not np.isfinite(batch_loss):
            return STATUS_NONFINITE, loss_sum, t, rng_state, lr
        loss_sum += batch_loss
        # α·½‖W‖² per batch divided by its row count, as in the kernel.
        step_config = dict(config, l2=config["l2"] / len(rows))
        t, lr = optimizer_step(coef, gradient, state, scalars, mask, step_config, t)
    if not np.all(np.isfinite(coef)):
        return STATUS_NONFINITE, loss_sum, t, rng_state, lr
    return STATUS_OK, loss_sum, t, rng_state, lr
