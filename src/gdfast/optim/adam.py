"""Adam, and what the Adam family (Adam, AdamW, NAdam, Adamax) shares: moment decay rates
beta1, beta2 and eps."""
from gdfast._constraints import DECAY_RATE, POSITIVE
from gdfast.optim._base import Optimizer


class MovingMoments(Optimizer):
    """Base of the Adam family: moving averages of g (beta1) and of g² or |g| (beta2).

    lazy (default False) matters for sparse X only. False: every step updates every
    coordinate, as for the same X dense (O(n_features) per step). True: a step updates only
    the columns its rows hold, with their moments, and the intercepts (PyTorch's SparseAdam),
    O(non-zeros) per step; the other coordinates' moments do not decay meanwhile, so the
    model differs from the dense one."""

    _parameter_constraints = {**Optimizer._parameter_constraints, "beta1": [DECAY_RATE],
                              "beta2": [DECAY_RATE], "eps": [POSITIVE], "lazy": ["boolean"]}
    config_fields = {**Optimizer.config_fields, "beta1": "beta1", "beta2": "beta2",
                     "eps": "eps", "lazy": "lazy"}
    neutral_config = {**Optimizer.neutral_config, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                      "lazy": False}


class Adam(MovingMoments):
    """m, v moving averages of g and g²; θ ← θ − γ m̂/(√v̂ + eps) with bias correction."""

    name = "adam"
    n_buffers = 3                           # first moment, second moment, its maximum (amsgrad)
    buffer_units = (1, 2, 2)
    default_learning_rate = 1e-3
    _parameter_constraints = {**MovingMoments._parameter_constraints, "amsgrad": ["boolean"]}
    config_fields = {**MovingMoments.config_fields, "amsgrad": "amsgrad"}
    neutral_config = {**MovingMoments.neutral_config, "amsgrad": False}

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False, weight_decay=0.0,
                 lazy=False):
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.amsgrad = amsgrad
        self.weight_decay = weight_decay
        self.lazy = lazy
