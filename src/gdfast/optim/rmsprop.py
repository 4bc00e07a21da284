"""RMSprop: steps scaled by a moving average of squared gradients."""
from gdfast._constraints import DECAY_RATE, POSITIVE
from gdfast.optim._base import Optimizer


class RMSprop(Optimizer):
    """v ← αv + (1−α)g²; θ ← θ − γ g/(√v + eps) (centered: v − ḡ²; with momentum: a buffer)."""

    name = "rmsprop"
    n_buffers = 3                           # mean square, mean gradient (centered), momentum
    buffer_units = (2, 1, 0)                # the momentum buffer holds g/√v, without units
    default_learning_rate = 1e-2
    _parameter_constraints = {**Optimizer._parameter_constraints, "alpha": [DECAY_RATE],
                              "eps": [POSITIVE], "centered": ["boolean"],
                              "momentum": [DECAY_RATE]}
    config_fields = {**Optimizer.config_fields, "alpha": "rmsprop_alpha", "eps": "eps",
                     "centered": "centered", "momentum": "momentum"}
    neutral_config = {**Optimizer.neutral_config, "rmsprop_alpha": 0.99, "eps": 1e-8,
                      "centered": False, "momentum": 0.0}

    def __init__(self, alpha=0.99, eps=1e-8, centered=False, momentum=0.0, weight_decay=0.0):
        self.alpha = alpha
        self.eps = eps
        self.centered = centered
        self.momentum = momentum
        self.weight_decay = weight_decay
