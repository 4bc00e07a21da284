"""What GDRegressor and GDClassifier share: hyper-parameter checks, the training state and
the epoch loop with its schedule and stopping rule. The estimators only encode targets and
predict."""
import functools
import os
import re
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError, Options
from sklearn.utils.validation import _check_sample_weight, _is_fitted, validate_data

from gdfast import _layout
from gdfast._constraints import (NON_NEGATIVE, POSITIVE, POSITIVE_INTEGER, one_of,
                                 validate_params)
from gdfast.linear_model import _engine, _optimality, _passes, _sparse, _statistics
from gdfast.linear_model._state import TrainingState
from gdfast.optim import OPTIMIZER_CLASSES, Optimizer, get_optimizer
from gdfast.optim.schedules import SCHEDULE_CLASSES, Adaptive, Schedule, get_schedule

# The in-kernel shuffle draws row indices from 32 random bits.
MAX_ROWS = 2**32 - 1
# The plain-gradient family (Optimizer.plain_gradient) takes, with learning_rate="auto", the
# step 1/L for the curvature bound L = c · max s·||(x, 1)||² over rows with weight s
# (scikit-learn's SAG uses the same bound), or for a full batch c · mean s·||(x, 1)||²; c
# bounds the loss's second derivative (the non-smooth losses take the bound of their
# smoothed versions).
CURVATURE = {"squared_error": 2.0, "huber": 2.0, "epsilon_insensitive": 1.0, "log_loss": 0.25,
             "hinge": 1.0, "modified_huber": 2.0}
# ... of which these have kinks: their c bounds a smoothed version, not the loss itself.
NON_SMOOTH_LOSSES = ("epsilon_insensitive", "hinge")


# A fit whose objective ends this many times above its first epoch's, rising, diverges.
DIVERGED_FACTOR = 10.0

# A model whose objective is at least this share of it above the optimum (and more than tol)
# is short of it where the stopping rule stops (_warn_if_short_of_optimum).
SHORT_OF_OPTIMUM_RELATIVE = 1e-4


def _without_data(error):
    """The same error with any printed array left out: scikit-learn's messages for 1-D or
    complex input quote the data, which for real data is a wall of numbers."""
    text = re.sub(r"\s*array=\[.*?\]\.?", "", str(error), flags=re.S)
    lines = [line.strip() for line in text.split("\n")
             if line.strip() and not line.lstrip().startswith("[")]
    text = " ".join(lines).replace(" instead:", " instead.")
    return type(error)(text if len(text) <= 600 else text[:600] + " ...")


# Keywords of scikit-learn's SGD estimators that gdfast spells differently, with what to
# write instead.
SKLEARN_KEYWORDS = {
    "eta0": "gdfast calls the base step learning_rate (a float, or 'auto') and the schedule "
            "lr_schedule; write learning_rate=0.01 instead of eta0=0.01",
    "power_t": "the 'invscaling' schedule holds its exponent, and gdfast calls the schedule "
               "lr_schedule and the base step learning_rate; write "
               "lr_schedule=InvScaling(power_t=0.25) (from gdfast.schedules)",
}
# Parameters that take a name or an instance, the classes the names stand for, and an
# example instance for messages.
NAMED_OBJECTS = {"optimizer": (OPTIMIZER_CLASSES, "Adam()"),
                 "lr_schedule": (SCHEDULE_CLASSES, "StepLR()")}


def shuffle_seed(random_state):
    """The seed of the kernel's shuffle that random_state stands for: the first draw below
    2**31 − 1 of its RandomState. An integer's is drawn once and kept: making a RandomState
    costs more than every other check of a fit, and cross-validation fits again and again
    with the same integer."""
    if isinstance(random_state, Integral) and not isinstance(random_state, (bool, np.bool_)):
        return _integer_seed(int(random_state))
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@functools.lru_cache(maxsize=256)
def _integer_seed(random_state):
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _all_zero(sample_weight):
    """Whether the sample weights given are all zero (checked before scikit-learn's own
    checks, whose message for this depends on its version)."""
    if sample_weight is None:
        return False
    weights = np.asarray(sample_weight)
    return weights.dtype.kind in "biuf" and weights.size > 0 and not np.any(weights)


class BaseGD(BaseEstimator):
    """Gradient descent on a linear model; subclasses set `_losses` and encode targets."""

    _losses = ()
    # Each parameter's allowed values, checked by scikit-learn's fit context (subclasses add
    # theirs); the rules that relate two parameters are in _validate_params.
    _parameter_constraints = {
        "optimizer": [one_of(OPTIMIZER_CLASSES), Optimizer],
        "learning_rate": [POSITIVE, one_of(["auto"])],
        "lr_schedule": [one_of(SCHEDULE_CLASSES), Schedule],
        "warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "penalty": [one_of(["l2", "l1", "elasticnet"]), None],
        "alpha": [NON_NEGATIVE],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [POSITIVE_INTEGER, None],
        "max_iter": [POSITIVE_INTEGER],
        "tol": [NON_NEGATIVE, None],
        "n_iter_no_change": [POSITIVE_INTEGER],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "fit_intercept": ["boolean"],
        "center": ["boolean"],
        "scale": ["boolean", one_of(["maxabs", "auto"])],
        "warm_start": ["boolean"],
        "average": ["boolean", POSITIVE_INTEGER, one_of(["auto"])],
        "n_jobs": [POSITIVE_INTEGER, Options(Integral, {-1}), None],
        "verbose": ["verbose"],
        "engine": [one_of(_engine.ENGINES)],
    }

    def __new__(cls, *args, **kwargs):
        # Python calls __new__ with the keywords before __init__ rejects an unknown one; the
        # hint goes here because scikit-learn needs __init__ to list exactly the parameters.
        for keyword in kwargs:
            if keyword in SKLEARN_KEYWORDS:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument "
                                f"{keyword!r}: {SKLEARN_KEYWORDS[keyword]}.")
        return super().__new__(cls)

    def __init__(self, loss, *, optimizer, learning_rate, lr_schedule, warmup_steps, penalty,
                 alpha, l1_ratio, batch_size, max_iter, tol, n_iter_no_change, early_stopping,
                 validation_fraction, shuffle, random_state, fit_intercept, center, scale,
                 warm_start, average, n_jobs, verbose, engine):
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.center = center
        self.scale = scale
        self.warm_start = warm_start
        self.average = average
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.engine = engine

    # --- checks ---------------------------------------------------------------------------

    def _validate_params(self):
        """Check every parameter against _parameter_constraints (scikit-learn's messages),
        the optimizer's and the schedule's against theirs, and the rules relating two."""
        if isinstance(self.learning_rate, str) and self.learning_rate in SCHEDULE_CLASSES:
            raise InvalidParameterError(
                f"learning_rate={self.learning_rate!r} names a schedule: gdfast calls the "
                "schedule lr_schedule and the base step learning_rate (scikit-learn's eta0). "
                f"Write lr_schedule={self.learning_rate!r} and learning_rate=0.01 (a float) "
                "or 'auto'.")
        validate_params(self)
        if isinstance(self.optimizer, Optimizer):
            self.optimizer._validate_params()
        get_schedule(self.lr_schedule).validate(self.alpha)

    def _options(self, *, partial):
        """The optimizer and schedule instances of this fit. scikit-learn's fit context
        validates the parameters except on a partial_fit after the first; set_params may
        change them between those calls, so they are validated here then."""
        if partial and _is_fitted(self):
            self._validate_params()
        return get_optimizer(self.optimizer), get_schedule(self.lr_schedule)

    def set_params(self, **params):
        """scikit-learn's set_params; a nested name such as optimizer__beta1 also works when
        the optimizer (or lr_schedule) is given by name: the name becomes an instance of its
        class with its defaults, whose parameter is then set."""
        for keyword in params:
            if keyword in SKLEARN_KEYWORDS:
                raise ValueError(f"Invalid parameter {keyword!r} for {type(self).__name__}: "
                                 f"{SKLEARN_KEYWORDS[keyword]}.")
        for parameter, (classes, example) in NAMED_OBJECTS.items():
            nested = [key for key in params if key.startswith(parameter + "__")]
            value = params.get(parameter, getattr(self, parameter))
            if not nested or not isinstance(value, str):
                continue
            if value not in classes:
                raise ValueError(f"{nested[0]} needs {parameter} to be an instance such as "
                                 f"{parameter}={example}, or one of the names "
                                 f"{', '.join(repr(name) for name in classes)}; got "
                                 f"{parameter}={value!r}.")
            if parameter in params:
                params[parameter] = classes[value]()
            else:
                setattr(self, parameter, classes[value]())
        return super().set_params(**params)

    def _validate_fit_data(self, X, y, sample_weight, *, y_numeric, reset=None):
        """Check X, y and sample_weight; X keeps float32 or becomes float64, C-ordered, or
        for sparse X, CSR (other formats are converted, a copy; a CSR X of either dtype is
        used as it is). X's values are checked to be finite later, by the fit's one pass
        over X (see _fit_encoded): scikit-learn's check would read X once more. Without
        sample_weight, the weights stay None: every row weighs 1, and the fit's setup reads
        no array of weights. reset None (fit): the features are learnt anew, unless
        warm_start continues a fitted model, whose features X must then have."""
        if reset is None:
            reset = not (self.warm_start and hasattr(self, "_state"))
        if _all_zero(sample_weight):
            raise ValueError("sample_weight is zero for every row: at least one row needs a "
                             "positive weight.")
        if self._passes_as_given(X, y, reset=reset):
            self.n_features_in_ = X.shape[1]
            if reset and hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            try:
                X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                                     accept_sparse="csr", y_numeric=y_numeric, reset=reset,
                                     ensure_all_finite=False)
            except (ValueError, TypeError) as error:
                raise _without_data(error) from None
        if _sparse.is_sparse(X):
            _sparse.check_csr(X)
        if X.shape[0] > MAX_ROWS:
            raise ValueError(f"X has {X.shape[0]} rows; gdfast handles at most {MAX_ROWS}.")
        if sample_weight is None:
            return X, y, None
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                             ensure_non_negative=True)
        return X, y, np.ascontiguousarray(sample_weight)

    def _passes_as_given(self, X, y, *, reset):
        """Whether X and y are arrays that scikit-learn's validate_data (above) would return
        as they are, recording only X's feature count: X a 2-D C-ordered float64 or float32
        array with rows and columns, y a finite 1-D numeric array with one value per row, no
        feature names given now or, continuing a fit, recorded before, and the same feature
        count as before. Its checks read y twice and cost more than the rest of a fit's
        checks together; every other input goes through them, and gets their messages."""
        if not (type(X) is np.ndarray and type(y) is np.ndarray and X.ndim == 2
                and y.ndim == 1 and X.shape[0] == y.shape[0] and X.shape[0] > 0
                and X.shape[1] > 0 and X.dtype in (np.float64, np.float32)
                and X.flags.c_contiguous and y.dtype.kind in "biuf" and y.dtype.isnative):
            return False
        if not reset and (getattr(self, "n_features_in_", None) != X.shape[1]
                          or hasattr(self, "feature_names_in_")):
            return False
        if y.dtype.kind == "f":
            # A NaN or infinity makes the sum one (as may an overflow, which the full check
            # tells apart).
            with np.errstate(over="ignore", invalid="ignore"):
                return bool(np.isfinite(np.sum(y)))
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def __sklearn_is_fitted__(self):
        """Fitted once a fit has finished an epoch: a fit that failed or was interrupted
        before that leaves the estimator as it was, whatever data checks it got through."""
        return hasattr(self, "coef_")

    def _validate_predict_data(self, X):
        try:
            X = validate_data(self, X, dtype=[np.float64, np.float32], order="C",
                              accept_sparse="csr", reset=False)
        except (ValueError, TypeError) as error:
            raise _without_data(error) from None
        if _sparse.is_sparse(X):
            _sparse.check_csr(X)
        return X

    # --- training -------------------------------------------------------------------------

    def _needs_row_norms(self, optimizer):
        """Whether the step comes from the data's row norms (see CURVATURE)."""
        return self.learning_rate == "auto" and optimizer.plain_gradient

    def _base_rate(self, optimizer, X, sample_weight, statistics):
        """γ₀: the user's, or with 'auto' the optimizer's default (adaptive rules) or the step
        1/L from the data (plain-gradient family); a state keeps the one it started with.
        A full batch needs only the total of the row norms, which the features' moments
        give; a smaller batch also needs the largest one."""
        if not self._needs_row_norms(optimizer):
            return self._rate_from_row_norms(optimizer, 0.0, 0.0, X.shape[0])
        total = statistics.norm_total(self.fit_intercept)
        largest = (0.0 if self._full_batch(X.shape[0])
                   else statistics.largest_norm(X, sample_weight, self.fit_intercept))
        return self._rate_from_row_norms(optimizer, total, largest, X.shape[0])

    def _row_norm_sums(self, X, sample_weight, mean, inv_scale=None):
        """(Σ s·‖(z, 1)‖², max s·‖(z, 1)‖²) over the rows of X, z = (x − mean)∘inv_scale the
        features the model sees (the 1 only with an intercept): what the automatic step
        needs from the data. Sums over disjoint sets of rows add up, their maxima take the
        largest."""
        if inv_scale is None:
            inv_scale = np.ones(X.shape[1])
        return _statistics.row_norm_sums(X, sample_weight, mean, inv_scale, self.fit_intercept)

    def _rate_from_row_norms(self, optimizer, total, largest, n_samples):
        """γ₀ from _row_norm_sums' (total, largest) over n_samples rows."""
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        if not optimizer.plain_gradient:
            return optimizer.default_learning_rate
        curvature = self._curvature()
        # A full batch's gradient has the Hessian's largest eigenvalue as Lipschitz constant,
        # at most its trace: the weighted mean row norm; heavy-ball and Nesterov momentum are
        # stable at 1/L there. A smaller batch can be dominated by its most curved row, so it
        # takes the largest one, and a rule that carries each gradient on into later updates
        # (momentum) takes 1/L in all, not per update: one row's gradient must not move θ
        # further than plain SGD's step would.
        if self._full_batch(n_samples):
            largest, gain = total / n_samples, 1.0
        else:
            gain = optimizer.gradient_gain()
        lipschitz = curvature * largest + self._penalty_strengths()[0]
        return 1.0 / (gain * lipschitz) if lipschitz > 0 else optimizer.default_learning_rate

    def _curvature(self):
        """c: a bound on the loss's second derivative in the scores (see CURVATURE)."""
        return CURVATURE[self.loss] * (2.0 if self._n_outputs() > 1 and self.loss == "log_loss"
                                       else 1.0)

    def _full_batch(self, n_samples):
        """Whether each step of an epoch over n_samples rows takes all of them."""
        return self.batch_size is None or self.batch_size >= n_samples

    def _n_outputs(self):
        return 1

    # Set by each fit: sparse X is trained uncentred (see `center` in the docstrings).
    _trains_sparse = False

    def _centred(self):
        return bool(self.center and self.fit_intercept and not self._trains_sparse)

    def _scaled(self):
        """How the model scales its features: False, True (standard deviations) or
        "maxabs"; 'auto' follows center, by the largest values on sparse X."""
        if self.scale == "auto":
            return ("maxabs" if self._trains_sparse else True) if self.center else False
        return self.scale if self.scale == "maxabs" else bool(self.scale)

    def _initial_intercepts(self, y, sample_weight):
        """The best constant model for the encoded targets (one value per output)."""
        raise NotImplementedError

    def _multiclass(self):
        return "none"

    def _average_start(self, n_samples=None):
        """The update after which the iterates are averaged (average=True: 0), or None
        without averaging. 'auto' averages the stochastic steps of plain SGD at its
        automatic rate (batches smaller than the n_samples rows, learning_rate='auto', the
        default parametrisation center) from the middle of the first epoch on: a constant
        step leaves noise that the average cancels, and the way in from the starting point
        would only weigh on it. A full batch's steps are exact and the
        adaptive rules shrink their own steps, so their averages would only lag behind the
        iterates; center=False keeps the textbook iteration."""
        if self.average == "auto":
            n_rows = n_samples or 0
            stochastic = not self._full_batch(n_rows) if n_rows else self.batch_size is not None
            plain_sgd = get_optimizer(self.optimizer).name == "sgd"
            if not (stochastic and plain_sgd and self.learning_rate == "auto"
                    and self.center):
                return None
            return -(-n_rows // (self.batch_size or n_rows or 1)) // 2   # half an epoch's updates
        if isinstance(self.average, (bool, np.bool_)):
            return 0 if self.average else None
        return int(self.average)

    def _penalty_strengths(self):
        """(l2, l1) strengths: objective = mean loss + l2·½‖w‖² + l1·‖w‖₁."""
        if self.penalty == "l2":
            return float(self.alpha), 0.0
        if self.penalty == "l1":
            return 0.0, float(self.alpha)
        if self.penalty == "elasticnet":
            return float(self.alpha) * (1 - self.l1_ratio), float(self.alpha) * self.l1_ratio
        return 0.0, 0.0

    def _n_threads(self):
        """n_jobs as a thread count: None and -1 mean every core this process may use."""
        if self.n_jobs not in (None, -1):
            return int(self.n_jobs)
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:              # not on Linux
            return max(1, os.cpu_count() or 1)

    def _epoch_config(self, n_samples, optimizer, schedule, rate):
        l2, l1 = self._penalty_strengths()
        config = {
            "loss": self.loss,
            "multiclass": self._multiclass(),
            "epsilon": float(getattr(self, "epsilon", 0.1)),
            "batch_size": n_samples if self.batch_size is None else min(self.batch_size, n_samples),
            "n_threads": self._n_threads(),
            "shuffle": bool(self.shuffle),
            "fit_intercept": bool(self.fit_intercept),
            "center": self._centred(),
            "scale": bool(self._scaled()),
            "learning_rate": rate,
            "warmup_steps": float(self.warmup_steps),
            "l2": l2,
            "l1": l1,
        }
        config.update(optimizer.kernel_config())
        config.update(schedule.kernel_config(self.alpha))
        return config

    def _penalty_value(self, coef, n_features):
        l2, l1 = self._penalty_strengths()
        if l2 == 0 and l1 == 0:
            return 0.0
        # In float64, without a temporary of the weights' size for the squares (on sparse X
        # a weight vector is n_features values): a dot product per output.
        rows = _layout.by_output(coef, n_features)[:, :n_features]
        if rows.dtype != np.float64:
            rows = rows.astype(np.float64)
        squares = sum(float(np.dot(row, row)) for row in rows) if l2 != 0 else 0.0
        absolute = float(np.sum(np.abs(rows))) if l1 != 0 else 0.0
        return 0.5 * l2 * squares + l1 * absolute

    def _new_state(self, X, y, sample_weight, optimizer, *, stream=False):
        """Weights at zero; with center, the feature means and the best constant intercepts,
        else the textbook start, everything at zero; with scale, the features' scales. One
        pass over X gives the means and scales, checks that X is finite and gives what the
        automatic step needs. stream (partial_fit): the state also keeps the rows' moments,
        which later chunks update (_follow_stream)."""
        seed = shuffle_seed(self.random_state)
        center, scale = self._centred(), self._scaled()
        # Before the pass over X: y is still in the near caches from its checks.
        intercepts = (self._initial_intercepts(y, sample_weight) if center
                      else np.zeros(self._n_outputs()))
        statistics = _statistics.describe_features(
            X, sample_weight, center=center, scale=scale, n_threads=self._n_threads(),
            distances=self._needs_row_norms(optimizer) and not self._full_batch(X.shape[0]))
        moments = statistics.moments() if stream and (center or scale) else None
        return TrainingState.new(statistics.mean, intercepts, optimizer, seed,
                                 self._base_rate(optimizer, X, sample_weight, statistics),
                                 inv_scale=statistics.inv_scale, moments=moments,
                                 average_start=self._average_start(X.shape[0]))

    def _follow_stream(self, state, X, sample_weight, optimizer):
        """A stream's next chunk: the statistics become those of every row so far (the
        chunk's moments combined with the state's), and the state moves to them with the
        model unchanged (TrainingState.restandardise)."""
        if state.moments is None:
            return
        if (state.moments.max_abs is not None) != (self._scaled() == "maxabs"):
            raise ValueError(
                "scale='auto' scales sparse X by the features' largest values and dense X by "
                "their standard deviations; this stream changed from one to the other. Pass "
                "one kind of X throughout, or set scale=True or scale='maxabs' explicitly.")
        state.moments = _statistics.combined_moments(
            state.moments, _statistics.weighted_moments(
                X, sample_weight, n_threads=self._n_threads(),
                max_abs=self._scaled() == "maxabs"))
        mean, inv_scale = _statistics.statistics_from_moments(
            state.moments, state.coef.dtype, center=self._centred(), scale=self._scaled())
        state.restandardise(mean, inv_scale, optimizer.buffer_units)

    def _resume_state(self, n_samples, n_features, dtype, optimizer):
        """The fitted state, with coef_ and intercept_ as they are now (a user may set them).
        When they are the averaged model the fit left, the state goes on from its last
        iterate and running average; coefficients set by hand are the iterate to go on from,
        and the average starts afresh."""
        state = self._state
        if self._trains_sparse and np.any(state.mean):
            raise ValueError("this model was trained centred on dense X; it cannot continue on "
                             "sparse X, which is trained uncentred. Fit on sparse X from the "
                             "start, or give dense X (or set center=False from the start).")
        if state.coef.dtype != dtype:
            raise ValueError(f"this model was trained on {state.coef.dtype} data; continuing "
                             f"on {dtype} data is not supported. Convert X to {state.coef.dtype}.")
        if state.buffers.shape[0] != _engine.state_rows(optimizer.name):
            raise ValueError("the optimizer changed since the last fit; its state cannot carry "
                             "over. Refit from scratch (warm_start=False).")
        state = state.copy()
        n_outputs = _layout.n_outputs(state.coef.shape[0], n_features)
        weights = np.reshape(self.coef_, (n_outputs, n_features))
        fitted_weights, fitted_intercepts = state.model_coef()
        # Only a model set by the user is stored again: w∘s / s need not give w back
        # exactly, and continuing a run must take the same steps as not stopping it.
        if not (np.array_equal(weights, fitted_weights)
                and np.array_equal(self.intercept_, fitted_intercepts)):
            if state.n_averaged > 0:
                state.average_start = state.t           # set by hand: average afresh
            state.set_model_coef(weights, self.intercept_)
        if not (self.average == "auto" and state.average is not None):
            state.set_averaging(self._average_start(n_samples))   # 'auto' keeps its start
        return state

    def _fit_encoded(self, X, y, sample_weight, optimizer, schedule, *, partial, y_original=None):
        """Train on targets already encoded for the loss (float, X's dtype).

        fit: up to max_iter epochs with the stopping rule, from scratch unless warm_start.
        partial_fit: exactly one epoch, continuing the fitted state.
        y_original: the targets as given, for the validation score of early stopping.
        """
        n_features = X.shape[1]
        self._trains_sparse = _sparse.is_sparse(X)
        resume = hasattr(self, "_state") and (partial or self.warm_start)
        split = self.early_stopping and not partial
        follows_stream = resume and partial and self._state.moments is not None
        if (resume and not follows_stream) or split:
            # A new state's pass over X checks it, and so does a stream's pass for the
            # chunk's moments (_follow_stream); another resumed state takes no pass, and a
            # split's pass reads only the training rows.
            _statistics.check_finite(X)
        validation = None
        if split:
            if sample_weight is None:
                sample_weight = np.ones(X.shape[0], dtype=X.dtype)
            X, X_val, y, _, sample_weight, _, _, y_val = self._split_validation(
                X, y, sample_weight, y_original)
            validation = (X_val, y_val)
        normalised = self._normalise_weights(sample_weight)
        # Returned as given only if None or all ones.
        unit_weights = normalised is sample_weight
        sample_weight = normalised
        state = (self._resume_state(X.shape[0], n_features, X.dtype, optimizer) if resume
                 else self._new_state(X, y, sample_weight, optimizer, stream=partial))
        if partial and resume:
            self._follow_stream(state, X, sample_weight, optimizer)
        n_epochs = 1 if partial else self.max_iter
        passes = self._passes_over(X, y, sample_weight)
        state, history, interrupt = self._train(
            self._in_memory_epoch(X, y, sample_weight, unit_weights), X.shape, state,
            optimizer, schedule, n_epochs, stopping=not partial, validation=validation,
            model_objective=self._model_objective(passes),
            optimality_gap=self._optimality_gap(passes))
        self._record_fit(state, history, partial=partial, resume=resume,
                         validation=validation is not None)
        if interrupt is not None:
            raise interrupt     # Ctrl-C: the model of the last finished epoch is kept

    def _record_fit(self, state, history, *, partial, resume, validation):
        """Set the fitted state and attributes from a training run's state and history
        (a partial_fit that continues a state appends to the curves)."""
        self._state = state
        if partial and resume:
            self.loss_curve_ = self.loss_curve_ + history["loss"]
            self.learning_rates_ = self.learning_rates_ + history["rate"]
            self.n_iter_ += 1
        else:
            self.loss_curve_, self.learning_rates_ = history["loss"], history["rate"]
            self.n_iter_ = len(history["loss"])
        self.validation_scores_ = history["validation"] if validation else None
        self.best_validation_score_ = max(history["validation"]) if validation else None
        self.best_loss_ = None if validation else min(self.loss_curve_)
        self.t_ = state.t
        self._set_fitted_coef(*state.model_coef())

    def _in_memory_epoch(self, X, y, sample_weight, unit_weights):
        """The epoch _train runs on in-memory data: the kernel's epoch loop over X's rows.
        unit_weights: every weight is 1, so the kernel need not read them (sample_weight
        None: no array of weights at all)."""
        # The rows' visiting order: reset by the kernel each shuffled epoch from the carried
        # generator state, so it is a working buffer of this fit, never part of the model.
        order = np.arange(X.shape[0], dtype=np.intp)
        if _sparse.is_sparse(X) and self.engine == "cython":
            X = _engine.prepare_sparse(X)   # the arrays the kernel reads, checked once

        def epoch(state, config):
            config["unit_weights"] = unit_weights
            status, loss_sum, state.t, state.rng_state, last_rate = _engine.run_epoch(
                self.engine, X, y, sample_weight, state.coef, state.buffers, state.scalars,
                order, config, state.t, state.rng_state, mean=state.mean,
                inv_scale=state.inv_scale, average=state.average,
                average_start=state.average_start)
            return status, loss_sum, last_rate
        return epoch

    def _passes_over(self, X, y, sample_weight):
        """passes(state): blocked passes over the training rows (_passes) in the
        parametrisation of state's model. y as the kernel takes it."""
        config = _passes.objective_config(self)

        def passes(state):
            return _passes.LinearModelPasses(X, y, sample_weight, state.mean, state.inv_scale,
                                             self.fit_intercept, config)
        return passes

    def _model_objective(self, passes):
        """objective(state): the training objective F of state's model, the one the
        estimator reports (the average of the iterates once averaging has started), in
        float64: a pass over X with the slow twin's losses, which define it (_passes)."""
        def objective(state):
            over = passes(state)
            model = state.model_vector()
            n_features = over.mean.shape[0]
            return (float(over.loss_sums(_layout.by_output(model, n_features))["loss"][0])
                    / over.n_samples + self._penalty_value(model, n_features))
        return objective

    def _optimality_gap(self, passes):
        """gap(state): a lower bound on how far state's model is above the optimum of the
        training objective (_optimality), or None where the bound does not hold: a loss
        with a kink (no curvature bound) or an l1 penalty (no gradient)."""
        if self.loss in NON_SMOOTH_LOSSES or self._penalty_strengths()[1] != 0:
            return None

        def gap(state):
            over = passes(state)
            theta = _layout.by_output(state.model_vector(), over.mean.shape[0])
            return _optimality.gap_lower_bound(over, theta.astype(np.float64),
                                               self._curvature(), self._penalty_strengths()[0])
        return gap

    @staticmethod
    def _normalise_weights(sample_weight):
        """Rescale the weights to average 1 over the rows of this call, so the objective is
        the weighted mean loss Σ s·L / Σ s: a weight of 2 is then exactly a repeated row in
        a full batch, and a row's step still scales with its weight. None (every weight 1)
        stays None."""
        if sample_weight is None:
            return None
        total = float(np.sum(sample_weight, dtype=np.float64))
        if not total > 0:
            raise ValueError("sample_weight sums to zero: at least one row needs a positive "
                             "weight.")
        if total == sample_weight.shape[0] and np.all(sample_weight == 1):
            return sample_weight
        return np.ascontiguousarray(sample_weight * (sample_weight.shape[0] / total),
                                    dtype=sample_weight.dtype)

    def _split_validation(self, X, y, sample_weight, y_original):
        """Hold out validation_fraction of the rows (stratified for classifiers)."""
        stratify = y_original if is_classifier(self) else None
        seed = shuffle_seed(self.random_state)
        try:
            parts = train_test_split(X, y, sample_weight, y_original,
                                     test_size=self.validation_fraction, random_state=seed,
                                     stratify=stratify)
        except ValueError as exc:
            raise ValueError(f"early_stopping: cannot hold out validation_fraction="
                             f"{self.validation_fraction} of {X.shape[0]} rows ({exc}). Use "
                             "more rows, a larger validation_fraction, or "
                             "early_stopping=False.") from None
        X_train, X_val, y_train, y_val, w_train, w_val, orig_train, orig_val = parts
        if not is_classifier(self) and X_val.shape[0] < 2:
            raise ValueError(f"early_stopping: validation_fraction={self.validation_fraction}"
                             f" of {X.shape[0]} rows holds out {X_val.shape[0]}, and the "
                             "validation score (R²) needs at least 2. Use more rows, a larger "
                             "validation_fraction, or early_stopping=False.")
        if not _sparse.is_sparse(X_train):
            X_train = np.ascontiguousarray(X_train)
        return (X_train, X_val, np.ascontiguousarray(y_train), y_val,
                np.ascontiguousarray(w_train), w_val, orig_train, orig_val)

    def _validation_score(self, state, X_val, y_val):
        """The score of `state`'s model on the held-out rows. The fitted attributes are put
        back as they were: until training ends, they are the previous fit's (or absent)."""
        saved = {name: getattr(self, name) for name in ("coef_", "intercept_")
                 if hasattr(self, name)}
        self._set_fitted_coef(*state.model_coef())
        try:
            return float(self.score(X_val, y_val))
        finally:
            for name in ("coef_", "intercept_"):
                if name in saved:
                    setattr(self, name, saved[name])
                else:
                    delattr(self, name)

    def _train(self, epoch, shape, state, optimizer, schedule, n_epochs, *, stopping,
               validation=None, model_objective=None, optimality_gap=None):
        """Run epochs until n_epochs or the stopping rule; return (state, history, interrupt).

        epoch(state, config) runs one epoch on data of `shape` (rows, features) with the
        given config, updating state's coef, buffers, scalars, t and rng_state in place, and
        returns (status, sum of the weighted losses, learning rate of the last update).
        The rule watches the training objective, or with `validation` = (X_val, y_val) the
        validation score, whose best coefficients are restored at the end. When the model
        is an average of the iterates (whose epoch losses the average does not follow), the
        adaptive schedule divides the rate at a plateau only if model_objective(state), the
        reported model's objective, improved by tol since the previous division. When the
        rule stops without a validation set, optimality_gap(state), a lower bound on how far
        the model is above the optimum, checks that it did not stop short: more than tol is a
        ConvergenceWarning.
        Trains `state` in place: the caller passes a state of its own (new, or a copy of the
        fitted one), so a failure leaves the fitted model as it was.

        Ctrl-C (KeyboardInterrupt) during an epoch discards that epoch: once one has finished,
        the state and history of the last finished one are returned with the exception as
        `interrupt`, for the caller to keep them and raise it again; before that it
        propagates at once. `interrupt` is None otherwise.
        """
        n_samples, n_features = shape
        base_rate = state.base_rate if self.learning_rate == "auto" else float(self.learning_rate)
        adaptive = isinstance(schedule, Adaptive)
        history = {"loss": [], "rate": [], "validation": []}
        best, best_coef, epochs_without_improvement = -np.inf, None, 0
        plateau_level = None        # the model's score at the last plateau that cut the rate
        stop, checkpoint, interrupt = "max_iter", None, None
        started = time.perf_counter()
        try:
            for _ in range(n_epochs):
                # What a Ctrl-C during this epoch returns to: O(parameters) to copy. The
                # previous epoch's is let go first, so that two are never held at once
                # (until the copy exists, `state` is the last finished epoch's own).
                checkpoint = None
                checkpoint = (state.copy(), best, best_coef, epochs_without_improvement,
                              len(history["loss"]))
                config = self._epoch_config(n_samples, optimizer, schedule,
                                            self._epoch_rate(state, schedule, base_rate))
                if adaptive and not stopping:
                    # A stream (partial_fit) has no epochs to watch for plateaus.
                    config.update(schedule="invscaling", power_t=schedule.stream_power_t)
                status, loss_sum, last_rate = epoch(state, config)
                state.epoch += 1
                if status != _engine.STATUS_OK:
                    raise ValueError(
                        f"The training diverged: floating-point overflow occurred at epoch "
                        f"#{state.epoch}. {self._divergence_advice(base_rate)}")
                loss = loss_sum / n_samples + self._penalty_value(state.coef, n_features)
                history["loss"].append(loss)
                history["rate"].append(last_rate)
                if validation is not None:
                    current = self._validation_score(state, *validation)
                    history["validation"].append(current)
                else:
                    current = -loss                          # higher is better for both
                if self.verbose:
                    self._print_epoch(state, loss, current, validation, last_rate, started)
                if current > best and validation is not None:
                    best_coef = state.model_vector().copy()
                if not stopping or self.tol is None:
                    best = max(best, current)
                    continue
                epochs_without_improvement = (epochs_without_improvement + 1
                                              if current < best + self.tol else 0)
                best = max(best, current)
                if epochs_without_improvement < self.n_iter_no_change:
                    continue
                epochs_without_improvement = 0
                if self._still_descending(history, validation):
                    continue        # slow, not settled: a smaller rate would only be slower
                level = (self._averaged_model_level(state, validation, model_objective)
                         if adaptive else None)
                if (adaptive and state.adaptive_rate > schedule.min_rate_fraction * base_rate
                        and (level is None or plateau_level is None
                             or level >= plateau_level + self.tol)):
                    # Without an average to weigh, or when the last division improved the
                    # average by at least tol: a smaller rate may gain more.
                    plateau_level = level
                    state.adaptive_rate *= schedule.factor
                    if self.average == "auto" and state.average is not None:
                        # Average the smaller steps alone: the larger ones' noise and the
                        # way in would only weigh on their average.
                        state.average_start = state.t
                else:
                    stop = "rule"
                    break
        except KeyboardInterrupt as exc:
            if checkpoint is None:
                # Between epochs, while the checkpoint was being copied: the state is the
                # last finished epoch's.
                checkpoint = (state, best, best_coef, epochs_without_improvement,
                              len(history["loss"]))
            if checkpoint[-1] == 0:
                raise
            state, best, best_coef, epochs_without_improvement, n_finished = checkpoint
            for values in history.values():
                del values[n_finished:]
            stop, interrupt = "interrupted", exc
        if stopping and stop != "interrupted":
            self._raise_if_diverging(history["loss"], base_rate)
        if stopping and self.tol is not None:
            self._warn_if_stopped_early(stop)
            if stop == "rule" and validation is None and optimality_gap is not None:
                self._warn_if_short_of_optimum(optimality_gap(state))
        if best_coef is not None:
            state.restore_model(best_coef)    # the best validation score's coefficients
        return state, history, interrupt

    @staticmethod
    def _averaged_model_level(state, validation, model_objective):
        """The reported model's training objective, negated (higher is better), when that
        model is an average of the iterates, whose epoch losses say little of it, and no
        validation score watches it; else None. The adaptive schedule compares it from one
        plateau to the next."""
        if validation is None and model_objective is not None and state.n_averaged > 0:
            return -model_objective(state)
        return None

    def _epoch_rate(self, state, schedule, base_rate):
        if isinstance(schedule, Adaptive):
            return state.adaptive_rate
        return schedule.epoch_rate(base_rate, state.epoch, self.max_iter)

    def _print_epoch(self, state, loss, current, validation, rate, started):
        n_features = state.mean.shape[0]
        norm = float(np.linalg.norm(_layout.by_output(state.coef, n_features)[:, :n_features]))
        extra = f", validation score {current:.6g}" if validation is not None else ""
        print(f"-- Epoch {state.epoch}: loss {loss:.6g}{extra}, norm(w) {norm:.6g}, "
              f"learning rate {rate:.6g}, {time.perf_counter() - started:.3f} s")

    def _still_descending(self, history, validation):
        """Whether the objective (or validation score) improved in every one of the last
        n_iter_no_change epochs at a pace that would still gain more than tol: a plateau of
        slow steady descent (an ill-conditioned full batch), not one of the noise that
        stochastic steps settle into."""
        curve = (history["validation"] if validation is not None
                 else [-loss for loss in history["loss"]])
        return _remaining_improvement(curve, max(2, self.n_iter_no_change) + 1) > self.tol

    def _divergence_advice(self, base_rate):
        return (("A smaller" if self._scaled() else
                 "Scaling the features (scale=True) might help, or a smaller")
                + f" learning_rate (now {base_rate:g}).")

    def _raise_if_diverging(self, losses, base_rate):
        """A ValueError, not a model, when the training objective ends far above where it
        began and rose in each of the last epochs (n_iter_no_change of them, at least 2):
        the steps diverge, whether or not the numbers have overflowed yet. An oscillating
        or noisy descent never ends ten times above its first epoch's objective."""
        recent = max(2, min(self.n_iter_no_change, len(losses) - 1))
        if len(losses) <= recent:
            return
        tail = losses[-recent - 1:]
        # (Objectives within rounding of zero do not count: their roundings may rise.)
        start = max(abs(losses[0]), np.finfo(np.float64).eps)
        if losses[-1] > DIVERGED_FACTOR * start and all(
                later > earlier for earlier, later in zip(tail, tail[1:])):
            raise ValueError(
                f"The training diverged: its objective rose in each of the last {recent} "
                f"epochs, to {losses[-1]:.3g} from {losses[0]:.3g} in the first. "
                + self._divergence_advice(base_rate))

    def _warn_if_stopped_early(self, stop):
        """A ConvergenceWarning for every stop that is not the stopping rule's: max_iter ran
        out (the rule's own stops, settled plateaus, need none)."""
        if stop == "max_iter":
            warnings.warn(
                f"Maximum number of epochs ({self.max_iter}) reached before convergence: the "
                f"objective was still falling, by more than tol={self.tol:g} over the last "
                f"{self.n_iter_no_change} epochs or steadily at a pace that would gain more "
                "than tol in all. Increase "
                + ("max_iter." if self._scaled() else
                   "max_iter, or scale the features (scale=True), which speeds descent.")
                + ("" if get_optimizer(self.optimizer).plain_gradient else
                   " An adaptive optimizer moves each coefficient by about its learning_rate "
                   "per update: a target on a large scale needs a larger learning_rate, or "
                   "scaling."),
                ConvergenceWarning)

    def _warn_if_short_of_optimum(self, certificate):
        """A ConvergenceWarning when the stopping rule stopped a model whose objective is
        still more than tol above its optimum: the epoch losses flattened because the
        steps became too small, not because nothing was left to gain. certificate: (a lower
        bound on that distance, the objective); gaps below a ten-thousandth of the
        objective are not reported, so that tol=0 does not warn of what is left at the
        rate's floor."""
        gap, objective = certificate
        if not gap > max(self.tol, SHORT_OF_OPTIMUM_RELATIVE * abs(objective)):
            return
        remedies = []
        if self.loss == "log_loss" and self._penalty_strengths()[0] == 0:
            remedies.append("If the classes are separable, the log loss has no minimum and "
                            "falls for ever as the weights grow: penalty='l2' gives it one.")
        optimizer, schedule = self._options(partial=False)
        changed = [setting for setting, default in (
            ("optimizer='sgd'", optimizer.name == "sgd"),
            ("lr_schedule='adaptive'", isinstance(schedule, Adaptive)),
            ("learning_rate='auto'", self.learning_rate == "auto")) if not default]
        if changed:
            remedies.append(f"The defaults ({', '.join(changed)}) may get closer.")
        remedies.append("A smaller tol trains on.")
        warnings.warn(
            f"Stopped where the epoch losses improved by less than tol={self.tol:g} over "
            f"{self.n_iter_no_change} epochs, but the model's objective, {objective:.4g}, is "
            f"still at least {gap:.3g} above its optimum: the steps had become too small "
            "(or at a constant rate too noisy) to get closer. " + " ".join(remedies),
            ConvergenceWarning)


def _remaining_improvement(curve, window):
    """How much more the last `window` values of `curve` (higher is better) would gain if
    they went on as they went: 0 unless every one improved on the one before, else their
    last gain summed as a geometric series of the window's ratio of successive gains, or,
    if the gains were not shrinking (noise can do that), at least the window's gains again."""
    if len(curve) < 3:
        return 0.0
    gains = np.diff(np.asarray(curve[-window:], dtype=np.float64))
    if not np.all(gains > 0):
        return 0.0
    ratio = (gains[-1] / gains[0]) ** (1.0 / (len(gains) - 1))
    return float(gains[-1] * ratio / (1.0 - ratio)) if ratio < 1 else float(np.sum(gains))
