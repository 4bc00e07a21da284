"""Heavy-ball momentum (PyTorch's SGD with momentum, no dampening)."""
from numbers import Real

from sklearn.utils._param_validation import Interval

from gdfast._constraints import DECAY_RATE
from gdfast.optim._base import Optimizer


class Momentum(Optimizer):
    """b ← μ b + g; θ ← θ − γ b."""

    name = "momentum"
    n_buffers = 1                           # the momentum buffer b
    buffer_units = (1,)
    plain_gradient = True
    _parameter_constraints = {**Optimizer._parameter_constraints, "momentum": [DECAY_RATE]}
    config_fields = {**Optimizer.config_fields, "momentum": "momentum"}
    neutral_config = {**Optimizer.neutral_config, "momentum": 0.0}

    def __init__(self, momentum=0.9, weight_decay=0.0):
        self.momentum = momentum
        self.weight_decay = weight_decay

    def gradient_gain(self):
        """A gradient stays in b, shrinking by μ an update: γ·g/(1 − μ) in all (for
        Nesterov too: γ·(g + μ·g/(1 − μ)))."""
        return 1.0 / (1.0 - self.momentum)


class Nesterov(Momentum):
    """b ← μ b + g; θ ← θ − γ (g + μ b) (PyTorch's SGD with nesterov=True, which needs μ > 0)."""

    name = "nesterov"
    _parameter_constraints = {**Momentum._parameter_constraints,
                              "momentum": [Interval(Real, 0, 1, closed="neither")]}
