"""Bad input to the networks gets a clear error, never NaN weights or a mutated input."""
import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from gdfast import MLPClassifier, MLPRegressor

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3))
y_real = X @ [1.0, -2.0, 0.5]
y_class = (y_real > 0).astype(int)
X_nan = X.copy()
X_nan[3, 1] = np.nan

CASES = [
    # (estimator, fit arguments, error, message pattern)
    (MLPRegressor(), (X_nan, y_real), ValueError, "Input X contains NaN"),
    (MLPRegressor(), (X, y_real[:-1]), ValueError, "inconsistent numbers of samples"),
    (MLPClassifier(), (X, np.where(y_class, np.nan, 1.0)), ValueError, "NaN"),
    (MLPRegressor(), (X[:, :, None], y_real), ValueError, "dim 3"),
    (MLPRegressor(activation="softplus"), (X, y_real), InvalidParameterError,
     r"'activation' parameter .* among \{'identity', 'relu', 'tanh', 'logistic'\}"),
    (MLPClassifier(hidden_layer_sizes=()), (X, y_class), InvalidParameterError,
     r"hidden_layer_sizes is empty: .* at least one hidden layer, e\.g\. "
     r"hidden_layer_sizes=\(100,\)"),
    (MLPRegressor(hidden_layer_sizes=(4, 0)), (X, y_real), InvalidParameterError,
     r"hidden_layer_sizes\[1\] is 0: every hidden layer needs .* at least 1"),
    (MLPRegressor(hidden_layer_sizes=(4, 2.5)), (X, y_real), InvalidParameterError,
     r"hidden_layer_sizes\[1\] is 2\.5"),
    (MLPRegressor(hidden_layer_sizes=0), (X, y_real), InvalidParameterError,
     "'hidden_layer_sizes' parameter"),
    (MLPRegressor(optimizer="lbfgs"), (X, y_real), InvalidParameterError,
     "'optimizer' parameter"),
    (MLPRegressor(batch_size=0), (X, y_real), InvalidParameterError, "'batch_size' parameter"),
    (MLPRegressor(alpha=-1.0), (X, y_real), InvalidParameterError, "'alpha' parameter"),
    (MLPClassifier(), (X, np.zeros(40)), ValueError, "greater than one; got 1 class"),
    (MLPClassifier(), (X, np.column_stack([y_class, 1 - y_class])), ValueError,
     r"y should be a 1d array, got an array of shape \(40, 2\)"),
    (MLPRegressor(), (X, y_real, -np.ones(40)), ValueError,
     "Negative values in data passed to `sample_weight`"),
    (MLPRegressor(), (X, y_real, np.zeros(40)), ValueError, "sample_weight is zero for every row"),
]


@pytest.mark.parametrize("estimator, args, error, message", CASES,
                         ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_gets_a_clear_error(estimator, args, error, message):
    copies = [np.copy(a) for a in args]
    with pytest.raises(error, match=message):
        estimator.fit(*args)
    assert not hasattr(estimator, "coefs_")
    for given, copy in zip(args, copies):
        np.testing.assert_array_equal(given, copy)                 # inputs untouched


def test_divergence_names_the_epoch_and_keeps_the_fitted_weights():
    model = MLPRegressor(hidden_layer_sizes=(8,), optimizer="sgd", learning_rate=1e-3,
                         max_iter=5, tol=0.0, random_state=0).fit(X, y_real * 1e3)
    before = [W.copy() for W in model.coefs_]
    model.set_params(learning_rate=50.0, warm_start=True)
    with pytest.raises(ValueError, match=r"infinite or NaN at epoch #\d+ \(learning rate 50\)"
                                         r".*smaller learning_rate"):
        model.fit(X, y_real * 1e3)
    for W, old in zip(model.coefs_, before):
        np.testing.assert_array_equal(W, old)
        assert np.all(np.isfinite(W))
    fresh = MLPRegressor(hidden_layer_sizes=(8,), optimizer="sgd", learning_rate=50.0,
                         random_state=0)
    with pytest.raises(ValueError, match=r"infinite or NaN at epoch #\d+ "):
        fresh.fit(X, y_real * 1e3)
    assert not hasattr(fresh, "coefs_")


def test_prediction_input_is_checked():
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, y_class)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        model.predict_proba(X_nan)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y_class)
    with pytest.raises(ValueError, match="not in classes"):
        MLPClassifier().partial_fit(X, y_class + 5, classes=[0, 1])


def kernel_arguments(**changes):
    """Valid arguments of the engine's run_epoch for a 3-2-1 network, with `changes`."""
    from gdfast.neural_network import _engine
    n_params = _engine.parameter_layout([3, 2, 1])[1]
    arguments = dict(engine="cython", X=np.zeros((4, 3)), Y=np.zeros((4, 1)),
                     sample_weight=np.ones(4), coef=np.zeros(n_params),
                     state=np.zeros((3, n_params)), scalars=np.ones(4), order=np.arange(4),
                     layer_sizes=[3, 2, 1], activation="relu", output="identity",
                     config={"optimizer": "adam", "batch_size": 2}, t=0, rng_state=1)
    arguments.update(changes)
    return arguments


@pytest.mark.parametrize("changes, message", [
    ({"order": np.array([0, 1, 2, 4])}, r"order must hold one row index in \[0, n_samples\)"),
    ({"order": np.arange(3)}, "order must hold one row index"),
    ({"coef": np.zeros(5)}, "coef must hold 11 parameters"),
    ({"state": np.zeros((2, 11))}, "one row the size of coef per optimizer buffer"),
    ({"Y": np.zeros((4, 2))}, "as many columns as the input and output layers"),
    ({"layer_sizes": [3, 0, 1]}, "at least two positive sizes"),
    ({"sample_weight": np.ones(3)}, "same, non-zero, number of rows"),
    ({"output": "logistic", "layer_sizes": [3, 2, 2], "Y": np.zeros((4, 2)),
      "coef": np.zeros(14), "state": np.zeros((3, 14))}, "the logistic output has one unit"),
])
def test_the_kernel_checks_what_its_loop_relies_on(changes, message):
    from gdfast.neural_network import _engine
    arguments = kernel_arguments(**changes)
    coef = arguments["coef"].copy()
    with pytest.raises(ValueError, match=message):
        _engine.run_epoch(**arguments)
    np.testing.assert_array_equal(arguments["coef"], coef)
    # and the same arguments, put right, run
    _engine.run_epoch(**kernel_arguments())
