"""The parameter constraints that estimators, optimizers and schedules share, in the terms of
scikit-learn's parameter validation (`_parameter_constraints`)."""
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (Interval, StrOptions, make_constraint,
                                            validate_parameter_constraints)

# Finite reals: the upper bound np.inf (rather than None) keeps infinity out.
NON_NEGATIVE = Interval(Real, 0, np.inf, closed="left")
POSITIVE = Interval(Real, 0, np.inf, closed="neither")
DECAY_RATE = Interval(Real, 0, 1, closed="left")       # a moving average's weight, in [0, 1)
POSITIVE_INTEGER = Interval(Integral, 1, None, closed="left")


def one_of(names):
    """StrOptions that lists `names` in messages in their given order (a set would list
    them in an order that changes from run to run)."""
    return StrOptions(dict.fromkeys(names).keys())


# Each class's constraints as scikit-learn's constraint objects, made once: scikit-learn
# makes them again, and reads __init__'s signature for the parameter names, at every fit.
_COMPILED = {}


def validate_params(estimator):
    """What scikit-learn's BaseEstimator._validate_params checks, for an estimator with
    `_parameter_constraints`: a parameter is valid if one of its constraints holds. The
    usual case, every parameter valid, then costs one check per constraint; a parameter
    that fails gets scikit-learn's own message, from scikit-learn's own validation."""
    cls = type(estimator)
    key = (cls, id(cls._parameter_constraints))
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = [
            (name, [make_constraint(constraint)
                    for constraint in cls._parameter_constraints[name]])
            for name in cls._get_param_names()
            if name in cls._parameter_constraints
            and cls._parameter_constraints[name] != "no_validation"]
    for name, constraints in compiled:
        value = getattr(estimator, name)
        if not any(constraint.is_satisfied_by(value) for constraint in constraints):
            validate_parameter_constraints(cls._parameter_constraints,
                                           estimator.get_params(deep=False),
                                           caller_name=cls.__name__)
