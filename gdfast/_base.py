"""What GDRegressor and GDClassifier share: hyper-parameter checks, the training state and
the epoch loop with its schedule and stopping rule. The estimators only encode targets and
predict."""
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, validate_data

from gdfast import _engine
from gdfast._state import TrainingState
from gdfast.optim import get_optimizer
from gdfast.schedules import Adaptive, get_schedule

# The in-kernel shuffle draws row indices from 32 random bits.
MAX_ROWS = 2**32 - 1
PENALTIES = (None, "l2")


def _check_choice(name, value, allowed):
    if value not in allowed or (value is not None and not isinstance(value, str)):
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

    def __init__(self, loss, *, optimizer, learning_rate, lr_schedule, warmup_steps, penalty,
                 alpha, batch_size, max_iter, tol, n_iter_no_change, shuffle, random_state,
                 fit_intercept, warm_start, engine):
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.penalty = penalty
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.engine = engine

    # --- checks ---------------------------------------------------------------------------

    def _check_params(self):
        """Validate every hyper-parameter; return the optimizer and schedule instances."""
        _check_choice("loss", self.loss, self._losses)
        if not (isinstance(self.learning_rate, str) and self.learning_rate == "auto"):
            _check_real("learning_rate", self.learning_rate, low=0, low_inclusive=False)
        _check_int("warmup_steps", self.warmup_steps, low=0)
        _check_choice("penalty", self.penalty, PENALTIES)
        _check_real("alpha", self.alpha, low=0, low_inclusive=True)
        _check_int("batch_size", self.batch_size, low=1, allow_none=True)
        _check_int("max_iter", self.max_iter, low=1)
        _check_real("tol", self.tol, low=0, low_inclusive=True, allow_none=True)
        _check_int("n_iter_no_change", self.n_iter_no_change, low=1)
        _check_bool("shuffle", self.shuffle)
        _check_bool("fit_intercept", self.fit_intercept)
        _check_bool("warm_start", self.warm_start)
        _check_choice("engine", self.engine, _engine.ENGINES)
        return get_optimizer(self.optimizer), get_schedule(self.lr_schedule, self.alpha)

    def _validate_fit_data(self, X, y, sample_weight, *, y_numeric, reset=True):
        """Check X, y and sample_weight; X keeps float32 or becomes float64, C-ordered."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                             y_numeric=y_numeric, reset=reset)
        if X.shape[0] > MAX_ROWS:
            raise ValueError(f"X has {X.shape[0]} rows; gdfast handles at most {MAX_ROWS}.")
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                             ensure_non_negative=True)
        return X, y, np.ascontiguousarray(sample_weight)

    def _validate_predict_data(self, X):
        return validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)

    # --- training -------------------------------------------------------------------------

    def _base_rate(self, optimizer):
        return optimizer.default_learning_rate if self.learning_rate == "auto" \
            else float(self.learning_rate)

    def _epoch_config(self, n_samples, optimizer, schedule, rate):
        config = {
            "loss": self.loss,
            "batch_size": n_samples if self.batch_size is None else min(self.batch_size, n_samples),
            "shuffle": bool(self.shuffle),
            "fit_intercept": bool(self.fit_intercept),
            "learning_rate": rate,
            "warmup_steps": float(self.warmup_steps),
            "l2": float(self.alpha) if self.penalty == "l2" else 0.0,
        }
        config.update(optimizer.kernel_config())
        config.update(schedule.kernel_config(self.alpha))
        return config

    def _penalty_value(self, coef, n_features):
        if self.penalty != "l2":
            return 0.0
        weights = coef.reshape(-1, n_features + 1)[:, :n_features]
        return 0.5 * self.alpha * float(np.sum(weights.astype(np.float64) ** 2))

    def _new_state(self, n_features, dtype, optimizer):
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        return TrainingState.new(n_features + 1, optimizer, dtype, seed, self._base_rate(optimizer))

    def _resume_state(self, n_features, dtype, optimizer):
        """The fitted state, with coef_ and intercept_ as they are now (a user may set them)."""
        state = self._state
        if state.coef.dtype != dtype:
            raise ValueError(f"this model was trained on {state.coef.dtype} data; continuing "
                             f"on {dtype} data is not supported. Convert X to {state.coef.dtype}.")
        if state.buffers.shape[0] != _engine.state_rows(optimizer.name):
            raise ValueError("the optimizer changed since the last fit; its state cannot carry "
                             "over. Refit from scratch (warm_start=False).")
        state = state.copy()
        state.coef[:n_features] = np.ravel(self.coef_)
        state.coef[n_features:] = self.intercept_
        return state

    def _fit_encoded(self, X, y, sample_weight, optimizer, schedule, *, partial):
        """Train on targets already encoded for the loss (float, X's dtype).

        fit: up to max_iter epochs with the stopping rule, from scratch unless warm_start.
        partial_fit: exactly one epoch, continuing the fitted state.
        """
        n_samples, n_features = X.shape
        resume = hasattr(self, "_state") and (partial or self.warm_start)
        state = (self._resume_state(n_features, X.dtype, optimizer) if resume
                 else self._new_state(n_features, X.dtype, optimizer))
        if partial or state.order.shape[0] != n_samples:
            state.order = np.arange(n_samples, dtype=np.intp)
        n_epochs = 1 if partial else self.max_iter
        state, losses, rates = self._train(X, y, sample_weight, state, optimizer, schedule,
                                           n_epochs, stopping=not partial)
        self._state = state
        if partial and resume:
            self.loss_curve_ = self.loss_curve_ + losses
            self.learning_rates_ = self.learning_rates_ + rates
            self.n_iter_ += 1
        else:
            self.loss_curve_, self.learning_rates_, self.n_iter_ = losses, rates, len(losses)
        self.t_ = state.t
        self._set_fitted_coef(state.coef[:n_features], state.coef[n_features:])

    def _train(self, X, y, sample_weight, state, optimizer, schedule, n_epochs, *, stopping):
        """Run epochs until n_epochs or the stopping rule; return (state, losses, rates).

        Works on a copy of `state`, so a failure leaves the caller's state as it was.
        """
        state = state.copy()
        n_samples, n_features = X.shape
        base_rate = self._base_rate(optimizer)
        adaptive = isinstance(schedule, Adaptive)
        losses, rates = [], []
        best_loss, epochs_without_improvement = np.inf, 0
        for _ in range(n_epochs):
            rate = (state.adaptive_rate if adaptive
                    else schedule.epoch_rate(base_rate, state.epoch, self.max_iter))
            config = self._epoch_config(n_samples, optimizer, schedule, rate)
            status, loss_sum, state.t, state.rng_state, last_rate = _engine.run_epoch(
                self.engine, X, y, sample_weight, state.coef, state.buffers, state.scalars,
                state.order, config, state.t, state.rng_state)
            state.epoch += 1
            if status != _engine.STATUS_OK:
                raise ValueError(
                    f"Floating-point under-/overflow occurred at epoch #{state.epoch}. Scaling "
                    "input data with StandardScaler or MinMaxScaler might help, or a smaller "
                    f"learning_rate (now {base_rate:g}).")
            loss = loss_sum / n_samples + self._penalty_value(state.coef, n_features)
            losses.append(loss)
            rates.append(last_rate)
            if not stopping or self.tol is None:
                continue
            epochs_without_improvement = (epochs_without_improvement + 1
                                          if loss > best_loss - self.tol else 0)
            best_loss = min(best_loss, loss)
            if epochs_without_improvement >= self.n_iter_no_change:
                if adaptive and state.adaptive_rate > schedule.min_rate:
                    state.adaptive_rate *= schedule.factor
                    epochs_without_improvement = 0
                else:
                    return state, losses, rates
        if stopping and self.tol is not None:
            warnings.warn(f"Maximum number of epochs ({self.max_iter}) reached before "
                          "convergence. Consider increasing max_iter to improve the fit.",
                          ConvergenceWarning)
        return state, losses, rates
