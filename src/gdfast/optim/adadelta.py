"""AdaDelta: steps scaled by the ratio of two moving averages, of updates and of gradients."""
from numbers import Real

from sklearn.utils._param_validation import Interval

from gdfast._constraints import POSITIVE
from gdfast.optim._base import Optimizer


class AdaDelta(Optimizer):
    """v ← ρv + (1−ρ)g²; Δ = √(u+eps)/√(v+eps)·g; u ← ρu + (1−ρ)Δ²; θ ← θ − γΔ."""

    name = "adadelta"
    n_buffers = 2                           # the square averages v and u
    buffer_units = (2, -2)                  # v of g², u of the squared steps
    default_learning_rate = 1.0
    _parameter_constraints = {**Optimizer._parameter_constraints,
                              "rho": [Interval(Real, 0, 1, closed="both")], "eps": [POSITIVE]}
    config_fields = {**Optimizer.config_fields, "rho": "rho", "eps": "eps"}
    neutral_config = {**Optimizer.neutral_config, "rho": 0.9, "eps": 1e-8}

    def __init__(self, rho=0.9, eps=1e-6, weight_decay=0.0):
        self.rho = rho
        self.eps = eps
        self.weight_decay = weight_decay
