"""MLPRegressor and MLPClassifier: multilayer perceptrons trained by gradient descent."""
import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted

from gdfast.neural_network._base import BaseMLP

PARAMETERS_DOC = """
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer, in order; at least one layer, each of at least 1 unit.
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        The hidden layers' activation h: max(0, z), tanh z, 1 / (1 + e^−z) or z.
    optimizer : str or gdfast.optim.Optimizer, default='adam'
        The update rule, as for GDRegressor: 'sgd', 'momentum', 'nesterov', 'adagrad',
        'rmsprop', 'adadelta', 'adam', 'adamw', 'nadam', 'adamax', or an instance of the
        class of that name in gdfast.optim carrying its hyper-parameters.
    learning_rate : float or 'auto', default='auto'
        Base step size γ₀. 'auto' is the optimizer's standard default (PyTorch's): 1e-3 for
        Adam (scikit-learn's learning_rate_init), 1e-2 for SGD.
    lr_schedule : str or gdfast.schedules.Schedule, default='constant'
        As for GDRegressor; 'adaptive' divides the rate by 5 at each plateau of
        n_iter_no_change epochs.
    alpha : float, default=1e-4
        l2 penalty on the weights (never the biases), scaled as scikit-learn's MLP does: a
        batch of b rows descends (1/b)·Σ s_i·ℓ_i + (alpha / 2b)·‖W‖².
    batch_size : int, 'auto' or None, default='auto'
        Rows per update: 1 stochastic, k a mini-batch, None the full batch; 'auto' is
        min(200, n_samples).
    max_iter : int, default=200
        Maximum number of epochs of each run.
    tol : float, default=1e-4
    n_iter_no_change : int, default=10
        Stop when the training loss (or, with early_stopping, the validation score) has not
        improved by tol for n_iter_no_change epochs in a row.
    early_stopping : bool, default=False
        Hold out validation_fraction of the rows, score them after each epoch (R² or
        accuracy), stop on the score and restore the weights of the best epoch.
    validation_fraction : float in (0, 1), default=0.1
    shuffle : bool, default=True
    random_state : int, RandomState or None, default=None
        Seeds the initial weights of every run, the shuffle and the validation split.
    center : bool, default=True
        Feed the first layer x − mean, the rows' weighted feature means (computed once; X is
        not copied), as the linear estimators do, and report the first biases of the raw
        inputs, b = c − mean·W₁. The same network; descent is better conditioned when
        features sit far from zero. False trains on the raw x, as scikit-learn's MLP does.
    warm_start : bool, default=False
        fit() continues from the fitted weights and optimizer state (one run).
    n_restarts : int, default=1
        Train this many networks from different random initial weights and keep the best:
        the lowest final training loss, or with early_stopping the highest validation
        score. A remedy for plateaus and poor local minima; each run's result is in
        restart_losses_.
    verbose : int, default=0
        1 prints a line per epoch.
    engine : {'cython', 'numpy'}, default='cython'
        'numpy' runs the pure-NumPy reference implementation: same steps, slower.
"""

ATTRIBUTES_DOC = """
    coefs_ : list of ndarray, the weight matrix of each layer, shape (fan_in, fan_out).
    intercepts_ : list of ndarray, the bias vector of each layer.
    loss_curve_ : list of float, the training objective of each epoch: the mean loss of its
        batches, each measured before its update, plus alpha·½‖W‖² / n_samples.
    best_loss_ : float, the lowest of loss_curve_ (None with early_stopping).
    validation_scores_, best_validation_score_ : the validation scores (early_stopping).
    n_iter_ : int, epochs run by the chosen run (partial_fit adds one).
    t_ : int, optimizer updates taken.
    restart_losses_ : list of float, the final training objective of each run.
    restart_validation_scores_ : list of float or None, each run's best validation score.
    best_restart_ : int, the index of the run kept.
    n_layers_, n_outputs_, out_activation_ : as scikit-learn's MLP.
"""


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = f"""A multilayer perceptron for regression, trained by gradient descent.

    Identity output; the per-sample loss is ½·Σ_k (p_k − y_k)², its weighted mean the
    objective (plus the penalty).

    Parameters
    ----------
    {PARAMETERS_DOC}
    Attributes
    ----------
    {ATTRIBUTES_DOC}"""

    _output = "identity"

    def __init__(self, hidden_layer_sizes=(100,), *, activation="relu", optimizer="adam",
                 learning_rate="auto", lr_schedule="constant", alpha=1e-4, batch_size="auto",
                 max_iter=200, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, shuffle=True, random_state=None, center=True,
                 warm_start=False, n_restarts=1, verbose=0, engine="cython"):
        super().__init__(hidden_layer_sizes, activation=activation, optimizer=optimizer,
                         learning_rate=learning_rate, lr_schedule=lr_schedule, alpha=alpha,
                         batch_size=batch_size, max_iter=max_iter, tol=tol,
                         n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, shuffle=shuffle,
                         random_state=random_state, center=center, warm_start=warm_start,
                         n_restarts=n_restarts, verbose=verbose, engine=engine)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _targets(self, X, y):
        return np.ascontiguousarray(np.reshape(y, (len(y), -1)), dtype=X.dtype)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network (from new random weights unless warm_start); return self."""
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight)
        self._fit_encoded(X, self._targets(X, y), sample_weight, partial=False, y_original=y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over these rows, continuing the fitted network and optimizer state."""
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight,
                                                      reset=not hasattr(self, "_state"))
        self._fit_encoded(X, self._targets(X, y), sample_weight, partial=True)
        return self

    def predict(self, X):
        """The network's outputs: shape (n,) for one target, (n, n_targets) otherwise."""
        check_is_fitted(self)
        X = self._validate_predict_data(X)
        outputs = self._forward(X)
        return outputs[:, 0] if outputs.shape[1] == 1 else outputs


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""A multilayer perceptron for classification, trained by gradient descent.

    Two classes: one logistic output unit and the binary log loss; more: a softmax output
    and the cross-entropy (multinomial).

    Parameters
    ----------
    {PARAMETERS_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    {ATTRIBUTES_DOC}"""

    def __init__(self, hidden_layer_sizes=(100,), *, activation="relu", optimizer="adam",
                 learning_rate="auto", lr_schedule="constant", alpha=1e-4, batch_size="auto",
                 max_iter=200, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, shuffle=True, random_state=None, center=True,
                 warm_start=False, n_restarts=1, verbose=0, engine="cython"):
        super().__init__(hidden_layer_sizes, activation=activation, optimizer=optimizer,
                         learning_rate=learning_rate, lr_schedule=lr_schedule, alpha=alpha,
                         batch_size=batch_size, max_iter=max_iter, tol=tol,
                         n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, shuffle=shuffle,
                         random_state=random_state, center=center, warm_start=warm_start,
                         n_restarts=n_restarts, verbose=verbose, engine=engine)

    @property
    def _output(self):
        return "logistic" if len(self.classes_) == 2 else "softmax"

    def _check_targets(self, y):
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"y is {type_of_target(y)}; MLPClassifier takes one label per "
                             "row (binary or multiclass). Pass a 1-d array of labels.")

    def _targets(self, X, y):
        """0/1 of classes_[1] (two classes) or one-hot rows, in X's dtype."""
        index = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return np.ascontiguousarray(index[:, None], dtype=X.dtype)
        return np.ascontiguousarray(index[:, None] == np.arange(len(self.classes_)),
                                    dtype=X.dtype)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network (from new random weights unless warm_start); return self."""
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight)
        self._check_targets(y)
        classes = np.unique(y)
        if classes.shape[0] < 2:
            raise ValueError("The number of classes has to be greater than one; got 1 class "
                             f"({classes[0]!r}).")
        if self.warm_start and hasattr(self, "classes_") and \
                not np.array_equal(classes, self.classes_):
            raise ValueError(f"warm_start: the classes {classes} differ from those of the "
                             f"previous fit, {self.classes_}.")
        self.classes_ = classes
        self._fit_encoded(X, self._targets(X, y), sample_weight, partial=False, y_original=y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over these rows, continuing the fitted network. The first call needs
        `classes`, all the labels that will ever be seen."""
        first_call = not hasattr(self, "_state")
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(np.asarray(classes))
            if classes.shape[0] < 2:
                raise ValueError("partial_fit needs at least two classes in `classes`.")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the first call to "
                             f"partial_fit, was: {self.classes_!r}")
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, reset=first_call)
        self._check_targets(y)
        known = classes if first_call else self.classes_
        unseen = np.setdiff1d(np.unique(y), known)
        if unseen.size:
            raise ValueError(f"y contains labels {unseen!r} that are not in classes {known!r}.")
        self.classes_ = known
        self._fit_encoded(X, self._targets(X, y), sample_weight, partial=True)
        return self

    def predict_proba(self, X):
        """Class probabilities, one column per class of classes_, rows summing to 1."""
        check_is_fitted(self)
        X = self._validate_predict_data(X)
        z = self._forward(X).astype(np.float64)
        if z.shape[1] == 1:
            positive = expit(z[:, 0])
            return np.column_stack([1.0 - positive, positive])
        return softmax(z, axis=1)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
