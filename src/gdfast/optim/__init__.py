"""The optimizers, one class per update rule, each holding its hyper-parameters.

Pass one to an estimator, `GDRegressor(optimizer=Adam(beta2=0.99))`, or pass its name,
`optimizer="adam"`, for the standard defaults. The rules are PyTorch's (torch.optim), written
out in docs/mathematics.md, section "Optimizers"; the hyper-parameters keep PyTorch's names.
`weight_decay` is coupled (added to the gradient as λθ) for every optimizer but AdamW, where
it is decoupled (θ ← θ(1 − γλ) before the step). It never touches the intercept.

The classes are scikit-learn parameter holders: `get_params`, `set_params`, `clone` and
nested grid-search names such as `optimizer__beta1` work.

Each rule is declared once, in its own module (its hyper-parameters and their constraints,
kernel fields, neutral values, state buffers, default learning rate); the registry below is
built from those classes.
"""
from gdfast.optim._base import Optimizer, merged_neutral_config
from gdfast.optim.adadelta import AdaDelta
from gdfast.optim.adagrad import AdaGrad
from gdfast.optim.adam import Adam
from gdfast.optim.adamax import Adamax
from gdfast.optim.adamw import AdamW
from gdfast.optim.momentum import Momentum, Nesterov
from gdfast.optim.nadam import NAdam
from gdfast.optim.rmsprop import RMSprop
from gdfast.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "AdaDelta",
           "Adam", "AdamW", "NAdam", "Adamax", "get_optimizer", "OPTIMIZER_CLASSES"]

OPTIMIZER_CLASSES = {cls.name: cls for cls in
                     (SGD, Momentum, Nesterov, AdaGrad, RMSprop, AdaDelta, Adam, AdamW, NAdam,
                      Adamax)}

# The optimizer fields of the kernel config, each with its neutral value.
NEUTRAL_CONFIG = merged_neutral_config(OPTIMIZER_CLASSES.values())


def get_optimizer(optimizer):
    """An Optimizer instance from a name (its defaults) or an instance (returned as is)."""
    return OPTIMIZER_CLASSES[optimizer]() if isinstance(optimizer, str) else optimizer
