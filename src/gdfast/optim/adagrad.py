"""AdaGrad: per-coordinate steps scaled by the accumulated squared gradients."""
from gdfast._constraints import NON_NEGATIVE, POSITIVE
from gdfast.optim._base import Optimizer


class AdaGrad(Optimizer):
    """s ← s + g²; θ ← θ − γ/(1 + (t−1)·lr_decay) · g/(√s + eps)."""

    name = "adagrad"
    n_buffers = 1                           # the sum of squared gradients s
    buffer_units = (2,)
    default_learning_rate = 1e-2
    _parameter_constraints = {**Optimizer._parameter_constraints, "lr_decay": [NON_NEGATIVE],
                              "initial_accumulator_value": [NON_NEGATIVE], "eps": [POSITIVE]}
    config_fields = {**Optimizer.config_fields, "lr_decay": "lr_decay", "eps": "eps"}
    neutral_config = {**Optimizer.neutral_config, "lr_decay": 0.0, "eps": 1e-8}

    def __init__(self, lr_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, weight_decay=0.0):
        self.lr_decay = lr_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps
        self.weight_decay = weight_decay

    def initial_buffer_values(self):
        return [float(self.initial_accumulator_value)]
