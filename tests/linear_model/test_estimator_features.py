"""Multi-class, losses, penalties, class weights, early stopping, verbose: through the API."""
import numpy as np
import pytest

from gdfast import GDClassifier, GDRegressor
from helpers import make_regression


def three_classes(n=600, seed=71, labels=("cat", "dog", "emu"), spread=1.0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    index = rng.integers(0, 3, n)
    X = centers[index] + spread * rng.standard_normal((n, 2))
    return X, np.array(labels)[index]


@pytest.mark.parametrize("loss, multi_class", [("log_loss", "auto"), ("log_loss", "ovr"),
                                               ("hinge", "auto"), ("modified_huber", "ovr")])
def test_multi_class_with_string_labels(loss, multi_class):
    X, y = three_classes()
    model = GDClassifier(loss=loss, multi_class=multi_class, random_state=0).fit(X, y)
    assert list(model.classes_) == ["cat", "dog", "emu"]
    assert model.coef_.shape == (3, 2) and model.intercept_.shape == (3,)
    assert model.decision_function(X).shape == (600, 3)
    assert model.score(X, y) > 0.9
    if loss != "hinge":
        proba = model.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert np.mean(model.classes_[proba.argmax(axis=1)] == model.predict(X)) > 0.99
    else:
        assert not hasattr(model, "predict_proba")


def test_multinomial_reaches_the_softmax_optimum():
    from sklearn.linear_model import LogisticRegression
    X, y = three_classes(n=300, labels=(0, 1, 2), spread=2.0)
    alpha = 0.01      # mean loss + α/2 ‖W‖² is scikit-learn's objective with C = 1/(n α)
    exact = LogisticRegression(C=1 / (300 * alpha), tol=1e-12, max_iter=10000).fit(X, y)
    # scale=False: the penalty on the raw features' weights, as LogisticRegression's.
    model = GDClassifier(penalty="l2", alpha=alpha, batch_size=None, learning_rate=0.5,
                         lr_schedule="constant", max_iter=5000, tol=None,
                         scale=False).fit(X, y)
    np.testing.assert_allclose(model.coef_, exact.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.predict_proba(X), exact.predict_proba(X), atol=1e-7)


def test_integer_labels_and_binary_hinge():
    X, y = three_classes()
    y2 = (y == "cat").astype(int) * 7
    model = GDClassifier(loss="hinge", random_state=0).fit(X, y2)
    assert list(model.classes_) == [0, 7] and model.coef_.shape == (1, 2)
    assert model.score(X, y2) > 0.95


def test_class_weight_balanced_and_dict():
    X, y = three_classes(spread=2.5)                  # overlapping: weights matter
    rare = np.r_[np.flatnonzero(y != "emu"), np.flatnonzero(y == "emu")[:15]]
    X, y = X[rare], y[rare]
    plain = GDClassifier(random_state=0).fit(X, y)
    balanced = GDClassifier(class_weight="balanced", random_state=0).fit(X, y)
    recall = lambda m: np.mean(m.predict(X[y == "emu"]) == "emu")
    assert recall(balanced) >= recall(plain)
    heavy = GDClassifier(class_weight={"emu": 100.0}, random_state=0).fit(X, y)
    assert np.mean(heavy.predict(X) == "emu") > np.mean(plain.predict(X) == "emu")
    with pytest.raises(ValueError, match="class_weight names labels"):
        GDClassifier(class_weight={"yak": 2.0}).fit(X, y)


def test_huber_and_epsilon_insensitive_resist_outliers():
    X, y = make_regression(400, 3, seed=72, noise=0.01)
    clean = y.copy()
    y[:20] += 100.0                                  # 5% gross outliers
    fits = {loss: GDRegressor(loss=loss, epsilon=0.5, random_state=0).fit(X, y)
            for loss in ("squared_error", "huber", "epsilon_insensitive")}
    error = {loss: np.mean(np.abs(m.predict(X[20:]) - clean[20:])) for loss, m in fits.items()}
    assert error["huber"] < error["squared_error"] / 3
    assert error["epsilon_insensitive"] < error["squared_error"] / 3


def test_l1_gives_exact_zeros_and_elasticnet_sits_between():
    rng = np.random.default_rng(73)
    X = rng.standard_normal((500, 20))
    y = X[:, :3] @ [3.0, -2.0, 1.0] + 0.1 * rng.standard_normal(500)
    lasso = GDRegressor(penalty="l1", alpha=0.05, batch_size=None, lr_schedule="constant",
                        max_iter=3000, tol=None).fit(X, y)
    assert np.all(lasso.coef_[3:] == 0.0) and np.all(lasso.coef_[:3] != 0.0)
    ridge = GDRegressor(penalty="l2", alpha=0.05, batch_size=None, lr_schedule="constant",
                        max_iter=3000, tol=None).fit(X, y)
    assert np.all(ridge.coef_ != 0.0)
    net = GDRegressor(penalty="elasticnet", alpha=0.05, l1_ratio=0.5, batch_size=None,
                      lr_schedule="constant", max_iter=3000, tol=None).fit(X, y)
    assert np.sum(net.coef_ == 0) > 0
    # The objective recorded includes the penalty, on the weights of the standardised
    # features (those of the original ones times the features' standard deviations).
    w = lasso.coef_ * X.std(axis=0)
    mse = np.mean((lasso.predict(X) - y) ** 2)
    assert lasso.loss_curve_[-1] == pytest.approx(mse + 0.05 * np.abs(w).sum(), rel=1e-3)


def test_early_stopping_restores_the_best_validation_coefficients():
    X, y = make_regression(400, 5, seed=74, noise=1.0)
    model = GDRegressor(early_stopping=True, validation_fraction=0.2, learning_rate=0.05,
                        lr_schedule="constant", n_iter_no_change=3, random_state=0).fit(X, y)
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ and model.best_validation_score_ == max(scores)
    assert model.best_loss_ is None
    # The returned coefficients are those of the best epoch, not the last.
    from sklearn.model_selection import train_test_split
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.2, random_state=seed)
    assert model.score(X_val, y_val) == pytest.approx(max(scores), rel=1e-12)
    plain = GDRegressor(random_state=0).fit(X, y)
    assert plain.validation_scores_ is None and plain.best_loss_ == min(plain.loss_curve_)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = make_regression(50, 2, seed=75)
    GDRegressor(verbose=1, max_iter=3, tol=None).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for number, line in enumerate(lines, start=1):
        assert line.startswith(f"-- Epoch {number}: loss ")
        assert "norm(w)" in line and "learning rate" in line and line.endswith(" s")


def test_sample_weight_scales_the_loss_not_the_penalty():
    X, y = make_regression(200, 3, seed=76)
    common = dict(penalty="l2", alpha=0.1, batch_size=None, lr_schedule="constant",
                  max_iter=2000, tol=None)
    base = GDRegressor(**common).fit(X, y)
    scaled = GDRegressor(**common).fit(X, y, sample_weight=np.full(200, 10.0))
    # Weights are relative (the objective is their weighted mean), so a common factor
    # changes nothing; a weight of 2 on half the rows equals repeating those rows.
    np.testing.assert_allclose(scaled.coef_, base.coef_, rtol=1e-10)
    weights = np.where(np.arange(200) < 100, 2.0, 1.0)
    weighted = GDRegressor(**common).fit(X, y, sample_weight=weights)
    repeated = GDRegressor(**common).fit(np.r_[X, X[:100]], np.r_[y, y[:100]])
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8)


@pytest.mark.parametrize("batch_size", [1, 16, None])
def test_fit_without_weights_equals_weights_that_normalise_to_one(batch_size):
    """No sample_weight lets the kernel skip reading weights (unit_weights); weights of 2
    everywhere normalise to ones that it reads. The two fits are the same, bit for bit; their
    losses agree to rounding (with the weight known to be 1 the compiler may fuse a row's
    loss into the sum)."""
    X, y = make_regression(300, 5, seed=77)
    common = dict(batch_size=batch_size, max_iter=5, tol=None, random_state=3)
    unweighted = GDRegressor(**common).fit(X, y)
    twos = GDRegressor(**common).fit(X, y, sample_weight=np.full(300, 2.0))
    np.testing.assert_array_equal(unweighted.coef_, twos.coef_)
    np.testing.assert_array_equal(unweighted.intercept_, twos.intercept_)
    np.testing.assert_allclose(unweighted.loss_curve_, twos.loss_curve_, rtol=1e-14)
