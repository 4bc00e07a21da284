"""Adamax: Adam with the infinity norm."""
from gdfast.optim.adam import MovingMoments


class Adamax(MovingMoments):
    """u ← max(β2 u, |g| + eps); θ ← θ − γ/(1−β1^t) · m/u."""

    name = "adamax"
    n_buffers = 2                           # the moment m and the infinity norm u
    buffer_units = (1, 1)
    default_learning_rate = 2e-3

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, lazy=False):
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weight_decay = weight_decay
        self.lazy = lazy
