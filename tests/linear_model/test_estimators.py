"""GDRegressor and GDClassifier: fits, attributes, dtypes, input safety and errors."""
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from gdfast import GDClassifier, GDRegressor
from helpers import make_classification, make_regression, relative_error

ENGINES = ["cython", "numpy"]


def logistic_optimum(X, y):
    """Minimiser of the mean log loss with intercept, by BFGS (an independent solver)."""
    Xb = np.column_stack([X, np.ones(len(X))])

    def objective(theta):
        p = Xb @ theta
        return np.mean(np.logaddexp(0, p) - y * p), Xb.T @ (1 / (1 + np.exp(-p)) - y) / len(y)

    return minimize(objective, np.zeros(Xb.shape[1]), jac=True, method="BFGS",
                    options={"gtol": 1e-12}).x


def test_full_batch_reaches_the_least_squares_solution():
    X, y = make_regression(400, 5, seed=3)
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    model = GDRegressor(learning_rate=0.2, batch_size=None, max_iter=2000, tol=None).fit(X, y)
    assert relative_error(np.r_[model.coef_, model.intercept_], solution) < 1e-9


@pytest.mark.parametrize("batch_size", [1, 32])
def test_stochastic_modes_get_close_to_the_least_squares_loss(batch_size):
    X, y = make_regression(2000, 5, seed=4)
    Xb = np.column_stack([X, np.ones(len(X))])
    best = np.mean((Xb @ np.linalg.lstsq(Xb, y, rcond=None)[0] - y) ** 2)
    model = GDRegressor(learning_rate=0.002, batch_size=batch_size, max_iter=60, tol=None,
                        random_state=0).fit(X, y)
    assert np.mean((model.predict(X) - y) ** 2) < 1.05 * best


def test_full_batch_reaches_the_logistic_optimum():
    X, y = make_classification(400, 4, seed=5)
    optimum = logistic_optimum(X, y)
    model = GDClassifier(learning_rate=2.0, batch_size=None, max_iter=5000, tol=None).fit(X, y)
    assert relative_error(np.r_[model.coef_[0], model.intercept_], optimum) < 1e-6


@pytest.mark.parametrize("Estimator, make", [(GDRegressor, make_regression),
                                            (GDClassifier, make_classification)])
@pytest.mark.parametrize("batch_size", [1, 32, None])
def test_engines_agree_through_the_estimator(Estimator, make, batch_size):
    X, y = make(150, 4, seed=6)
    fits = [Estimator(batch_size=batch_size, learning_rate=0.05, max_iter=8, tol=None,
                      random_state=3, engine=engine).fit(X, y) for engine in ENGINES]
    assert relative_error(fits[0].coef_, fits[1].coef_) < 1e-10
    assert relative_error(fits[0].loss_curve_, fits[1].loss_curve_) < 1e-10


@pytest.mark.parametrize("Estimator, make", [(GDRegressor, make_regression),
                                            (GDClassifier, make_classification)])
def test_float32_in_gives_float32_coefficients(Estimator, make):
    X, y = make(200, 4, seed=7, dtype=np.float32)
    model = Estimator(max_iter=5, tol=None, random_state=0).fit(X, y)
    assert model.coef_.dtype == np.float32 and model.intercept_.dtype == np.float32
    reference = Estimator(max_iter=5, tol=None, random_state=0).fit(X.astype(np.float64), y)
    assert relative_error(model.coef_, reference.coef_) < 1e-4


@pytest.mark.parametrize("Estimator, make", [(GDRegressor, make_regression),
                                            (GDClassifier, make_classification)])
@pytest.mark.parametrize("engine", ENGINES)
def test_read_only_inputs_fit_and_stay_unchanged(Estimator, make, engine):
    X, y = make(100, 3, seed=8)
    weights = np.linspace(0.5, 1.5, len(y))
    copies = [a.copy() for a in (X, y, weights)]
    for a in (X, y, weights):
        a.setflags(write=False)
    model = Estimator(max_iter=3, tol=None, random_state=0, engine=engine)
    model.fit(X, y, sample_weight=weights)
    model.predict(X)
    for a, copy in zip((X, y, weights), copies):
        np.testing.assert_array_equal(a, copy)


def test_same_random_state_gives_bit_identical_coefficients():
    X, y = make_regression(500, 6, seed=9)
    a = GDRegressor(random_state=11, max_iter=5, tol=None).fit(X, y)
    b = GDRegressor(random_state=11, max_iter=5, tol=None).fit(X, y)
    c = GDRegressor(random_state=12, max_iter=5, tol=None).fit(X, y)
    assert np.array_equal(a.coef_, b.coef_) and a.intercept_[0] == b.intercept_[0]
    assert not np.array_equal(a.coef_, c.coef_)


def test_classifier_api_with_string_labels():
    X, y01 = make_classification(300, 4, seed=10)
    y = np.where(y01 == 1, "spam", "ham")
    model = GDClassifier(random_state=0).fit(X, y)
    assert list(model.classes_) == ["ham", "spam"]
    assert model.coef_.shape == (1, 4) and model.intercept_.shape == (1,)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    decision = model.decision_function(X)
    np.testing.assert_array_equal(model.predict(X), np.where(decision > 0, "spam", "ham"))
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-decision)))
    assert model.score(X, y) > 0.8


def test_regressor_attributes_and_score(regression=make_regression(300, 5, seed=11)):
    X, y = regression
    model = GDRegressor(random_state=0).fit(X, y)
    assert model.coef_.shape == (5,) and model.intercept_.shape == (1,)
    assert model.n_iter_ == len(model.loss_curve_) < 1000
    assert model.t_ == model.n_iter_ * len(y)
    assert model.score(X, y) > 0.99


def test_tol_stops_early_and_max_iter_warns():
    X, y = make_regression(200, 3, seed=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        stopped = GDRegressor(random_state=0, tol=1e-3, n_iter_no_change=3).fit(X, y)
    assert stopped.n_iter_ < 1000
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        GDRegressor(random_state=0, max_iter=2, tol=1e-3).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert GDRegressor(max_iter=2, tol=None).fit(X, y).n_iter_ == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_raises_and_leaves_no_coefficients(engine):
    X, y = make_regression(100, 3, seed=13)
    model = GDRegressor(learning_rate=50.0, engine=engine)
    with pytest.raises(ValueError, match=r"overflow occurred at epoch #1\. A smaller "
                                         r"learning_rate \(now 50\)"):
        model.fit(X * 100, y)
    assert not hasattr(model, "coef_")


@pytest.mark.parametrize("params, message", [
    ({"learning_rate": 0}, r"The 'learning_rate' parameter of GDRegressor must be a float in "
                           r"the range \(0.0, inf\) or a str among {'auto'}. Got 0 instead."),
    ({"learning_rate": -1.0}, "'learning_rate' .* Got -1.0 instead"),
    ({"learning_rate": float("nan")}, "'learning_rate' .* Got nan instead"),
    ({"learning_rate": float("inf")}, "'learning_rate' .* Got inf instead"),
    ({"batch_size": 0}, r"The 'batch_size' parameter of GDRegressor must be an int in the range "
                        r"\[1, inf\) or None. Got 0 instead."),
    ({"batch_size": 2.5}, "'batch_size' .* Got 2.5 instead"),
    ({"max_iter": 0}, "'max_iter' .* Got 0 instead"),
    ({"tol": -1e-3}, "'tol' .* Got -0.001 instead"),
    ({"n_iter_no_change": 0}, "'n_iter_no_change' .* Got 0 instead"),
    ({"loss": "hinge"}, r"The 'loss' parameter of GDRegressor must be a str among "
                        r"{'squared_error', 'huber', 'epsilon_insensitive'}. Got 'hinge' instead."),
    ({"engine": "torch"}, "'engine' .* a str among {'cython', 'numpy'}. Got 'torch' instead."),
    ({"shuffle": "yes"}, "'shuffle' .* Got 'yes' instead"),
    ({"l1_ratio": 1.5}, r"'l1_ratio' .* a float in the range \[0.0, 1.0\]. Got 1.5 instead"),
    ({"validation_fraction": 1.0}, r"'validation_fraction' .* \(0.0, 1.0\). Got 1.0 instead"),
    ({"random_state": "seed"}, "'random_state' .* Got 'seed' instead"),
])
def test_bad_hyper_parameters_raise_at_fit(params, message):
    X, y = make_regression(20, 2, seed=14)
    model = GDRegressor(**params)  # __init__ only stores, as scikit-learn requires
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)


@pytest.mark.parametrize("X, y, error, message", [
    ([[1.0, np.nan], [2.0, 1.0]], [1.0, 2.0], ValueError, "X contains NaN at row 0, column 1"),
    ([[1.0, 2.0], [-np.inf, 1.0]], [1.0, 2.0], ValueError,
     "X contains infinity at row 1, column 0"),
    ([[1.0], [2.0]], [1.0, np.nan], ValueError, "Input y contains NaN"),
    ([[1.0], [2.0], [3.0]], [1.0, 2.0], ValueError, "inconsistent numbers of samples"),
    ([1.0, 2.0], [1.0, 2.0], ValueError, "Expected 2D array"),
    (np.empty((0, 2)), [], ValueError, "0 sample"),
])
def test_bad_input_is_rejected_with_scikit_learn_messages(X, y, error, message):
    with pytest.raises(error, match=message):
        GDRegressor().fit(np.asarray(X), np.asarray(y))


def test_predict_checks_fitted_and_feature_count():
    X, y = make_regression(50, 3, seed=15)
    with pytest.raises(NotFittedError):
        GDRegressor().predict(X)
    model = GDRegressor(max_iter=2, tol=None).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but GDRegressor is expecting 3"):
        model.predict(X[:, :2])


def test_classifier_rejects_one_class_and_continuous_targets():
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match="greater than one"):
        GDClassifier().fit(X, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        GDClassifier().fit(X, [0.1, 0.7, 1.3, 2.9])


def test_threads_for_the_full_batch_are_deterministic_and_match_one_thread():
    X, y = make_regression(140000, 8, seed=16)       # 1.1 million values: threaded
    fits = {n_jobs: GDRegressor(batch_size=None, n_jobs=n_jobs, max_iter=20, tol=None).fit(X, y)
            for n_jobs in (1, 2)}
    again = GDRegressor(batch_size=None, n_jobs=2, max_iter=20, tol=None).fit(X, y)
    assert np.array_equal(again.coef_, fits[2].coef_)          # bit-identical run to run
    assert relative_error(fits[2].coef_, fits[1].coef_) < 1e-12
    with pytest.raises(ValueError, match="'n_jobs' .* Got 0 instead"):
        GDRegressor(n_jobs=0).fit(X, y)


def test_a_class_absent_from_the_first_chunk_starts_within_reach():
    """partial_fit(classes=...) on a first chunk without class 2: its log prior starts as if
    it held half a row, not at log(1e-12), and a larger rate learns it from the next chunk."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    y = np.repeat([0, 1, 2], 100)
    X = centres[y] + rng.standard_normal((300, 2))
    first = np.flatnonzero(y < 2)[::2]                 # classes 0 and 1 only
    rest = np.setdiff1d(np.arange(300), first)
    model = GDClassifier(learning_rate=0.1, random_state=0)
    model.partial_fit(X[first], y[first], classes=[0, 1, 2])
    assert model.intercept_[2] > np.log(0.5 / len(first)) - 1.0
    model.partial_fit(X[rest], y[rest])
    assert model.score(X[y == 2], y[y == 2]) > 0.7     # 0.0 from a start at -27.6
