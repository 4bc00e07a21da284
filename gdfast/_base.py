"""What GDRegressor and GDClassifier share: hyper-parameter checks, the training state and
the epoch loop with its stopping rule. The estimators only encode targets and predict."""
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, validate_data

from gdfast import _engine
from gdfast._state import TrainingState

# The in-kernel shuffle draws row indices from 32 random bits.
MAX_ROWS = 2**32 - 1


def _check_choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; expected one of "
                         f"{', '.join(repr(a) for a in allowed)}.")


def _check_real(name, value, *, low, low_inclusive, allow_none=False):
    if value is None and allow_none:
        return
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and np.isfinite(value) and (value >= low if low_inclusive else value > low))
    if not ok:
        bound = f">= {low}" if low_inclusive else f"> {low}"
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name}={value!r} is out of range; expected a finite real number "
                         f"{bound}{extra}.")


def _check_int(name, value, *, low, allow_none=False):
    if value is None and allow_none:
        return
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low):
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name}={value!r} is out of range; expected an integer >= {low}{extra}.")


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} is not supported; expected True or False.")


class BaseGD(BaseEstimator):
    """Gradient descent on a linear model; subclasses set `_losses` and encode targets."""

    _losses = ()

    def __init__(self, loss, *, learning_rate, batch_size, max_iter, tol, n_iter_no_change,
                 shuffle, random_state, fit_intercept, engine):
        self.loss = loss
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.engine = engine

    # --- checks ---------------------------------------------------------------------------

    def _check_params(self):
        _check_choice("loss", self.loss, self._losses)
        _check_real("learning_rate", self.learning_rate, low=0, low_inclusive=False)
        _check_int("batch_size", self.batch_size, low=1, allow_none=True)
        _check_int("max_iter", self.max_iter, low=1)
        _check_real("tol", self.tol, low=0, low_inclusive=True, allow_none=True)
        _check_int("n_iter_no_change", self.n_iter_no_change, low=1)
        _check_bool("shuffle", self.shuffle)
        _check_bool("fit_intercept", self.fit_intercept)
        _check_choice("engine", self.engine, _engine.ENGINES)

    def _validate_fit_data(self, X, y, sample_weight, *, y_numeric):
        """Check X, y and sample_weight; X keeps float32 or becomes float64, C-ordered."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                             y_numeric=y_numeric, reset=True)
        if X.shape[0] > MAX_ROWS:
            raise ValueError(f"X has {X.shape[0]} rows; gdfast handles at most {MAX_ROWS}.")
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        return X, y, np.ascontiguousarray(sample_weight)

    def _validate_predict_data(self, X):
        return validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)

    # --- training -------------------------------------------------------------------------

    def _epoch_config(self, n_samples):
        return {
            "loss": self.loss,
            "optimizer": "sgd",
            "batch_size": n_samples if self.batch_size is None else min(self.batch_size, n_samples),
            "shuffle": bool(self.shuffle),
            "fit_intercept": bool(self.fit_intercept),
            "learning_rate": float(self.learning_rate),
        }

    def _fit_encoded(self, X, y, sample_weight):
        """Fit from scratch on targets already encoded for the loss (float, X's dtype)."""
        n_features = X.shape[1]
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        state = TrainingState.new(n_features + 1, _engine.state_rows("sgd"), X.dtype, seed)
        state.order = np.arange(X.shape[0], dtype=np.intp)
        state, loss_curve = self._train(X, y, sample_weight, state)
        self._state = state
        self.loss_curve_ = loss_curve
        self.n_iter_ = len(loss_curve)
        self.t_ = state.t
        self._set_fitted_coef(state.coef[:n_features], state.coef[n_features:])

    def _train(self, X, y, sample_weight, state):
        """Run epochs until max_iter or the stopping rule; return the new state and losses.

        Works on a copy of `state`, so a failure leaves the caller's state as it was.
        """
        state = state.copy()
        config = self._epoch_config(X.shape[0])
        n_samples = X.shape[0]
        loss_curve = []
        best_loss, epochs_without_improvement = np.inf, 0
        for epoch in range(1, self.max_iter + 1):
            status, loss_sum, state.t, state.rng_state = _engine.run_epoch(
                self.engine, X, y, sample_weight, state.coef, state.buffers, state.order,
                config, state.t, state.rng_state)
            if status != _engine.STATUS_OK:
                raise ValueError(
                    f"Floating-point under-/overflow occurred at epoch #{epoch}. Scaling input "
                    "data with StandardScaler or MinMaxScaler might help, or a smaller "
                    f"learning_rate (now {self.learning_rate}).")
            loss = loss_sum / n_samples
            loss_curve.append(loss)
            if self.tol is not None:
                epochs_without_improvement = (epochs_without_improvement + 1
                                              if loss > best_loss - self.tol else 0)
                best_loss = min(best_loss, loss)
                if epochs_without_improvement >= self.n_iter_no_change:
                    return state, loss_curve
        if self.tol is not None:
            warnings.warn(f"Maximum number of epochs ({self.max_iter}) reached before "
                          "convergence. Consider increasing max_iter to improve the fit.",
                          ConvergenceWarning)
        return state, loss_curve
