"""center=True: the same model and optimum, reached far faster on data far from zero."""
import warnings

import numpy as np
import pytest

from gdfast import GDClassifier, GDRegressor
from helpers import relative_error


def unscaled_regression(seed=0, n=400):
    """Feature means of 50 to 1000 and spreads of 1 to 10, as scikit-learn's checks feed."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)) * [1, 5, 10, 2, 3] + [100, 1000, 100, 500, 50]
    y = X @ rng.standard_normal(5) + 3 + rng.standard_normal(n)
    return X, y


def least_squares(X, y):
    Xb = np.column_stack([X, np.ones(len(X))])
    return np.linalg.lstsq(Xb, y, rcond=None)[0]


def test_centred_and_plain_descent_share_the_optimum():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 4)) + 2.0
    y = X @ [1.0, -2.0, 0.5, 0.0] + 1.0 + 0.1 * rng.standard_normal(300)
    solution = least_squares(X, y)
    for center in (True, False):
        model = GDRegressor(center=center, learning_rate=0.02, batch_size=None, max_iter=20000,
                            tol=None).fit(X, y)
        assert relative_error(np.r_[model.coef_, model.intercept_], solution) < 1e-8, center


@pytest.mark.parametrize("params", [{}, {"batch_size": None}, {"batch_size": 32},
                                    {"optimizer": "adam"}, {"optimizer": "momentum"}])
def test_defaults_reach_the_optimum_on_unscaled_data(params):
    X, y = unscaled_regression()
    solution = least_squares(X, y)
    best = np.mean((np.column_stack([X, np.ones(len(X))]) @ solution - y) ** 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # max_iter may run out; the loss is the test
        model = GDRegressor(random_state=0, **params).fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    assert np.mean((model.predict(X) - y) ** 2) < 1.1 * best


def test_without_centering_unscaled_data_is_slow_which_is_why_it_is_the_default():
    X, y = unscaled_regression()
    solution = least_squares(X, y)
    best = np.mean((np.column_stack([X, np.ones(len(X))]) @ solution - y) ** 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = GDRegressor(center=False, batch_size=None, random_state=0).fit(X, y)
    assert np.mean((plain.predict(X) - y) ** 2) > 10 * best


def test_the_intercept_starts_at_the_best_constant():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 2))
    y = 5.0 + rng.standard_normal(200)
    weights = rng.uniform(0.5, 2.0, 200)
    one_step = dict(learning_rate=1e-12, max_iter=1, tol=None, batch_size=None)
    model = GDRegressor(**one_step).fit(X, y, sample_weight=weights)
    # With w ≈ 0, b = c − w·mean ≈ the weighted mean of y.
    assert model.intercept_[0] == pytest.approx(np.average(y, weights=weights), rel=1e-9)
    labels = (rng.uniform(size=200) < 0.2).astype(int)
    clf = GDClassifier(**one_step).fit(X, labels)
    share = labels.mean()
    assert clf.intercept_[0] == pytest.approx(np.log(share / (1 - share)), rel=1e-9)
    three = GDClassifier(**one_step).fit(X, np.arange(200) % 3)      # 67, 67, 66 rows
    log_priors = np.log(np.array([67, 67, 66]) / 200)
    # Softmax ignores a shared constant: compare the intercepts up to one.
    np.testing.assert_allclose(three.intercept_ - three.intercept_.mean(),
                               log_priors - log_priors.mean(), atol=1e-9)


def test_engines_agree_with_centering():
    X, y = unscaled_regression(n=120)
    fits = [GDRegressor(batch_size=8, max_iter=5, tol=None, random_state=0, engine=engine)
            .fit(X, y) for engine in ("cython", "numpy")]
    assert relative_error(np.r_[fits[0].coef_, fits[0].intercept_],
                          np.r_[fits[1].coef_, fits[1].intercept_]) < 1e-10
