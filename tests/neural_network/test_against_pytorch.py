"""25 full-batch steps from the same initial weights equal a PyTorch nn.Sequential trained
with the same optimizer (torch is only needed by this test)."""
import numpy as np
import pytest

from gdfast.neural_network import _engine
from gdfast.optim import OPTIMIZER_CLASSES, get_optimizer
from neural_network.network_problems import OUTPUTS, problem

torch = pytest.importorskip("torch")

TORCH_OPTIMIZERS = {
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "nesterov": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "adagrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr),
    "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
    "adadelta": lambda p, lr: torch.optim.Adadelta(p, lr=lr),
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
    "adamw": lambda p, lr: torch.optim.AdamW(p, lr=lr),      # weight_decay 1e-2, as ours
    "nadam": lambda p, lr: torch.optim.NAdam(p, lr=lr),
    "adamax": lambda p, lr: torch.optim.Adamax(p, lr=lr),
}
TORCH_ACTIVATIONS = {"identity": torch.nn.Identity, "relu": torch.nn.ReLU,
                     "tanh": torch.nn.Tanh, "logistic": torch.nn.Sigmoid}
STEPS, RATE = 25, 0.05


def torch_network(theta, sizes, activation):
    weights, biases = _engine.unpack(theta, sizes)
    layers = []
    for index, (W, b) in enumerate(zip(weights, biases)):
        linear = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(linear)
        if index < len(weights) - 1:
            layers.append(TORCH_ACTIVATIONS[activation]())
    return torch.nn.Sequential(*layers)


def torch_loss(z, Y, output):
    if output == "identity":
        return 0.5 * ((z - Y) ** 2).sum() / len(Y)
    if output == "logistic":
        return torch.nn.functional.binary_cross_entropy_with_logits(z, Y)
    return torch.nn.functional.cross_entropy(z, Y.argmax(dim=1))


def torch_parameters(network, sizes):
    """The trained parameters in gdfast's flat layout."""
    linears = [layer for layer in network if isinstance(layer, torch.nn.Linear)]
    return np.concatenate([np.concatenate([layer.weight.detach().numpy().T.ravel(),
                                           layer.bias.detach().numpy()])
                           for layer in linears])


def train_with_torch(X, Y, theta, sizes, activation, output, optimizer, alpha):
    # PyTorch keeps NAdam's running product of momentum factors in the default dtype: float64
    # here, as gdfast keeps it; in float32 it would be rounded to about 7 significant digits.
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _train_with_torch(X, Y, theta, sizes, activation, output, optimizer, alpha)
    finally:
        torch.set_default_dtype(default)


def _train_with_torch(X, Y, theta, sizes, activation, output, optimizer, alpha):
    network = torch_network(theta, sizes, activation)
    weights = [layer.weight for layer in network if isinstance(layer, torch.nn.Linear)]
    biases = [layer.bias for layer in network if isinstance(layer, torch.nn.Linear)]
    decay = get_optimizer(optimizer).weight_decay + alpha / len(X)
    groups = [{"params": weights, "weight_decay": decay}, {"params": biases, "weight_decay": 0.0}]
    step = TORCH_OPTIMIZERS[optimizer](groups, RATE)
    X, Y = torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(STEPS):
        step.zero_grad()
        torch_loss(network(X), Y, output).backward()
        step.step()
    return torch_parameters(network, sizes)


def train_with_gdfast(X, Y, theta, sizes, activation, output, optimizer, alpha):
    coef = theta.copy()
    chosen = get_optimizer(optimizer)
    state = np.zeros((chosen.n_buffers, coef.size))
    config = dict(chosen.kernel_config(), batch_size=len(X), shuffle=False,
                  learning_rate=RATE, l2=alpha, unit_weights=True)
    scalars, t = np.ones(4), 0
    for _ in range(STEPS):
        status, _, t, _, _ = _engine.run_epoch(
            "cython", X, Y, np.ones(len(X)), coef, state, scalars, np.arange(len(X)),
            sizes, activation, output, config, t, 1)
        assert status == 0
    return coef


@pytest.mark.parametrize("optimizer", list(OPTIMIZER_CLASSES))
@pytest.mark.parametrize("activation", _engine.ACTIVATION_NAMES)
@pytest.mark.parametrize("output", OUTPUTS)
def test_full_batch_steps_equal_pytorch(output, activation, optimizer):
    X, Y, _, theta, sizes = problem(output)
    ours = train_with_gdfast(X, Y, theta, sizes, activation, output, optimizer, 0.0)
    theirs = train_with_torch(X, Y, theta, sizes, activation, output, optimizer, 0.0)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    assert np.max(np.abs(ours - theta)) > 1e-3                  # the steps moved it


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "momentum"])
def test_the_l2_penalty_is_pytorchs_weight_decay_of_alpha_over_n(optimizer):
    X, Y, _, theta, sizes = problem("softmax")
    ours = train_with_gdfast(X, Y, theta, sizes, "tanh", "softmax", optimizer, 0.5)
    theirs = train_with_torch(X, Y, theta, sizes, "tanh", "softmax", optimizer, 0.5)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    without = train_with_gdfast(X, Y, theta, sizes, "tanh", "softmax", optimizer, 0.0)
    assert np.max(np.abs(ours - without)) > 1e-4               # the penalty mattered
