"""GDClassifier: linear classification (logistic, hinge, modified Huber) by gradient descent."""
import numpy as np
from scipy.special import expit, softmax
from numbers import Real

from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from gdfast._constraints import one_of
from gdfast.linear_model._base import BaseGD
from gdfast.linear_model._regressor import ATTRIBUTES_DOC, PARAMETERS_DOC

# Rows encoded per block in _encode: small temporaries, few Python iterations.
ENCODE_BLOCK = 1 << 16


def _has_probabilities(model):
    """predict_proba exists for the losses that define a probability."""
    if model.loss not in ("log_loss", "modified_huber"):
        raise AttributeError(f"probability estimates are not available for loss={model.loss!r}; "
                             "use loss='log_loss' or 'modified_huber'.")
    return True


class GDClassifier(ClassifierMixin, BaseGD):
    __doc__ = f"""Linear classification by gradient descent, compiled for every batch mode.

    Parameters
    ----------
    loss : {{'log_loss', 'hinge', 'modified_huber'}}
        log_loss is logistic regression (binary: log(1 + e^p) − y·p; more classes: softmax
        cross-entropy or one-vs-rest); hinge is a linear SVM, max(0, 1 − y·p); modified_huber
        its smooth, outlier-tolerant variant, both with y ∈ {{−1, +1}}.
    multi_class : {{'auto', 'multinomial', 'ovr'}}, default='auto'
        With more than two classes: one softmax model ('multinomial', log_loss only) or one
        binary model per class trained together ('ovr'). 'auto' is multinomial for log_loss
        and ovr for the margin losses.
    class_weight : dict, 'balanced' or None, default=None
        Multiplies each row's weight by its class's (finite, >= 0; 0 ignores the class);
        'balanced' uses n / (k · count).
    {PARAMETERS_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    {ATTRIBUTES_DOC}"""

    _losses = ("log_loss", "hinge", "modified_huber")
    _parameter_constraints = {**BaseGD._parameter_constraints,
                              "loss": [one_of(_losses)],
                              "multi_class": [one_of(["auto", "multinomial", "ovr"])],
                              "class_weight": [dict, one_of(["balanced"]), None]}

    def __init__(self, loss="log_loss", *, multi_class="auto", class_weight=None,
                 optimizer="sgd", learning_rate="auto", lr_schedule="adaptive", warmup_steps=0,
                 penalty=None, alpha=1e-4, l1_ratio=0.15, batch_size=1, max_iter=1000,
                 tol=1e-3, n_iter_no_change=5, early_stopping=False, validation_fraction=0.1,
                 shuffle=True, random_state=None, fit_intercept=True, center=True,
                 scale="auto", warm_start=False, average="auto", n_jobs=None, verbose=0,
                 engine="cython"):
        self.multi_class = multi_class
        self.class_weight = class_weight
        super().__init__(loss, optimizer=optimizer, learning_rate=learning_rate,
                         lr_schedule=lr_schedule, warmup_steps=warmup_steps, penalty=penalty,
                         alpha=alpha, l1_ratio=l1_ratio, batch_size=batch_size,
                         max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change,
                         early_stopping=early_stopping,
                         validation_fraction=validation_fraction, shuffle=shuffle,
                         random_state=random_state, fit_intercept=fit_intercept,
                         center=center, scale=scale, warm_start=warm_start, average=average,
                         n_jobs=n_jobs,
                         verbose=verbose, engine=engine)

    # --- checks and encoding -------------------------------------------------------------

    def _validate_params(self):
        super()._validate_params()
        if self.multi_class == "multinomial" and self.loss != "log_loss":
            raise InvalidParameterError(f"multi_class='multinomial' needs loss='log_loss'; got "
                                        f"loss={self.loss!r}. Use multi_class='ovr' for it.")
        if isinstance(self.class_weight, dict):
            bad = {label: weight for label, weight in self.class_weight.items()
                   if not (isinstance(weight, Real) and np.isfinite(weight) and weight >= 0)}
            if bad:
                raise InvalidParameterError(
                    f"class_weight has weights that are not finite numbers >= 0: {bad!r}. A "
                    "class's weight multiplies its rows' sample_weight, which must not be "
                    "negative; give 0 to ignore a class.")

    @staticmethod
    def _check_classes(classes):
        if classes.shape[0] < 2:
            raise ValueError("The number of classes has to be greater than one; got 1 class "
                             f"({classes[0].item() if hasattr(classes[0], 'item') else classes[0]!r}).")

    def _n_outputs(self):
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def _multiclass(self):
        if len(self.classes_) == 2:
            return "none"
        if self.multi_class == "auto":
            return "multinomial" if self.loss == "log_loss" else "ovr"
        return self.multi_class

    def _initial_intercepts(self, y, sample_weight):
        """The best constant model per output, from the classes' weighted shares of the
        rows (y encoded: for two classes, positive means classes_[1])."""
        if len(self.classes_) == 2:
            # One indicator per row, not one per row and class: per-row temporaries count
            # against the fit's memory.
            positive = float(np.average(y > 0, weights=sample_weight))
            return self._intercepts_from_shares(np.array([1.0 - positive, positive]), len(y))
        indicators = y[:, None] == np.arange(len(self.classes_))
        return self._intercepts_from_shares(np.average(indicators, axis=0,
                                                       weights=sample_weight), len(y))

    def _intercepts_from_shares(self, shares, n_rows):
        """The best constant model per output given each class's weighted share of the n_rows
        rows: log-odds (log_loss), the weighted balance of the labels (modified_huber) or
        its sign (hinge); log class priors (multinomial). A class with no weight among the
        rows (partial_fit's first chunk may lack one of its classes) is given half a row's
        share instead of none: its log-odds start near log(1/2n), not at -27, where a
        stream's steps, about the rate each, would take thousands of rows to lift them."""
        floor = 0.5 / max(n_rows, 1)
        shares = np.clip(shares, floor, 1.0 - floor)

        def binary(share):
            share = float(share)
            if self.loss == "log_loss":
                return np.log(share / (1 - share))
            balance = 2 * share - 1                   # (W+ − W−) / (W+ + W−)
            return balance if self.loss == "modified_huber" else float(np.sign(balance))
        if len(self.classes_) == 2:
            return np.array([binary(shares[1])])
        if self._multiclass() == "multinomial":
            return np.log(shares)
        return np.array([binary(share) for share in shares])

    def _encode(self, X, y):
        """Targets for the kernel: class indices, or for two classes the loss's labels.
        Encoded a block of rows at a time: the class index of every row at once (8 bytes
        a row) and its float64 labels would cost 4% of a float32 X's memory."""
        encoded = np.empty(len(y), dtype=X.dtype)
        negative = 0.0 if self.loss == "log_loss" else -1.0
        for start in range(0, len(y), ENCODE_BLOCK):
            block = y[start:start + ENCODE_BLOCK]
            # Every label is one of classes_: with two, a comparison finds the positive ones.
            encoded[start:start + ENCODE_BLOCK] = (
                np.where(block == self.classes_[1], 1.0, negative) if len(self.classes_) == 2
                else np.searchsorted(self.classes_, block))
        return encoded

    def _weights_with_classes(self, y, sample_weight, dtype):
        """sample_weight (None: ones) times each row's class weight, in dtype (X's)."""
        if self.class_weight is None:
            return sample_weight
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(f"class_weight names labels {sorted(unknown)!r} that are not "
                                 f"in the classes {self.classes_.tolist()!r}.")
        per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        weights = per_class[np.searchsorted(self.classes_, y)]
        if sample_weight is None:
            return np.ascontiguousarray(weights, dtype=dtype)
        return np.ascontiguousarray(sample_weight * weights, dtype=sample_weight.dtype)

    # --- fitting ---------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model (from zero coefficients unless warm_start); return self."""
        optimizer, schedule = self._options(partial=False)
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=False)
        check_classification_targets(y)
        classes = np.unique(y)
        self._check_classes(classes)
        if self.warm_start and hasattr(self, "classes_") and not np.array_equal(classes, self.classes_):
            raise ValueError(f"warm_start: the classes {classes} differ from those of the "
                             f"previous fit, {self.classes_}.")
        self.classes_ = classes
        sample_weight = self._weights_with_classes(y, sample_weight, X.dtype)
        self._fit_encoded(X, self._encode(X, y), sample_weight, optimizer, schedule,
                          partial=False, y_original=y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over these rows, continuing the fitted state. The first call needs
        `classes`, all the labels that will ever be seen."""
        optimizer, schedule = self._options(partial=True)
        first_call = not hasattr(self, "_state")
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(np.asarray(classes))
            self._check_classes(classes)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the first call to "
                             f"partial_fit, was: {self.classes_!r}")
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=False,
                                                      reset=first_call)
        check_classification_targets(y)
        known = classes if first_call else self.classes_
        unseen = np.setdiff1d(np.unique(y), known)
        if unseen.size:
            raise ValueError(f"y contains labels {unseen!r} that are not in classes {known!r}.")
        self.classes_ = known
        sample_weight = self._weights_with_classes(y, sample_weight, X.dtype)
        self._fit_encoded(X, self._encode(X, y), sample_weight, optimizer, schedule,
                          partial=True)
        return self

    def _set_fitted_coef(self, weights, intercept):
        self.coef_ = weights.copy()
        self.intercept_ = intercept.copy()

    # --- prediction -------------------------------------------------------------------------

    def decision_function(self, X):
        """Scores X·coef_ᵀ + intercept_: shape (n,) for two classes (positive means
        classes_[1]), (n, n_classes) otherwise."""
        check_is_fitted(self)
        X = self._validate_predict_data(X)
        scores = X @ self.coef_.T.astype(X.dtype, copy=False) + self.intercept_.astype(X.dtype)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    @available_if(_has_probabilities)
    def predict_proba(self, X):
        """Class probabilities, one column per class of classes_, rows summing to 1.

        log_loss: the logistic (binary, ovr normalised) or softmax probabilities;
        modified_huber: (clip(p, −1, 1) + 1) / 2, normalised over classes (scikit-learn's)."""
        scores = self.decision_function(X).astype(np.float64)
        if self.loss == "log_loss" and self._multiclass() == "multinomial":
            return softmax(scores, axis=1)
        if self.loss == "log_loss":
            positive = expit(scores)
        else:
            positive = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
        if positive.ndim == 1:
            return np.column_stack([1.0 - positive, positive])
        totals = positive.sum(axis=1, keepdims=True)
        uniform = np.full_like(positive, 1.0 / positive.shape[1])
        return np.where(totals > 0, positive / np.where(totals > 0, totals, 1.0), uniform)

    @available_if(_has_probabilities)
    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]
