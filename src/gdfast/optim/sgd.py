"""Plain stochastic gradient descent."""
from gdfast.optim._base import Optimizer


class SGD(Optimizer):
    """θ ← θ − γ g."""

    name = "sgd"
    n_buffers = 0
    plain_gradient = True

    def __init__(self, weight_decay=0.0):
        self.weight_decay = weight_decay
