"""What every optimizer class declares, and the constraints their hyper-parameters share.

An optimizer is declared once, in its own module: its kernel name, its hyper-parameters with
their constraints (scikit-learn's `_parameter_constraints`), the kernel config field each one
fills, the neutral value of each field, its number of state buffers and their starting
values, its default learning rate and whether it belongs to the plain-gradient family. The
registry in gdfast.optim, the engine's neutral config and the state allocation read these.
"""
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import validate_parameter_constraints

from gdfast._constraints import NON_NEGATIVE


def merged_neutral_config(classes):
    """The kernel config fields that `classes` declare, each with its neutral value; a field
    that several of them fill must have one neutral value."""
    merged, declared_by = {}, {}
    for cls in classes:
        for field, value in cls.neutral_config.items():
            if field in merged and merged[field] != value:
                raise RuntimeError(f"{cls.__name__} declares the neutral {field}={value!r}, "
                                   f"{declared_by[field]} {merged[field]!r}; they must agree.")
            merged.setdefault(field, value)
            declared_by.setdefault(field, cls.__name__)
    return merged


class Optimizer(BaseEstimator):
    """Base of the optimizer classes.

    Class attributes a subclass declares:
    name: the kernel's name of the update rule (a key of the kernel's OPTIMIZERS);
    n_buffers: how many parameter-sized state buffers the rule keeps between steps;
    buffer_units: for each buffer, the power of the gradient's units it carries (1: a sum
        of gradients, 2: of squared gradients, 0: none, -2: of squared parameter steps):
        when a feature's scale changes by r (its gradients by r, its weight by 1/r), that
        feature's entries of the buffer change by r to this power;
    default_learning_rate: γ₀ of learning_rate='auto' (PyTorch's default for the rule);
    plain_gradient: steps along the raw gradient (sgd, momentum, nesterov), so that
        learning_rate='auto' takes the step 1/L from the data instead;
    _parameter_constraints: each hyper-parameter's allowed values;
    config_fields: the kernel config field each hyper-parameter fills;
    neutral_config: the value of each of those fields when a direct call of the engine
        leaves it out (the variants switched off); fields shared by several rules must
        agree, which the registry checks.
    """

    __module__ = "gdfast.optim"       # where users import it from, as messages name it
    name = None
    n_buffers = 0
    buffer_units = ()
    default_learning_rate = 0.01
    plain_gradient = False
    _parameter_constraints = {"weight_decay": [NON_NEGATIVE]}
    config_fields = {"weight_decay": "weight_decay"}
    neutral_config = {"weight_decay": 0.0}

    def _validate_params(self):
        """Raise InvalidParameterError naming the first hyper-parameter outside its
        constraints."""
        validate_parameter_constraints(self._parameter_constraints,
                                       self.get_params(deep=False),
                                       caller_name=f"the optimizer {type(self).__name__}")

    def kernel_config(self):
        """The hyper-parameters in the kernel's config names (floats, or bools for flags)."""
        config = {"optimizer": self.name}
        for parameter, field in self.config_fields.items():
            value = getattr(self, parameter)
            config[field] = bool(value) if isinstance(value, (bool, np.bool_)) else float(value)
        return config

    def gradient_gain(self):
        """How far one gradient moves θ over all the updates it enters, in units of the
        step γ·g it takes alone: 1 for a rule that uses each gradient once."""
        return 1.0

    def initial_buffer_values(self):
        """Starting value of each state buffer; zero unless the rule says otherwise."""
        return []
