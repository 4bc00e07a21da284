"""GDRegressor and GDClassifier for dask arrays: the in-memory estimators' parameters, target
encoding, training state, stopping rule and fitted attributes, with the data's passes run
chunk by chunk on the workers."""
import inspect
from dataclasses import replace
from functools import partial

import dask
import dask.array as da
import numpy as np
from distributed import KilledWorker
from sklearn.base import _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names, _check_n_features, check_is_fitted

from gdfast import linear_model
from gdfast._constraints import POSITIVE_INTEGER, one_of
from gdfast.dask import _chunks, _labels, _statistics
from gdfast.dask._passes import ChunkedPasses
from gdfast.dask._strategies import EPOCHS, STRATEGIES
from gdfast.linear_model._base import MAX_ROWS
from gdfast.linear_model._classifier import _has_probabilities
from gdfast.linear_model._passes import objective_config
from gdfast.linear_model._statistics import (FeatureStatistics, combined_moments,
                                             statistics_from_moments)
from gdfast.linear_model._state import TrainingState

DASK_PARAMETERS_DOC = """
    The parameters, fitted attributes and methods of the in-memory estimator of the same name
    in gdfast, for X a dask array (or a dask dataframe, by its values) chunked along the rows;
    y and sample_weight may be dask or in-memory. The tasks of a fit read the chunks of rows
    on the workers, with the compiled kernel; only parameter-sized vectors go between the
    workers and the client. Persist X (X.persist()) when it fits in the workers' memory: each
    epoch reads every chunk again, and a pass over chunks in memory runs one task per worker
    thread (over the chunks that worker holds) rather than one per chunk. Differences:

    strategy : {'gradient', 'local_sgd'}, default='gradient'
        'gradient': synchronous gradient descent. For each batch every chunk returns the
        gradient sum and loss sum of its rows in the batch, added in the chunks' order
        (whichever worker holds them), and the client takes one optimizer step: the in-memory estimator's steps, whatever
        the chunking. The full batch (batch_size=None) is one round trip per epoch; a
        mini-batch of batch_size rows drawn across the chunks is one round trip per batch
        (meant for large batches: each costs the scheduler's time for a round).
        'local_sgd': model averaging. Each round every chunk runs local_epochs epochs of
        batch_size-row updates over its own rows (shuffled) from the current model, and the
        chunks' models and optimizer states are averaged, weighted by their rows. max_iter,
        tol and n_iter_no_change count rounds.
    local_epochs : int, default=1
        Epochs each chunk runs per round with strategy='local_sgd'.
    batch_size : int or None, default=None
        None: the full batch. With strategy='local_sgd', the rows of each local update
        (1 is per-sample SGD; None, each chunk's full batch).
    n_jobs : int or None, default=None
        Threads each chunk's task uses for a large batch; None means 1 (Dask already runs one
        task per worker thread).
    scale : bool or 'auto', default='auto'
        As in memory, from the features' weighted moments over every chunk (each chunk's
        combined with the others' by the pairwise rule).
    early_stopping : bool, default=False
        As in memory, with the held-out rows drawn in each chunk: about validation_fraction
        of every chunk's rows (seeded by random_state; not stratified), scored unweighted.
    average : bool, int or 'auto', default='auto'
        As in memory. With strategy='gradient' the client averages the iterates of its
        steps. With strategy='local_sgd' each chunk averages its own iterates, continuing
        the running average the round started from, and the chunks' averages are averaged;
        the updates are counted per chunk (a round adds their mean), so 'auto' starts
        halfway through a chunk's first local epoch.
"""

# The scheduler runs a task again on another worker when the one running it dies, up to its
# allowed-failures; past that the computation fails with Dask's KilledWorker, given to the
# user with what it means for the estimator and what to do.
WORKER_LOST = (
    "A Dask worker died while running a task of this fit, and the scheduler gave up on the "
    "task (it retries a task on another worker up to distributed.scheduler.allowed-failures "
    "times). The fit stopped and the estimator keeps the model it had before (none, if it "
    "was not fitted). Workers die when they run out of memory (their memory_limit), are "
    "killed or lose their machine: see the workers' logs, then fit again. Dask's message: "
    "{error}")

_EXTRA_PARAMETERS = {"strategy": "gradient", "local_epochs": 1}
_CHANGED_DEFAULTS = {"batch_size": None}


def _dask_init(base):
    """An __init__ for a subclass of `base` taking base's parameters (batch_size defaulting
    to the full batch) and the strategy's. scikit-learn reads an estimator's parameters from
    its __init__'s signature; composing it from base's keeps each parameter declared once."""
    parameters = [parameter.replace(default=_CHANGED_DEFAULTS.get(name, parameter.default))
                  for name, parameter in inspect.signature(base.__init__).parameters.items()]
    parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
                   for name, default in _EXTRA_PARAMETERS.items()]
    signature = inspect.Signature(parameters)

    def __init__(self, *args, **kwargs):
        arguments = signature.bind(self, *args, **kwargs)
        arguments.apply_defaults()
        values = dict(arguments.arguments)
        del values["self"]
        for name in _EXTRA_PARAMETERS:
            setattr(self, name, values.pop(name))
        base.__init__(self, values.pop("loss"), **values)

    __init__.__signature__ = signature
    return __init__


def _in_memory(X):
    return not dask.is_dask_collection(X)


class _DaskTraining:
    """What the Dask estimators add to the in-memory ones: fit and partial_fit on chunked
    data, and prediction blockwise on the workers."""

    _dask_constraints = {"strategy": [one_of(STRATEGIES)], "local_epochs": [POSITIVE_INTEGER]}

    def _n_threads(self):
        return 1 if self.n_jobs is None else super()._n_threads()

    # Rows per chunk of the current fit: a local-SGD round's updates are a chunk's.
    _rows_per_chunk = None

    def _average_start(self, n_samples=None):
        """As in memory. With 'local_sgd' the updates t counts are each chunk's (a round adds
        their mean), so 'auto' starts halfway through a chunk's first local epoch."""
        if self.strategy == "local_sgd" and n_samples and self._rows_per_chunk:
            n_samples = min(n_samples, self._rows_per_chunk)
        return super()._average_start(n_samples)

    # --- fitting -------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model (from zero coefficients unless warm_start); return self."""
        self._fit_chunked(X, y, sample_weight, partial=False)
        return self

    def _fit_chunked(self, X, y, sample_weight, *, partial, classes=None):
        """Check the data, run the passes and the epochs; on any error, the estimator keeps
        every attribute it had before."""
        previous = dict(self.__dict__)
        try:
            self._train_chunked(X, y, sample_weight, partial=partial, classes=classes)
        except BaseException as error:
            self.__dict__.clear()
            self.__dict__.update(previous)
            if isinstance(error, KilledWorker):
                raise RuntimeError(WORKER_LOST.format(error=error)) from error
            raise

    def _train_chunked(self, X, y, sample_weight, *, partial, classes):
        optimizer, schedule = self._options(partial=partial)
        resume = hasattr(self, "_state") and (partial or self.warm_start)
        X, y, sample_weight = self._chunked_data(X, y, sample_weight,
                                                 reset=not resume)
        dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
        self._rows_per_chunk = -(-X.shape[0] // len(X.chunks[0]))
        holdout = None
        if self.early_stopping and not partial:
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            holdout = (float(self.validation_fraction), int(seed))
        # A classifier's labels are counted by the pass that describes the data, unless that
        # pass's weights depend on them (class_weight) or it leaves rows out (early stopping):
        # then by a pass over y before it.
        labels_described = (self._is_classifier() and self.class_weight is None
                            and holdout is None)
        class_weights = (None if labels_described
                         else self._learn_classes(y, sample_weight, classes, partial=partial))
        prepare = _chunks.Preparation(self._task_model(), dtype, self._is_classifier(),
                                      class_weights, holdout=holdout,
                                      first_rows=_chunks.first_rows(X),
                                      given_weights=sample_weight is not None,
                                      raw_labels=labels_described)
        # The largest row norm is needed for the automatic step of batches smaller than the
        # rows (asked for when they are smaller than X's, held-out rows included).
        candidates = (self._needs_row_norms(optimizer)
                      and not self._full_batch(X.shape[0]))
        sums = _statistics.describe_chunks(X, y, sample_weight, prepare, prepare.model,
                                           scale=self._scaled(), candidates=candidates)
        if labels_described:
            labels, counts, weights = sums["labels"]
            self._classes_from_counts(labels, counts, classes, partial=partial)
            sums["target"] = np.zeros(len(self.classes_))
            sums["target"][np.searchsorted(self.classes_, labels)] = weights
            prepare = replace(prepare, model=self._task_model(), raw_labels=False)
        n_samples, total = int(sums["rows"]), float(sums["weight"])
        if n_samples == 0:
            raise ValueError("X has no rows to train on" + (
                f" once validation_fraction={self.validation_fraction} of them are held out"
                if holdout else "") + ": give at least one row.")
        if n_samples > MAX_ROWS:
            raise ValueError(f"X has {n_samples} rows; gdfast handles at most {MAX_ROWS}.")
        if not total > 0:
            raise ValueError("sample_weight is zero for every row: at least one row needs a "
                             "positive weight.")
        unit_weights = sample_weight is None and class_weights is None
        # The weights rescaled to average 1 over the rows, as in memory.
        prepare = replace(prepare, scale=1.0 if unit_weights else n_samples / total)
        if resume:
            state = self._resume_state(X.shape[0], X.shape[1], dtype, optimizer)
            if partial:
                self._follow_chunked_stream(state, sums, prepare, optimizer)
        else:
            state = self._chunked_new_state(X, y, sample_weight, prepare, sums, optimizer,
                                            stream=partial)
        epoch = EPOCHS[self.strategy](self, X, y, sample_weight, prepare, n_samples)
        passes = self._chunked_passes(X, y, sample_weight, prepare, n_samples)
        state, history, interrupt = self._train(
            epoch, (n_samples, X.shape[1]), state, optimizer, schedule,
            1 if partial else self.max_iter, stopping=not partial,
            validation=None if holdout is None else (X, y, prepare),
            model_objective=self._model_objective(passes),
            optimality_gap=self._optimality_gap(passes))
        self._record_fit(state, history, partial=partial, resume=resume,
                         validation=holdout is not None)
        if interrupt is not None:
            raise interrupt     # Ctrl-C: the model of the last finished epoch is kept

    def _chunked_passes(self, X, y, sample_weight, prepare, n_samples):
        """passes(state): the in-memory fit's passes over X (_passes_over), each a round
        trip that adds up the chunks' sums."""
        config = objective_config(self)

        def passes(state):
            return ChunkedPasses(X, y, sample_weight, prepare, state.mean, state.inv_scale,
                                 self.fit_intercept, config, n_samples)
        return passes

    def _chunked_data(self, X, y, sample_weight, *, reset):
        """The inputs as row-chunked dask arrays, X's feature names and count checked (or
        recorded, with reset) as in memory."""
        if _in_memory(X):
            # The in-memory estimator's checks and messages, then one chunk.
            weighted = sample_weight is not None
            X, y, sample_weight = self._validate_fit_data(
                X, y, sample_weight, y_numeric=not self._is_classifier(), reset=reset)
            return _chunks.row_chunked(da.from_array(X, chunks=X.shape), y,
                                       sample_weight if weighted else None)
        meta = getattr(X, "_meta", None)
        X, y, sample_weight = _chunks.row_chunked(X, y, sample_weight)
        self._check_features(X, meta, reset=reset)
        return X, y, sample_weight

    def _check_features(self, X, meta, *, reset):
        names = meta if meta is not None and hasattr(meta, "columns") else np.empty((0, 0))
        _check_feature_names(self, names, reset=reset)
        _check_n_features(self, np.empty((0, X.shape[1])), reset=reset)

    def _task_model(self):
        """What the chunks' tasks need of the estimator: its parameters (and classes_)."""
        model = clone(self)
        if hasattr(self, "classes_"):
            model.classes_ = self.classes_
        return model

    def _chunked_new_state(self, X, y, sample_weight, prepare, sums, optimizer, *, stream):
        """The in-memory estimator's new state, from the chunks' description (sums): weights
        at zero; with center, the feature means and the best constant intercepts; with scale,
        the features' scales. stream (partial_fit): the state also keeps the rows' moments,
        which later calls update (_follow_chunked_stream)."""
        n_samples = int(sums["rows"])
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        features = self._feature_statistics(sums, prepare.dtype)
        intercepts = (self._chunked_intercepts(X, y, sample_weight, prepare, sums)
                      if self._centred() else np.zeros(self._n_outputs()))
        # The sums are of the weights as given; the fit's are those times prepare.scale.
        norm_total = prepare.scale * features.norm_total(self.fit_intercept)
        largest = 0.0
        if self._needs_row_norms(optimizer) and not self._full_batch(n_samples):
            largest = prepare.scale * _statistics.largest_norm(
                sums, X, y, sample_weight, replace(prepare, scale=1.0), features.mean,
                features.inv_scale, self.fit_intercept)
        rate = self._rate_from_row_norms(optimizer, norm_total, largest, n_samples)
        moments = (self._call_moments(sums, prepare)
                   if stream and (self._centred() or self._scaled()) else None)
        return TrainingState.new(features.mean, intercepts, optimizer, seed, rate,
                                 inv_scale=features.inv_scale, moments=moments,
                                 average_start=self._average_start(n_samples))

    def _feature_statistics(self, sums, dtype):
        """The FeatureStatistics (without row distances) of the chunks' combined moments."""
        moments = sums["moments"]
        mean, inv_scale = statistics_from_moments(moments, dtype, center=self._centred(),
                                                  scale=self._scaled())
        return FeatureStatistics(mean=mean, inv_scale=inv_scale, weight=moments.weight,
                                 weighted_mean=moments.mean, variance=moments.variance,
                                 shift=np.zeros_like(moments.mean), max_abs=moments.max_abs)

    @staticmethod
    def _call_moments(sums, prepare):
        """The moments of this call's rows under the fit's weights (averaging 1 over them),
        as in memory a stream's chunk counts."""
        moments = sums["moments"]
        return moments._replace(weight=moments.weight * prepare.scale)

    def _follow_chunked_stream(self, state, sums, prepare, optimizer):
        """A stream's next call: the statistics become those of every row so far, and the
        state moves to them with the model unchanged, as in memory."""
        if state.moments is None:
            return
        state.moments = combined_moments(state.moments, self._call_moments(sums, prepare))
        mean, inv_scale = statistics_from_moments(
            state.moments, state.coef.dtype, center=self._centred(), scale=self._scaled())
        state.restandardise(mean, inv_scale, optimizer.buffer_units)

    def _validation_score(self, state, X, y, prepare):
        """The score (R² or accuracy, unweighted as in memory) of state's model on the rows
        each chunk holds out, from sums over the chunks."""
        model = self._in_memory_class(**self._in_memory_params())
        model.n_features_in_ = X.shape[1]
        if hasattr(self, "classes_"):
            model.classes_ = self.classes_
        model._set_fitted_coef(*state.model_coef())
        sums = _chunks.reduce_chunks(_chunk_validation_sums, X, y, None, prepare, model,
                                     self._validation_sums)
        if sums["rows"] == 0:
            raise ValueError(f"early_stopping: validation_fraction={self.validation_fraction} "
                             f"of {X.shape[0]} rows held out none. Use more rows, a larger "
                             "validation_fraction, or early_stopping=False.")
        return self._score_from_sums(sums)

    def _in_memory_params(self):
        return {name: value for name, value in self.get_params(deep=False).items()
                if name not in _EXTRA_PARAMETERS}

    # --- prediction ------------------------------------------------------------------------

    def _blockwise(self, method, X, *, columns):
        """The in-memory `method` on each row chunk of a dask X, on the workers: a dask array
        of `columns` columns (None: one value per row). In-memory X: the in-memory method."""
        if _in_memory(X):
            return getattr(self._in_memory_model(), method)(X)
        check_is_fitted(self)
        meta = getattr(X, "_meta", None)
        X = _chunks.as_dask_array(X, "X")
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-d dask array for X (rows × features); got "
                             f"{X.ndim} dimension(s).")
        X = X.rechunk({1: -1})
        self._check_features(X, meta, reset=False)
        model = self._in_memory_model(with_feature_names=False)
        # The in-memory method's result type for X's dtype, from one row.
        dtype = getattr(model, method)(np.zeros((1, X.shape[1]), dtype=X.dtype)).dtype
        function = partial(_apply, model, method)
        if columns is None:
            return X.map_blocks(function, drop_axis=1, dtype=dtype)
        return X.map_blocks(function, chunks=(X.chunks[0], (columns,)), dtype=dtype)

    def _in_memory_model(self, *, with_feature_names=True):
        """The fitted model as the in-memory estimator (what each prediction task runs)."""
        check_is_fitted(self)
        base = self._in_memory_class
        model = base(**self._in_memory_params())
        skip = () if with_feature_names else ("feature_names_in_",)
        model.__dict__.update({name: value for name, value in self.__dict__.items()
                               if name.endswith("_") and not name.startswith("__")
                               and name not in skip or name == "_state"})
        return model

    def score(self, X, y, sample_weight=None):
        """R² (regressor) or accuracy (classifier), as the in-memory score; on dask arrays,
        from sums over the chunks computed on the workers."""
        if _in_memory(X):
            return self._in_memory_model().score(X, y, sample_weight)
        predictions = self.predict(X)
        y = _chunks._aligned(y, predictions[:, None], "y")
        weights = (da.ones_like(y, dtype=np.float64) if sample_weight is None
                   else _chunks._aligned(sample_weight, predictions[:, None], "sample_weight"))
        return self._score_sums(y, predictions, weights)


def _apply(model, method, X):
    return getattr(model, method)(X)


def _chunk_validation_sums(X, y, sample_weight, prepare, model, validation_sums):
    """validation_sums(model, rows, targets) on a chunk's held-out rows."""
    X, y = prepare.validation_rows(X, y)
    return validation_sums(model, X, y)


class GDRegressor(_DaskTraining, linear_model.GDRegressor):
    __doc__ = ("Linear regression by gradient descent on a Dask cluster.\n"
               + DASK_PARAMETERS_DOC + "\n    The in-memory estimator's documentation:\n"
               + linear_model.GDRegressor.__doc__)
    _parameter_constraints = {**linear_model.GDRegressor._parameter_constraints,
                              **_DaskTraining._dask_constraints}
    _in_memory_class = linear_model.GDRegressor
    __init__ = _dask_init(linear_model.GDRegressor)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch (or round) over these rows, continuing the fitted model and state."""
        self._fit_chunked(X, y, sample_weight, partial=True)
        return self

    def _is_classifier(self):
        return False

    def _learn_classes(self, y, sample_weight, classes, *, partial):
        return None

    @staticmethod
    def _target_sums(y, weights):
        """Σ s·y (weights None: every weight 1)."""
        if weights is None:
            return float(np.sum(y, dtype=np.float64))
        return float(weights @ y.astype(np.float64, copy=False))

    def _chunked_intercepts(self, X, y, sample_weight, prepare, sums):
        if self.loss == "squared_error":
            return np.array([float(sums["target"]) / float(sums["weight"])])
        from gdfast.dask._median import weighted_median
        return np.array([weighted_median(y, sample_weight, prepare)])


    def predict(self, X):
        """Predicted targets X·coef_ + intercept_ (a dask array for a dask X)."""
        return self._blockwise("predict", X, columns=None)

    @staticmethod
    def _validation_sums(model, X, y):
        y = y.astype(np.float64)
        residuals = y - model.predict(X) if len(y) else y
        return {"rows": len(y), "targets": float(np.sum(y)), "squares": float(y @ y),
                "residuals": float(residuals @ residuals)}

    @staticmethod
    def _score_from_sums(sums):
        spread = sums["squares"] - sums["targets"] ** 2 / sums["rows"]
        if spread <= 0:
            return 1.0 if sums["residuals"] == 0 else 0.0
        return 1.0 - sums["residuals"] / spread

    @staticmethod
    def _score_sums(y, predictions, weights):
        y = y.astype(np.float64)
        total = weights.sum()
        mean = (weights * y).sum() / total
        residual = (weights * (y - predictions) ** 2).sum()
        spread = (weights * (y - mean) ** 2).sum()
        residual, spread = dask.compute(residual, spread)
        if spread == 0:
            return 1.0 if residual == 0 else 0.0
        return float(1.0 - residual / spread)


class GDClassifier(_DaskTraining, linear_model.GDClassifier):
    __doc__ = ("Linear classification by gradient descent on a Dask cluster.\n"
               + DASK_PARAMETERS_DOC + "\n    The in-memory estimator's documentation:\n"
               + linear_model.GDClassifier.__doc__)
    _parameter_constraints = {**linear_model.GDClassifier._parameter_constraints,
                              **_DaskTraining._dask_constraints}
    _in_memory_class = linear_model.GDClassifier
    __init__ = _dask_init(linear_model.GDClassifier)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch (or round) over these rows, continuing the fitted model and state. The
        first call needs `classes`, all the labels that will ever be seen."""
        self._fit_chunked(X, y, sample_weight, partial=True, classes=classes)
        return self

    def _is_classifier(self):
        return True

    def _learn_classes(self, y, sample_weight, classes, *, partial):
        """Set classes_ from the labels in y (one pass over y); return the per-class weights
        of class_weight (None without it)."""
        labels, counts = _chunks.reduce_chunks(_chunk_labels, y[:, None], y, None,
                                               combine=_labels.merge_label_counts)
        return self._classes_from_counts(labels, counts, classes, partial=partial)

    def _classes_from_counts(self, labels, counts, classes, *, partial):
        """Set classes_ from the labels seen and their row counts (checked against classes
        and the previous fit's); return the per-class weights of class_weight (None without
        it)."""
        first_call = not (partial and hasattr(self, "_state"))
        if partial:
            if first_call and classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            known = np.unique(np.asarray(classes)) if first_call else self.classes_
            if not first_call and classes is not None \
                    and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"`classes={classes!r}` is not the same as on the first "
                                 f"call to partial_fit, was: {self.classes_!r}")
            unseen = np.setdiff1d(labels, known)
            if unseen.size:
                raise ValueError(f"y contains labels {unseen!r} that are not in classes "
                                 f"{known!r}.")
            seen = dict(zip(labels.tolist(), counts.tolist()))
            labels, counts = known, np.array([seen.get(label, 0) for label in known.tolist()])
        self._check_classes(labels)
        if (not partial and self.warm_start and hasattr(self, "classes_")
                and not np.array_equal(labels, self.classes_)):
            raise ValueError(f"warm_start: the classes {labels} differ from those of the "
                             f"previous fit, {self.classes_}.")
        self.classes_ = labels
        return self._class_weights(counts)

    def _class_weights(self, counts):
        """The weight of each class of classes_ under class_weight, given the classes' row
        counts (what 'balanced' needs): scikit-learn's compute_class_weight."""
        if self.class_weight is None:
            return None
        from sklearn.utils.class_weight import compute_class_weight
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(f"class_weight names labels {sorted(unknown)!r} that are not "
                                 f"in the classes {self.classes_.tolist()!r}.")
        # 'balanced' depends on y only through the class counts: a y with those counts.
        return compute_class_weight(self.class_weight, classes=self.classes_,
                                    y=np.repeat(self.classes_, counts))

    def _target_sums(self, y, weights):
        """The weight of each class's rows (y encoded: two classes, positive is classes_[1];
        weights None: every weight 1)."""
        index = (y > 0) if len(self.classes_) == 2 else y
        return np.bincount(index.astype(np.intp), weights=weights,
                           minlength=len(self.classes_)).astype(np.float64)

    def _chunked_intercepts(self, X, y, sample_weight, prepare, sums):
        return self._intercepts_from_shares(np.asarray(sums["target"]) / float(sums["weight"]),
                                            int(sums["rows"]))


    def decision_function(self, X):
        """Scores X·coef_ᵀ + intercept_ (a dask array for a dask X)."""
        check_is_fitted(self)
        return self._blockwise("decision_function", X,
                               columns=None if len(self.classes_) == 2 else len(self.classes_))

    @available_if(_has_probabilities)
    def predict_proba(self, X):
        """Class probabilities, one column per class (a dask array for a dask X)."""
        check_is_fitted(self)
        return self._blockwise("predict_proba", X, columns=len(self.classes_))

    @available_if(_has_probabilities)
    def predict_log_proba(self, X):
        """Logarithms of predict_proba (a dask array for a dask X)."""
        check_is_fitted(self)
        return self._blockwise("predict_log_proba", X, columns=len(self.classes_))

    def predict(self, X):
        """Predicted class labels (a dask array for a dask X)."""
        return self._blockwise("predict", X, columns=None)

    @staticmethod
    def _validation_sums(model, X, y):
        correct = int(np.sum(model.predict(X) == y)) if len(y) else 0
        return {"rows": len(y), "correct": correct}

    @staticmethod
    def _score_from_sums(sums):
        return sums["correct"] / sums["rows"]

    @staticmethod
    def _score_sums(y, predictions, weights):
        correct, total = dask.compute((weights * (predictions == y)).sum(), weights.sum())
        return float(correct / total)


def _chunk_labels(X, y, sample_weight):
    """The labels of a chunk of y and their row counts."""
    y = np.asarray(y)
    if y.size:
        _labels.check_labels(y)
    return _labels.label_counts(y)
