"""NAdam: Adam with Nesterov momentum."""
from gdfast._constraints import NON_NEGATIVE
from gdfast.optim.adam import MovingMoments


class NAdam(MovingMoments):
    """Adam with Nesterov momentum and the momentum schedule μ_t = β1(1 − ½·0.96^(tψ))."""

    name = "nadam"
    n_buffers = 2                           # first and second moments
    buffer_units = (1, 2)
    default_learning_rate = 2e-3
    _parameter_constraints = {**MovingMoments._parameter_constraints,
                              "momentum_decay": [NON_NEGATIVE]}
    config_fields = {**MovingMoments.config_fields, "momentum_decay": "momentum_decay"}
    neutral_config = {**MovingMoments.neutral_config, "momentum_decay": 4e-3}

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3, weight_decay=0.0,
                 lazy=False):
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.momentum_decay = momentum_decay
        self.weight_decay = weight_decay
        self.lazy = lazy
