"""The optimizers, one class per update rule, each holding its hyper-parameters.

Pass one to an estimator, `GDRegressor(optimizer=Adam(beta2=0.99))`, or pass its name,
`optimizer="adam"`, for the standard defaults. The rules are PyTorch's (torch.optim), written
out in docs/mathematics.md, section "Optimizers"; the hyper-parameters keep PyTorch's names.
`weight_decay` is coupled (added to the gradient as λθ) for every optimizer but AdamW, where
it is decoupled (θ ← θ(1 − γλ) before the step). It never touches the intercept.

The classes are scikit-learn parameter holders: `get_params`, `set_params`, `clone` and
nested grid-search names such as `optimizer__beta1` work.
"""
import numbers

from sklearn.base import BaseEstimator

__all__ = ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "AdaDelta", "Adam", "AdamW",
           "NAdam", "Adamax", "get_optimizer", "OPTIMIZER_CLASSES"]


def _check(name, value, low, high, *, low_open=False, high_open=False):
    """Raise ValueError unless low <(=) value <(=) high, naming the parameter and the range."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value
    if ok:
        ok = (value > low if low_open else value >= low) and \
             (value < high if high_open else value <= high)
    if not ok:
        interval = (("(" if low_open else "[") + f"{low}, {high}" + (")" if high_open else "]"))
        raise ValueError(f"{name}={value!r} is out of range; expected a real number in "
                         f"{interval}.")


def _check_flag(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not supported; expected True or False.")


INF = float("inf")


class Optimizer(BaseEstimator):
    """Base of the optimizer classes: `name` (the kernel's), defaults, and checks."""

    name = None
    default_learning_rate = 0.01

    def validate(self, prefix="optimizer"):
        """Raise ValueError naming the first hyper-parameter out of its range."""
        _check(f"{prefix}.weight_decay", self.weight_decay, 0, INF)

    def kernel_config(self):
        """The hyper-parameters in the kernel's config names."""
        return {"optimizer": self.name, "weight_decay": float(self.weight_decay)}

    def initial_buffer_values(self):
        """Starting value of each state buffer; zero unless the rule says otherwise."""
        return []


class SGD(Optimizer):
    """θ ← θ − γ g."""

    name = "sgd"

    def __init__(self, weight_decay=0.0):
        self.weight_decay = weight_decay


class Momentum(Optimizer):
    """b ← μ b + g; θ ← θ − γ b (heavy ball, PyTorch's SGD with momentum, no dampening)."""

    name = "momentum"

    def __init__(self, momentum=0.9, weight_decay=0.0):
        self.momentum = momentum
        self.weight_decay = weight_decay

    def validate(self, prefix="optimizer"):
        super().validate(prefix)
        _check(f"{prefix}.momentum", self.momentum, 0, 1, high_open=True)

    def kernel_config(self):
        return dict(super().kernel_config(), momentum=float(self.momentum))


class Nesterov(Momentum):
    """b ← μ b + g; θ ← θ − γ (g + μ b) (PyTorch's SGD with nesterov=True)."""

    name = "nesterov"

    def validate(self, prefix="optimizer"):
        super().validate(prefix)
        _check(f"{prefix}.momentum", self.momentum, 0, 1, low_open=True, high_open=True)


class AdaGrad(Optimizer):
    """s ← s + g²; θ ← θ − γ/(1 + (t−1)·lr_decay) · g/(√s + eps)."""

    name = "adagrad"
    default_learning_rate = 0.01

    def __init__(self, lr_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, weight_decay=0.0):
        self.lr_decay = lr_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps
        self.weight_decay = weight_decay

    def validate(self, prefix="optimizer"):
        super().validate(prefix)
        _check(f"{prefix}.lr_decay", self.lr_decay, 0, INF)
        _check(f"{prefix}.initial_accumulator_value", self.initial_accumulator_value, 0, INF)
        _check(f"{prefix}.eps", self.eps, 0, INF, low_open=True)

    def kernel_config(self):
        return dict(super().kernel_config(), lr_decay=float(self.lr_decay), eps=float(self.eps))

    def initial_buffer_values(self):
        return [float(self.initial_accumulator_value)]   # the sum of squared gradients


class RMSprop(Optimizer):
    """v ← αv + (1−α)g²; θ ← θ − γ g/(√v + eps) (centered: v − ḡ²; with momentum: a buffer)."""

    name = "rmsprop"
    default_learning_rate = 0.01

    def __init__(self, alpha=0.99, eps=1e-8, centered=False, momentum=0.0, weight_decay=0.0):
        self.alpha = alpha
        self.eps = eps
        self.centered = centered
        self.momentum = momentum
        self.weight_decay = weight_decay

    def validate(self, prefix="optimizer"):
        super().validate(prefix)
        _check(f"{prefix}.alpha", self.alpha, 0, 1, high_open=True)
        _check(f"{prefix}.eps", self.eps, 0, INF, low_open=True)
        _check_flag(f"{prefix}.centered", self.centered)
        _check(f"{prefix}.momentum", self.momentum, 0, 1, high_open=True)

    def kernel_config(self):
        return dict(super().kernel_config(), rmsprop_alpha=float(self.alpha),
                    eps=float(self.eps), centered=bool(self.centered),
                    momentum=float(self.momentum))


class AdaDelta(Optimizer):
    """v ← ρv + (1−ρ)g²; Δ = √(u+eps)/√(v+eps)·g; u ← ρu + (1−ρ)Δ²; θ ← θ − γΔ."""

    name = "adadelta"
    default_learning_rate = 1.0

    def __init__(self, rho=0.9, eps=1e-6, weight_decay=0.0):
        self.rho = rho
        self.eps = eps
        self.weight_decay = weight_decay

    def validate(self, prefix="optimizer"):
        super().validate(prefix)
        _check(f"{prefix}.rho", self.rho, 0, 1)
        _check(f"{prefix}.eps", self.eps, 0, INF, low_open=True)

    def kernel_config(self):
        return dict(super().kernel_config(), rho=float(self.rho), eps=float(self.eps))


class _MovingMoments(Optimizer):
    """What Adam, NAdam and Adamax share: moment decay rates beta1, beta2 and eps."""

    def validate(self, prefix="optimizer"):
        super().validate(prefix)
        _check(f"{prefix}.beta1", self.beta1, 0, 1, high_open=True)
        _check(f"{prefix}.beta2", self.beta2, 0, 1, high_open=True)
        _check(f"{prefix}.eps", self.eps, 0, INF, low_open=True)

    def kernel_config(self):
        return dict(super().kernel_config(), beta1=float(self.beta1), beta2=float(self.beta2),
                    eps=float(self.eps))


class Adam(_MovingMoments):
    """m, v moving averages of g and g²; θ ← θ − γ m̂/(√v̂ + eps) with bias correction."""

    name = "adam"
    default_learning_rate = 1e-3

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False, weight_decay=0.0):
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.amsgrad = amsgrad
        self.weight_decay = weight_decay

    def validate(self, prefix="optimizer"):
        super().validate(prefix)
        _check_flag(f"{prefix}.amsgrad", self.amsgrad)

    def kernel_config(self):
        return dict(super().kernel_config(), amsgrad=bool(self.amsgrad))


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ(1 − γλ) before the Adam step."""

    name = "adamw"

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False, weight_decay=1e-2):
        super().__init__(beta1=beta1, beta2=beta2, eps=eps, amsgrad=amsgrad,
                         weight_decay=weight_decay)


class NAdam(_MovingMoments):
    """Adam with Nesterov momentum and the momentum schedule μ_t = β1(1 − ½·0.96^(tψ))."""

    name = "nadam"
    default_learning_rate = 2e-3

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3, weight_decay=0.0):
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.momentum_decay = momentum_decay
        self.weight_decay = weight_decay

    def validate(self, prefix="optimizer"):
        super().validate(prefix)
        _check(f"{prefix}.momentum_decay", self.momentum_decay, 0, INF)

    def kernel_config(self):
        return dict(super().kernel_config(), momentum_decay=float(self.momentum_decay))


class Adamax(_MovingMoments):
    """Adam with the infinity norm: u ← max(β2 u, |g| + eps); θ ← θ − γ/(1−β1^t) · m/u."""

    name = "adamax"
    default_learning_rate = 2e-3

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weight_decay = weight_decay


OPTIMIZER_CLASSES = {cls.name: cls for cls in
                     (SGD, Momentum, Nesterov, AdaGrad, RMSprop, AdaDelta, Adam, AdamW, NAdam,
                      Adamax)}


def get_optimizer(optimizer):
    """An Optimizer instance from a name or an instance (validated)."""
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZER_CLASSES:
            raise ValueError(f"optimizer={optimizer!r} is not supported; expected one of "
                             f"{', '.join(repr(n) for n in OPTIMIZER_CLASSES)} or an instance "
                             "of a gdfast.optim class.")
        optimizer = OPTIMIZER_CLASSES[optimizer]()
    elif not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer={optimizer!r} is not supported; expected a name such as "
                         "'adam' or an instance of a gdfast.optim class.")
    optimizer.validate()
    return optimizer
