"""Small networks and data for the network tests."""
import numpy as np

from gdfast.neural_network import _engine

OUTPUTS = ("identity", "logistic", "softmax")


def problem(output, n_samples=23, layer_sizes=(4, 5, 3, 3), seed=0, dtype=np.float64):
    """(X, Y, sample_weight, initial parameters, layer sizes) for an output layer kind: Y
    holds real targets, 0/1 (one logistic unit) or one-hot rows."""
    rng = np.random.default_rng(seed)
    sizes = list(layer_sizes)
    if output == "logistic":
        sizes[-1] = 1
    X = rng.normal(size=(n_samples, sizes[0]))
    if output == "softmax":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n_samples)]
    elif output == "logistic":
        Y = rng.integers(0, 2, (n_samples, 1)).astype(float)
    else:
        Y = rng.normal(size=(n_samples, sizes[-1]))
    weights = rng.uniform(0.5, 2.0, n_samples)
    _, n_params = _engine.parameter_layout(sizes)
    theta = rng.normal(size=n_params) * 0.5
    cast = lambda a: np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    return cast(X), cast(Y), cast(weights), cast(theta), sizes
