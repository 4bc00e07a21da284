"""Bad input gets a short, clear ValueError or TypeError; nothing crashes; inputs stay as given."""
import threading

import numpy as np
import pytest

from gdfast import GDClassifier, GDRegressor

rng = np.random.default_rng(61)
X_GOOD = rng.standard_normal((20, 3))
Y_REG = rng.standard_normal(20)
Y_CLF = np.arange(20) % 2


def with_value(array, index, value, dtype=None):
    out = np.array(array, dtype=dtype if dtype is not None else np.asarray(array).dtype)
    out[index] = value
    return out


# (name, estimator, X, y, sample_weight, error, message fragment)
CASES = [
    ("NaN in X", GDRegressor(), with_value(X_GOOD, (3, 1), np.nan), Y_REG, None, ValueError,
     "X contains NaN at row 3, column 1."),
    ("infinity in X", GDRegressor(), with_value(X_GOOD, (0, 0), np.inf), Y_REG, None, ValueError,
     "X contains infinity at row 0, column 0."),
    ("-infinity in float32 X", GDClassifier(batch_size=None),
     with_value(X_GOOD, (19, 2), -np.inf, np.float32), Y_CLF, None, ValueError,
     "X contains infinity at row 19, column 2."),
    ("NaN in a row of zero weight", GDRegressor(optimizer="adam"),
     with_value(X_GOOD, (7, 0), np.nan), Y_REG, with_value(np.ones(20), 7, 0.0), ValueError,
     "X contains NaN at row 7, column 0."),
    ("NaN in X without centring", GDRegressor(center=False, learning_rate=0.01),
     with_value(X_GOOD, (12, 2), np.nan), Y_REG, None, ValueError,
     "X contains NaN at row 12, column 2."),
    ("NaN in the validation rows", GDClassifier(early_stopping=True, validation_fraction=0.5),
     with_value(with_value(X_GOOD, (16, 1), np.nan), (18, 0), np.inf), Y_CLF, None, ValueError,
     "X contains NaN at row 16, column 1."),
    ("NaN in y", GDRegressor(), X_GOOD, with_value(Y_REG, 4, np.nan), None, ValueError,
     "Input y contains NaN"),
    ("infinity in y", GDRegressor(), X_GOOD, with_value(Y_REG, 4, -np.inf), None, ValueError,
     "Input y contains infinity"),
    ("NaN in sample_weight", GDRegressor(), X_GOOD, Y_REG, with_value(np.ones(20), 2, np.nan),
     ValueError, "contains NaN"),
    ("infinity in sample_weight", GDClassifier(), X_GOOD, Y_CLF,
     with_value(np.ones(20), 2, np.inf), ValueError, "contains infinity"),
    ("negative sample_weight", GDRegressor(), X_GOOD, Y_REG, with_value(np.ones(20), 0, -1.0),
     ValueError, "Negative values in data passed to `sample_weight`"),
    ("all-zero sample_weight", GDRegressor(), X_GOOD, Y_REG, np.zeros(20), ValueError,
     "sample_weight is zero for every row: at least one row needs a positive weight"),
    ("sample_weight of the wrong length", GDRegressor(), X_GOOD, Y_REG, np.ones(5), ValueError,
     "sample_weight.shape == (5,), expected (20,)"),
    ("0 rows", GDRegressor(), np.empty((0, 3)), np.empty(0), None, ValueError,
     "0 sample(s) (shape=(0, 3)) while a minimum of 1 is required"),
    ("0 features", GDRegressor(), np.empty((20, 0)), Y_REG, None, ValueError,
     "0 feature(s) (shape=(20, 0)) while a minimum of 1 is required"),
    ("1-D X", GDRegressor(), X_GOOD[:, 0], Y_REG, None, ValueError,
     "Expected 2D array, got 1D array instead. Reshape your data either using "
     "array.reshape(-1, 1)"),
    ("3-D X", GDRegressor(), X_GOOD.reshape(20, 3, 1), Y_REG, None, ValueError,
     "Found array with dim 3"),
    ("X and y of different lengths", GDRegressor(), X_GOOD, Y_REG[:-1], None, ValueError,
     "Found input variables with inconsistent numbers of samples: [20, 19]"),
    ("strings in X", GDRegressor(), np.array([["a", "b", "c"]] * 20), Y_REG, None, ValueError,
     "could not convert string to float"),
    ("objects in X", GDRegressor(), np.array([[object()] * 3] * 20, dtype=object), Y_REG, None,
     TypeError, "float() argument must be a string or a"),
    ("complex X", GDRegressor(), X_GOOD + 1j, Y_REG, None, ValueError,
     "Complex data not supported"),
    ("complex y", GDRegressor(), X_GOOD, Y_REG + 1j, None, ValueError,
     "Complex data not supported"),
    ("strings as regression targets", GDRegressor(), X_GOOD, np.array(["a"] * 20), None,
     ValueError, "could not convert string to float"),
    ("a single class", GDClassifier(), X_GOOD, np.ones(20), None, ValueError,
     "The number of classes has to be greater than one; got 1 class"),
    ("continuous targets to the classifier", GDClassifier(), X_GOOD, Y_REG, None, ValueError,
     "Unknown label type: continuous"),
    ("2-D y to the regressor", GDRegressor(), X_GOOD, np.ones((20, 2)), None, ValueError,
     "y should be a 1d array"),
    ("bad hyper-parameter", GDRegressor(learning_rate=-1.0), X_GOOD, Y_REG, None, ValueError,
     "The 'learning_rate' parameter of GDRegressor must be a float in the range (0.0, inf) "
     "or a str among {'auto'}. Got -1.0 instead."),
    ("bad optimizer hyper-parameter", GDClassifier(optimizer="nesterov", learning_rate=0.1)
     .set_params(optimizer=__import__("gdfast").optim.Nesterov(momentum=0)), X_GOOD, Y_CLF,
     None, ValueError, "The 'momentum' parameter of the optimizer Nesterov must be a float in "
     "the range (0.0, 1.0). Got 0 instead."),
    ("early stopping with too few rows", GDClassifier(early_stopping=True,
     validation_fraction=0.01), X_GOOD[:4], Y_CLF[:4], None, ValueError,
     "early_stopping: cannot hold out validation_fraction=0.01 of 4 rows"),
]


@pytest.mark.parametrize("name, estimator, X, y, sample_weight, error, message", CASES,
                         ids=[case[0] for case in CASES])
def test_bad_input_gets_a_clear_error(name, estimator, X, y, sample_weight, error, message):
    arrays = [a for a in (X, y, sample_weight) if a is not None]
    copies = [np.array(a, copy=True) for a in arrays]
    with pytest.raises(error) as info:
        estimator.fit(X, y, sample_weight=sample_weight)
    text = str(info.value)
    assert message in text, text
    assert len(text) < 700 and "array=" not in text and "[[" not in text, "no data dump"
    for array, copy in zip(arrays, copies):
        assert array.dtype == copy.dtype and array.shape == copy.shape
        if array.dtype != object:
            np.testing.assert_array_equal(array, copy)
    assert not hasattr(estimator, "coef_")


@pytest.mark.parametrize("Estimator, y", [(GDRegressor, Y_REG), (GDClassifier, Y_CLF)])
def test_bad_input_at_predict(Estimator, y):
    model = Estimator(max_iter=3, tol=None).fit(X_GOOD, y)
    for X, message in [(X_GOOD[:, :2], f"X has 2 features, but {Estimator.__name__} is "
                                       "expecting 3 features as input"),
                       # predict keeps scikit-learn's check: it reads X once anyway.
                       (with_value(X_GOOD, (0, 0), np.nan), "Input X contains NaN"),
                       (X_GOOD[:, 0], "Expected 2D array, got 1D array instead.")]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            model.predict(X)


def test_divergence_with_a_users_learning_rate_names_the_epoch_and_the_remedy():
    X = X_GOOD * 1e4
    for model in (GDRegressor(learning_rate=1.0, center=False),
                  GDClassifier(loss="modified_huber", learning_rate=1e300, center=False)):
        with pytest.raises(ValueError, match=r"overflow occurred at epoch #\d+\. Scaling the "
                                             r"features \(scale=True\) might help, or a smaller "
                                             r"learning_rate"):
            model.fit(X, Y_REG if isinstance(model, GDRegressor) else Y_CLF)
        assert not hasattr(model, "coef_")


@pytest.mark.parametrize("tol", [1e-3, None])
def test_a_fit_whose_objective_grows_without_overflow_is_an_error_too(tol):
    """The full-batch step 0.2 on features of scale 5 and offset 3 overshoots further each
    epoch: the stopping rule would stop at the first plateau of 'no improvement' with
    coefficients of 1e7, and max_iter=12 ends before the numbers overflow. Either way the
    fit raises and keeps no model."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3)) * 5 + 3
    y = X @ [1.0, 2.0, 3.0] + 0.1 * rng.standard_normal(50)
    model = GDRegressor(learning_rate=0.2, batch_size=None, center=False,
                        lr_schedule="constant", tol=tol, max_iter=12)
    with pytest.raises(ValueError, match=r"The training diverged: its objective rose in each "
                                         r"of the last \d+ epochs, to .* from .* in the first\. "
                                         r"Scaling the features"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")


def test_a_fit_that_oscillates_down_is_not_called_diverging():
    """Full-batch momentum overshoots and climbs back (its losses rise for epochs on end)
    but never ten times above where it began: a model, no error."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((500, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 0.1 * rng.standard_normal(500)
    model = GDRegressor(optimizer="momentum", batch_size=None, tol=None, max_iter=60,
                        random_state=0).fit(X, y)
    rises = np.diff(model.loss_curve_) > 0
    assert rises.sum() >= 3
    assert np.mean((model.predict(X) - y) ** 2) < 0.05       # near the noise's 0.01


@pytest.mark.parametrize("Estimator, y", [(GDRegressor, Y_REG), (GDClassifier, Y_CLF)])
@pytest.mark.parametrize("n_columns", [2, 6])
def test_warm_start_on_other_columns_is_refused_and_keeps_the_model(Estimator, y, n_columns):
    model = Estimator(warm_start=True, max_iter=3, tol=None).fit(X_GOOD, y)
    coef = model.coef_.copy()
    other = np.hstack([X_GOOD, X_GOOD])[:, :n_columns]
    with pytest.raises(ValueError, match=f"X has {n_columns} features, but "
                                         f"{Estimator.__name__} is expecting 3 features"):
        model.fit(other, y)
    assert model.n_features_in_ == 3
    np.testing.assert_array_equal(model.coef_, coef)
    assert Estimator(warm_start=False, max_iter=3, tol=None).fit(other, y).coef_.shape[-1] \
        == n_columns


def test_early_stopping_on_a_single_held_out_row_is_refused():
    """R² is undefined on one row: the regressor would run every epoch on NaN scores."""
    X = np.random.default_rng(5).standard_normal((50, 3))
    y = X @ [1.0, 2.0, 3.0]
    model = GDRegressor(early_stopping=True, validation_fraction=0.01, random_state=0)
    with pytest.raises(ValueError, match=r"validation_fraction=0.01 of 50 rows holds out 1, "
                                         r"and the validation score \(R²\) needs at least 2"):
        model.fit(X, y)
    assert GDRegressor(early_stopping=True, validation_fraction=0.04, max_iter=5,
                       random_state=0).fit(X, y).validation_scores_[-1] > 0.5


def test_a_failed_partial_fit_keeps_the_previous_model():
    model = GDRegressor(learning_rate=1e-3, center=False).partial_fit(X_GOOD, Y_REG)
    before = model.coef_.copy(), model._state.t
    with pytest.raises(ValueError, match="overflow"):
        model.set_params(learning_rate=1e6).partial_fit(X_GOOD * 1e6, Y_REG)
    np.testing.assert_array_equal(model.coef_, before[0])
    assert model._state.t == before[1] and np.all(np.isfinite(model.coef_))


@pytest.mark.parametrize("Estimator, y", [(GDRegressor, Y_REG), (GDClassifier, Y_CLF)])
@pytest.mark.parametrize("call", ["partial_fit", "warm_start"])
def test_a_continued_fit_checks_that_X_is_finite(Estimator, y, call):
    # A continued fit takes no statistics of X, so its finiteness is checked on its own.
    model = Estimator(max_iter=3, tol=None, warm_start=call == "warm_start")
    extra = {"classes": [0, 1]} if call == "partial_fit" and Estimator is GDClassifier else {}
    getattr(model, "partial_fit" if call == "partial_fit" else "fit")(X_GOOD, y, **extra)
    before = model.coef_.copy(), model.intercept_.copy(), model.n_iter_
    bad = with_value(with_value(X_GOOD, (9, 2), np.inf), (14, 0), np.nan)
    with pytest.raises(ValueError, match=r"^X contains infinity at row 9, column 2\.$"):
        getattr(model, "partial_fit" if call == "partial_fit" else "fit")(bad, y)
    np.testing.assert_array_equal(model.coef_, before[0])
    np.testing.assert_array_equal(model.intercept_, before[1])
    assert model.n_iter_ == before[2]


def test_fits_in_two_threads_equal_fits_one_after_the_other():
    X = rng.standard_normal((20000, 20))
    y = X @ rng.standard_normal(20)
    params = [dict(optimizer="adam", random_state=1), dict(batch_size=32, random_state=2)]
    sequential = [GDRegressor(max_iter=5, tol=None, **p).fit(X, y).coef_ for p in params]
    results = [None, None]

    def fit(i):
        results[i] = GDRegressor(max_iter=5, tol=None, **params[i]).fit(X, y).coef_

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, expected in zip(results, sequential):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("sparse", [False, True])
def test_a_later_stream_chunk_with_nan_is_named_and_the_model_kept(sparse):
    """A continuing stream reads each chunk once, for its moments; that pass finds the NaN."""
    import scipy.sparse
    X = np.random.default_rng(0).standard_normal((50, 3))
    y = X.sum(axis=1)
    bad = X.copy()
    bad[7, 2] = np.nan
    as_input = scipy.sparse.csr_matrix if sparse else np.asarray
    model = GDRegressor().partial_fit(as_input(X), y)
    coef, intercept = model.coef_.copy(), model.intercept_.copy()
    with pytest.raises(ValueError, match=r"^X contains NaN at row 7, column 2\.$"):
        model.partial_fit(as_input(bad), y)
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model.intercept_, intercept)
    assert model.n_iter_ == 1
