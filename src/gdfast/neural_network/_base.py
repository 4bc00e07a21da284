"""What MLPRegressor and MLPClassifier share: hyper-parameter checks, the epoch loop with its
stopping rule and early stopping, and random restarts. The estimators encode targets and
predict."""
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from gdfast._constraints import NON_NEGATIVE, POSITIVE, POSITIVE_INTEGER, one_of
from gdfast.linear_model._base import MAX_ROWS, BaseGD, _all_zero, _without_data
from gdfast.neural_network import _engine
from gdfast.neural_network._state import NetworkState
from gdfast.optim import OPTIMIZER_CLASSES, Optimizer, get_optimizer
from gdfast.optim.schedules import SCHEDULE_CLASSES, Adaptive, Schedule, get_schedule

# scikit-learn's MLP batch size for batch_size="auto".
AUTO_BATCH_SIZE = 200


class BaseMLP(BaseEstimator):
    """A multilayer perceptron trained by gradient descent; subclasses set the output layer
    (`_output`) and encode targets."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [one_of(_engine.ACTIVATION_NAMES)],
        "optimizer": [one_of(OPTIMIZER_CLASSES), Optimizer],
        "learning_rate": [POSITIVE, one_of(["auto"])],
        "lr_schedule": [one_of(SCHEDULE_CLASSES), Schedule],
        "alpha": [NON_NEGATIVE],
        "batch_size": [POSITIVE_INTEGER, StrOptions({"auto"}), None],
        "max_iter": [POSITIVE_INTEGER],
        "tol": [NON_NEGATIVE],
        "n_iter_no_change": [POSITIVE_INTEGER],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "center": ["boolean"],
        "warm_start": ["boolean"],
        "n_restarts": [POSITIVE_INTEGER],
        "verbose": ["verbose"],
        "engine": [one_of(_engine.ENGINES)],
    }

    def __init__(self, hidden_layer_sizes, *, activation, optimizer, learning_rate,
                 lr_schedule, alpha, batch_size, max_iter, tol, n_iter_no_change,
                 early_stopping, validation_fraction, shuffle, random_state, center,
                 warm_start, n_restarts, verbose, engine):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.center = center
        self.warm_start = warm_start
        self.n_restarts = n_restarts
        self.verbose = verbose
        self.engine = engine

    # --- checks ---------------------------------------------------------------------------

    def _validate_params(self):
        super()._validate_params()
        self._hidden_sizes()
        if isinstance(self.optimizer, Optimizer):
            self.optimizer._validate_params()
        get_schedule(self.lr_schedule).validate(self.alpha)

    def _hidden_sizes(self):
        """hidden_layer_sizes as a tuple of positive ints, or InvalidParameterError."""
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(np.asarray(sizes,
                                                                            dtype=object).ravel())
        sizes = [size.item() if isinstance(size, np.generic) else size for size in sizes]
        if not sizes:
            raise InvalidParameterError(
                "hidden_layer_sizes is empty: a network needs at least one hidden layer, "
                "e.g. hidden_layer_sizes=(100,). For a model without one, use GDRegressor or "
                "GDClassifier.")
        for index, size in enumerate(sizes):
            if not (isinstance(size, Integral) and not isinstance(size, bool) and size >= 1):
                raise InvalidParameterError(
                    f"hidden_layer_sizes[{index}] is {size!r}: every hidden layer needs a "
                    "whole number of units, at least 1, e.g. hidden_layer_sizes=(100, 50).")
        return tuple(int(size) for size in sizes)

    def _validate_fit_data(self, X, y, sample_weight, *, reset=True):
        """Check X, y and sample_weight; X keeps float32 or becomes float64, C-ordered."""
        if _all_zero(sample_weight):
            raise ValueError("sample_weight is zero for every row: at least one row needs a "
                             "positive weight.")
        try:
            X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                                 multi_output=not is_classifier(self),
                                 y_numeric=not is_classifier(self), reset=reset)
        except (ValueError, TypeError) as error:
            raise _without_data(error) from None
        if X.shape[0] > MAX_ROWS:
            raise ValueError(f"X has {X.shape[0]} rows; gdfast handles at most {MAX_ROWS}.")
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                             ensure_non_negative=True)
        return X, y, np.ascontiguousarray(sample_weight)

    def _validate_predict_data(self, X):
        try:
            return validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)
        except (ValueError, TypeError) as error:
            raise _without_data(error) from None

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    # --- the network ----------------------------------------------------------------------

    def _forward(self, X):
        """The output layer's pre-activations z for the rows of X (in X's dtype)."""
        weights = [W.astype(X.dtype, copy=False) for W in self.coefs_]
        biases = [b.astype(X.dtype, copy=False) for b in self.intercepts_]
        return _engine.forward(X, weights, biases, self.activation)[-1]

    def _set_fitted(self, state):
        self.coefs_, self.intercepts_ = state.model_layers()
        self.n_layers_ = len(state.layer_sizes)
        self.n_outputs_ = state.layer_sizes[-1]
        self.out_activation_ = self._output

    def _penalty_value(self, state, n_samples):
        """α·½‖W‖² / n: the l2 penalty of the whole-data objective."""
        if self.alpha == 0:
            return 0.0
        weights, _ = state.layers()
        with np.errstate(over="ignore"):        # huge weights: an infinite loss, an error
            return 0.5 * float(self.alpha) * sum(float(np.sum(W.astype(np.float64) ** 2))
                                                 for W in weights) / n_samples

    # --- training -------------------------------------------------------------------------

    def _fit_encoded(self, X, Y, sample_weight, *, partial, y_original=None):
        """Train on targets encoded as rows of the output layer (X's dtype).

        fit: n_restarts runs of up to max_iter epochs from new random weights (or one from
        the fitted ones with warm_start), keeping the best; partial_fit: one epoch."""
        optimizer = get_optimizer(self.optimizer)
        schedule = get_schedule(self.lr_schedule)
        if partial and hasattr(self, "_state"):
            self._validate_params()
        validation = None
        if self.early_stopping and not partial:
            X, X_val, Y, sample_weight, y_val = self._split_validation(X, Y, sample_weight,
                                                                       y_original)
            validation = (X_val, y_val)
        sample_weight = BaseGD._normalise_weights(sample_weight)
        unit_weights = bool(np.all(sample_weight == 1))
        layer_sizes = (X.shape[1], *self._hidden_sizes(), Y.shape[1])
        resume = hasattr(self, "_state") and (partial or self.warm_start)
        if resume:
            if self._state.layer_sizes != layer_sizes:
                raise ValueError(f"the network's layer sizes {self._state.layer_sizes} differ "
                                 f"from those of this call, {layer_sizes}; refit from scratch "
                                 "(warm_start=False).")
            if self._state.coef.dtype != X.dtype:
                raise ValueError(f"this network was trained on {self._state.coef.dtype} data; "
                                 f"convert X to {self._state.coef.dtype}.")
            if self._state.buffers.shape[0] != optimizer.n_buffers:
                raise ValueError("the optimizer changed since the last fit; its state cannot "
                                 "carry over. Refit from scratch (warm_start=False).")
        random_state = check_random_state(self.random_state)
        base_rate = (optimizer.default_learning_rate if self.learning_rate == "auto"
                     else float(self.learning_rate))
        # weights @ X reads X once; np.average would build a weighted copy of it.
        mean = (sample_weight @ X / np.sum(sample_weight)).astype(X.dtype) if self.center else None
        n_runs = 1 if resume else self.n_restarts
        runs, interrupt = [], None
        for run in range(n_runs):
            state = (self._state.copy() if resume else
                     NetworkState.new(layer_sizes, self.activation, optimizer, X.dtype,
                                      random_state, base_rate, mean))
            state, history, interrupt = self._train(
                X, Y, sample_weight, state, optimizer, schedule, base_rate,
                1 if partial else self.max_iter, stopping=not partial, validation=validation,
                unit_weights=unit_weights)
            if history["loss"]:
                runs.append((state, history))
            if interrupt is not None:
                break
            if self.verbose and n_runs > 1:
                print(f"Restart {run + 1} of {n_runs}: loss {history['loss'][-1]:.6g}")
        if not runs:
            raise interrupt     # Ctrl-C before any epoch finished: the model is as it was
        # The best run: the highest validation score, or the lowest final training loss.
        if validation is not None:
            chosen = int(np.argmax([max(history["validation"]) for _, history in runs]))
        else:
            chosen = int(np.argmin([history["loss"][-1] for _, history in runs]))
        state, history = runs[chosen]
        self._state = state
        if partial and resume:
            self.loss_curve_ = self.loss_curve_ + history["loss"]
            self.n_iter_ += 1
        else:
            self.loss_curve_ = history["loss"]
            self.n_iter_ = len(history["loss"])
        if not partial:
            self.restart_losses_ = [h["loss"][-1] for _, h in runs]
            self.restart_validation_scores_ = ([max(h["validation"]) for _, h in runs]
                                               if validation else None)
            self.best_restart_ = chosen
        self.validation_scores_ = history["validation"] if validation else None
        self.best_validation_score_ = max(history["validation"]) if validation else None
        self.best_loss_ = None if validation else min(self.loss_curve_)
        self.t_ = state.t
        self._set_fitted(state)
        if interrupt is not None:
            raise interrupt     # Ctrl-C: the finished epochs (and runs) are kept

    def _split_validation(self, X, Y, sample_weight, y_original):
        """Hold out validation_fraction of the rows (stratified for classifiers)."""
        stratify = y_original if is_classifier(self) else None
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        try:
            X, X_val, Y, _, sample_weight, _, _, y_val = train_test_split(
                X, Y, sample_weight, y_original, test_size=self.validation_fraction,
                random_state=seed, stratify=stratify)
        except ValueError as exc:
            raise ValueError(f"early_stopping: cannot hold out validation_fraction="
                             f"{self.validation_fraction} of {X.shape[0]} rows ({exc}). Use "
                             "more rows, a larger validation_fraction, or "
                             "early_stopping=False.") from None
        return (np.ascontiguousarray(X), X_val, np.ascontiguousarray(Y),
                np.ascontiguousarray(sample_weight), y_val)

    def _validation_score(self, state, X_val, y_val):
        """The score of `state`'s network on the held-out rows; the fitted attributes are
        put back as they were."""
        names = ("coefs_", "intercepts_", "n_layers_", "n_outputs_", "out_activation_")
        saved = {name: getattr(self, name) for name in names if hasattr(self, name)}
        self._set_fitted(state)
        try:
            return float(self.score(X_val, y_val))
        finally:
            for name in names:
                if name in saved:
                    setattr(self, name, saved[name])
                else:
                    delattr(self, name)

    def _epoch_config(self, n_samples, optimizer, schedule, rate, unit_weights):
        if self.batch_size is None:
            batch = n_samples
        elif self.batch_size == "auto":
            batch = min(AUTO_BATCH_SIZE, n_samples)
        else:
            batch = min(self.batch_size, n_samples)
        config = {"batch_size": batch, "shuffle": bool(self.shuffle), "learning_rate": rate,
                  "center": bool(self.center),
                  "l2": float(self.alpha), "unit_weights": unit_weights}
        config.update(optimizer.kernel_config())
        config.update(schedule.kernel_config(self.alpha))
        return config

    def _train(self, X, Y, sample_weight, state, optimizer, schedule, base_rate, n_epochs, *,
               stopping, validation, unit_weights):
        """Run epochs on `state` (the caller's own copy) until n_epochs or the stopping rule;
        return (state, history, interrupt). With `validation`, the best score's weights are
        restored. Ctrl-C (KeyboardInterrupt) during an epoch discards that epoch: the state
        and history of the finished ones are returned with the exception as `interrupt`
        (None otherwise), for the caller to keep them and raise it again."""
        n_samples = X.shape[0]
        adaptive = isinstance(schedule, Adaptive)
        order = np.arange(n_samples, dtype=np.intp)
        history = {"loss": [], "validation": []}
        best, best_coef, epochs_without_improvement = np.inf, None, 0
        best_score = -np.inf
        stopped_by_rule, interrupt = False, None
        started = time.perf_counter()
        checkpoint = None
        try:
            for _ in range(n_epochs):
                # What a Ctrl-C during this epoch returns to: O(parameters) to copy.
                checkpoint = (state.copy(), best, best_score, best_coef,
                              epochs_without_improvement, len(history["loss"]))
                rate = (state.adaptive_rate if adaptive
                        else schedule.epoch_rate(base_rate, state.epoch, self.max_iter))
                config = self._epoch_config(n_samples, optimizer, schedule, rate, unit_weights)
                if adaptive and not stopping:
                    config.update(schedule="invscaling", power_t=schedule.stream_power_t)
                status, loss_sum, state.t, state.rng_state, last_rate = _engine.run_epoch(
                    self.engine, X, Y, sample_weight, state.coef, state.buffers, state.scalars,
                    order, state.layer_sizes, self.activation, self._output, config, state.t,
                    state.rng_state, mean=state.mean)
                state.epoch += 1
                loss = loss_sum / n_samples + self._penalty_value(state, n_samples)
                if status != _engine.STATUS_OK or not np.isfinite(loss):
                    raise ValueError(
                        "The loss or the weights became infinite or NaN at epoch "
                        f"#{state.epoch} (learning rate {rate:g}): training diverged. Use a "
                        "smaller learning_rate, or scale the features (e.g. StandardScaler).")
                history["loss"].append(loss)
                if validation is not None:
                    score = self._validation_score(state, *validation)
                    history["validation"].append(score)
                    if score > best_score:
                        best_score, best_coef = score, state.coef.copy()
                    # Higher scores are better: watched as a loss, its negative.
                    current = -score
                else:
                    current = loss
                if self.verbose:
                    extra = (f", validation score {history['validation'][-1]:.6g}"
                             if validation is not None else "")
                    print(f"Iteration {state.epoch}, loss = {loss:.8f}{extra}, learning rate "
                          f"{last_rate:.6g}, {time.perf_counter() - started:.3f} s")
                if not stopping:
                    continue
                epochs_without_improvement = (epochs_without_improvement + 1
                                              if current > best - self.tol else 0)
                best = min(best, current)
                if epochs_without_improvement < self.n_iter_no_change:
                    continue
                epochs_without_improvement = 0
                if adaptive and state.adaptive_rate > schedule.min_rate_fraction * base_rate:
                    state.adaptive_rate *= schedule.factor
                    continue
                stopped_by_rule = True
                break
        except KeyboardInterrupt as exc:
            if checkpoint is None:
                raise
            state, best, best_score, best_coef, epochs_without_improvement, n_finished = \
                checkpoint
            for values in history.values():
                del values[n_finished:]
            interrupt = exc
        if stopping and not stopped_by_rule and interrupt is None:
            warnings.warn(f"Maximum number of epochs ({self.max_iter}) reached before the "
                          "loss stopped improving by tol; increase max_iter, or scale the "
                          "features (e.g. StandardScaler).", ConvergenceWarning)
        if best_coef is not None:
            state.coef = best_coef
        return state, history, interrupt
