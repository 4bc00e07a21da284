"""The parameter constraints that estimators, optimizers and schedules share, in the terms of
scikit-learn's parameter validation (`_parameter_constraints`)."""
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

# Finite reals: the upper bound np.inf (rather than None) keeps infinity out.
NON_NEGATIVE = Interval(Real, 0, np.inf, closed="left")
POSITIVE = Interval(Real, 0, np.inf, closed="neither")
DECAY_RATE = Interval(Real, 0, 1, closed="left")       # a moving average's weight, in [0, 1)
POSITIVE_INTEGER = Interval(Integral, 1, None, closed="left")


def one_of(names):
    """StrOptions that lists `names` in messages in their given order (a set would list
    them in an order that changes from run to run)."""
    return StrOptions(dict.fromkeys(names).keys())
