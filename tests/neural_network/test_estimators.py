"""MLPRegressor and MLPClassifier: engines, defaults, restarts, early stopping, streams."""
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.utils import check_random_state

from gdfast import MLPClassifier, MLPRegressor
from gdfast.neural_network import _engine
from gdfast.neural_network._state import NetworkState
from gdfast.optim import Adam

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

rng = np.random.default_rng(1)
X = rng.normal(size=(90, 4))
y_real = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
y_binary = (X[:, 0] * X[:, 1] > 0).astype(int)
y_three = np.digitize(X[:, 0] + X[:, 3], [-0.5, 0.5])


@pytest.mark.parametrize("batch_size", [1, 16, None])
@pytest.mark.parametrize("make", [
    lambda **kw: (MLPRegressor(**kw), y_real),
    lambda **kw: (MLPClassifier(**kw), y_binary),
    lambda **kw: (MLPClassifier(**kw), y_three)])
def test_both_engines_fit_the_same_network(make, batch_size):
    fitted = []
    for engine in ("cython", "numpy"):
        model, y = make(hidden_layer_sizes=(6, 5), activation="tanh", batch_size=batch_size,
                        max_iter=4, random_state=3, engine=engine)
        fitted.append(model.fit(X, y, sample_weight=np.linspace(0.5, 2.0, len(X))))
    for ours, theirs in zip(fitted[0].coefs_ + fitted[0].intercepts_,
                            fitted[1].coefs_ + fitted[1].intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fitted[0].loss_curve_, fitted[1].loss_curve_, rtol=1e-11)
    assert fitted[0].t_ == fitted[1].t_ == 4 * -(-len(X) // (batch_size or len(X)))


def test_fitted_attributes_follow_scikit_learns_mlp():
    model = MLPClassifier(hidden_layer_sizes=(7, 5), max_iter=3, random_state=0)
    model.fit(X, y_three)
    reference = SklearnMLPClassifier(hidden_layer_sizes=(7, 5), max_iter=3,
                                     random_state=0).fit(X, y_three)
    assert [W.shape for W in model.coefs_] == [W.shape for W in reference.coefs_]
    assert [b.shape for b in model.intercepts_] == [b.shape for b in reference.intercepts_]
    assert (model.n_layers_, model.n_outputs_, model.out_activation_) == (4, 3, "softmax")
    assert model.n_iter_ == len(model.loss_curve_) == 3
    assert model.best_loss_ == min(model.loss_curve_)
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    binary = MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X, y_binary)
    assert binary.out_activation_ == "logistic" and binary.coefs_[-1].shape == (3, 1)
    assert binary.predict_proba(X).shape == (len(X), 2)
    assert set(binary.predict(X)) <= {0, 1}
    assert model.get_params()["optimizer"] == "adam" and model.batch_size == "auto"


def test_initial_weights_are_glorot_uniform():
    random_state = check_random_state(0)
    state = NetworkState.new((30, 20, 10), "relu", Adam(), np.float64, random_state, 1e-3)
    weights, biases = state.layers()
    for W, b in zip(weights, biases):
        bound = np.sqrt(6.0 / (W.shape[0] + W.shape[1]))
        assert np.all(np.abs(W) <= bound) and np.all(np.abs(b) <= bound)
        assert np.abs(W).max() > 0.9 * bound                  # the whole range is used
    logistic = NetworkState.new((30, 20, 10), "logistic", Adam(), np.float64,
                                check_random_state(0), 1e-3)
    np.testing.assert_allclose(logistic.layers()[0][0], weights[0] / np.sqrt(3.0))


def test_initial_weights_are_scikit_learns_for_the_same_random_state():
    # One Adam step of rate 1e-12 moves scikit-learn's initial weights by at most 1e-12.
    reference = SklearnMLPClassifier(hidden_layer_sizes=(6, 5), max_iter=1,
                                     learning_rate_init=1e-12, random_state=7).fit(X, y_three)
    state = NetworkState.new((4, 6, 5, 3), "relu", Adam(), np.float64, check_random_state(7),
                             1e-3)
    weights, biases = state.layers()
    for ours, theirs in zip(weights + biases, reference.coefs_ + reference.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-12)


def test_digits_accuracy_matches_scikit_learn_with_the_defaults():
    X_digits, y_digits = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X_digits / 16, y_digits,
                                                        random_state=0)
    ours = MLPClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    theirs = SklearnMLPClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    assert ours > 0.95
    assert abs(ours - theirs) <= 0.01


def test_restarts_keep_the_best_run():
    single = MLPRegressor(hidden_layer_sizes=(3,), max_iter=30, random_state=4).fit(X, y_real)
    restarted = MLPRegressor(hidden_layer_sizes=(3,), max_iter=30, random_state=4,
                             n_restarts=4).fit(X, y_real)
    losses = restarted.restart_losses_
    assert len(losses) == 4 and len(set(losses)) == 4          # different starting points
    assert losses[0] == single.loss_curve_[-1]                   # run 0 is the single run
    assert restarted.best_restart_ == int(np.argmin(losses))
    assert restarted.loss_curve_[-1] == min(losses)
    assert restarted.restart_validation_scores_ is None


def test_early_stopping_restores_the_best_weights_and_picks_restarts_by_them():
    model = MLPClassifier(hidden_layer_sizes=(20,), early_stopping=True, max_iter=60,
                          learning_rate=0.05, random_state=2, n_restarts=2)
    model.fit(X, y_three)
    seed = check_random_state(2).randint(np.iinfo(np.int32).max)
    _, X_val, _, y_val = train_test_split(X, y_three, test_size=0.1, random_state=seed,
                                          stratify=y_three)
    assert model.score(X_val, y_val) == model.best_validation_score_
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None
    assert model.restart_validation_scores_[model.best_restart_] == \
        max(model.restart_validation_scores_)


def test_partial_fit_and_warm_start_continue_the_state():
    stream = MLPClassifier(hidden_layer_sizes=(5,), batch_size=10, random_state=0)
    stream.partial_fit(X, y_three, classes=[0, 1, 2])
    stream.partial_fit(X, y_three)
    assert stream.n_iter_ == 2 and stream.t_ == 18 and len(stream.loss_curve_) == 2
    fit = MLPClassifier(hidden_layer_sizes=(5,), batch_size=10, max_iter=2, tol=0.0,
                        random_state=0).fit(X, y_three)
    for ours, theirs in zip(stream.coefs_, fit.coefs_):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    warm = MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, warm_start=True, random_state=0)
    warm.fit(X, y_real)
    first = warm.t_
    warm.fit(X, y_real)
    assert warm.t_ == 2 * first


def test_float32_trains_in_float32():
    model = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    model.fit(X.astype(np.float32), y_real)
    reference = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y_real)
    assert all(W.dtype == np.float32 for W in model.coefs_)
    assert model.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(model.coefs_[0], reference.coefs_[0], atol=1e-3)


def test_integer_weights_equal_repeated_rows_in_full_batches():
    weights = rng.integers(0, 3, len(X))
    kw = dict(hidden_layer_sizes=(4,), batch_size=None, alpha=0.0, max_iter=10, random_state=0)
    weighted = MLPRegressor(**kw).fit(X, y_real, sample_weight=weights)
    repeated = MLPRegressor(**kw).fit(np.repeat(X, weights, axis=0), np.repeat(y_real, weights))
    for ours, theirs in zip(weighted.coefs_, repeated.coefs_):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_verbose_prints_each_epoch_and_max_iter_warns(capsys):
    with pytest.warns(ConvergenceWarning, match=r"Maximum number of epochs \(3\)"):
        MLPRegressor(hidden_layer_sizes=(3,), max_iter=3, verbose=1, random_state=0,
                     n_restarts=2).fit(X, y_real)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == ["Iteration 1", "Iteration 2",
                                                          "Iteration 3"]
    assert lines[3].startswith("Restart 1 of 2: loss ")


def test_restarts_escape_a_poor_local_minimum_of_xor():
    X_xor, y_xor = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float), np.array([0, 1, 1, 0])
    kw = dict(hidden_layer_sizes=(2,), activation="tanh", optimizer="sgd", learning_rate=0.5,
              batch_size=None, max_iter=2000, tol=0.0, random_state=1)
    stuck = MLPClassifier(**kw).fit(X_xor, y_xor)
    assert stuck.loss_curve_[-1] > 0.3 and stuck.score(X_xor, y_xor) < 1.0
    assert abs(stuck.loss_curve_[-1] - stuck.loss_curve_[-500]) < 1e-3     # settled there
    restarted = MLPClassifier(**kw, n_restarts=8).fit(X_xor, y_xor)
    assert restarted.restart_losses_[0] == stuck.loss_curve_[-1]
    assert max(restarted.restart_losses_) > 0.3                 # other runs got stuck too
    assert min(restarted.restart_losses_) < 0.01
    assert restarted.score(X_xor, y_xor) == 1.0


def test_centred_training_reports_the_network_of_the_raw_inputs():
    shifted = X * 3 + 50
    model = MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(shifted,
                                                                                 y_real)
    state = model._state
    np.testing.assert_allclose(state.mean, shifted.mean(axis=0), rtol=1e-12)
    weights, biases = state.layers()
    trained = _engine.forward(shifted - state.mean, weights, biases, "relu")[-1][:, 0]
    np.testing.assert_allclose(model.predict(shifted), trained, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.intercepts_[0], biases[0] - state.mean @ weights[0])
    raw = MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0, center=False)
    assert not np.any(raw.fit(shifted, y_real)._state.mean)
