"""scikit-learn conformance: its estimator checks, pipelines, searches, pickling."""
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from gdfast import GDClassifier, GDRegressor
from helpers import make_classification, make_regression

WEIGHT_EQUIVALENCE = {
    check: ("stochastic steps visit a row of weight 2 once and a repeated row twice, so the "
            "trajectories differ (scikit-learn's SGD declares the same); the full batch, "
            "where the weighted mean makes them equal, passes")
    for check in ("check_sample_weight_equivalence_on_dense_data",
                  "check_sample_weight_equivalence_on_sparse_data")
}


def expected_failures(estimator):
    """Only the stochastic modes, and only the sample-weight-equivalence checks."""
    return {} if estimator.batch_size is None else WEIGHT_EQUIVALENCE


@parametrize_with_checks([GDRegressor(), GDClassifier(), GDRegressor(batch_size=None),
                          GDClassifier(batch_size=None),
                          GDClassifier(loss="hinge", optimizer="adam", batch_size=None)],
                         expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_in_a_pipeline_with_cross_validation():
    X, y = make_classification(300, 4, seed=51)          # noisy: about 73% is the best
    X = X * 100 + 50
    exact = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y, cv=3)
    for model in (make_pipeline(StandardScaler(), GDClassifier(random_state=0)),
                  GDClassifier(random_state=0)):          # unscaled too, with the defaults
        assert cross_val_score(model, X, y, cv=3).mean() > exact.mean() - 0.02
    X, y = make_regression(300, 4, seed=52)
    scores = cross_val_score(GDRegressor(random_state=0), X * 1000 + 100, y, cv=3)
    assert scores.mean() > 0.95


def test_grid_search_with_two_jobs_on_read_only_memory_maps():
    # 2,000 × 100 float64 is over joblib's 1 MB threshold: the workers get read-only memmaps.
    X, y = make_regression(2000, 100, seed=53)
    search = GridSearchCV(GDRegressor(batch_size=64, max_iter=20, tol=None, random_state=0,
                                      average=False),
                          {"optimizer": ["sgd", "adam"], "penalty": [None, "l2"]}, cv=2,
                          n_jobs=2).fit(X, y)
    assert search.best_score_ > 0.9
    assert len(search.cv_results_["params"]) == 4


@pytest.mark.parametrize("Estimator, make", [(GDRegressor, make_regression),
                                            (GDClassifier, make_classification)])
def test_pickle_round_trip_and_clone(Estimator, make):
    X, y = make(200, 3, seed=54)
    model = Estimator(optimizer="adam", random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    fresh = clone(model)
    assert not hasattr(fresh, "coef_") and fresh.get_params() == model.get_params()
    model.partial_fit(X, y)
    restored.partial_fit(X, y)
    np.testing.assert_array_equal(restored.coef_, model.coef_)
