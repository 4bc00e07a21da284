"""NumPy arrays that scikit-learn's input checks would pass unchanged skip them: the fit must
be the same, with the same fitted attributes, and every other input still gets the checks."""
import numpy as np
import pandas as pd
import pytest
from sklearn.utils.validation import validate_data

from gdfast import GDClassifier, GDRegressor

rng = np.random.default_rng(5)
X = rng.standard_normal((200, 4))
Y = X @ rng.standard_normal(4) + 0.1 * rng.standard_normal(200)
LABELS = (Y > 0).astype(int)


@pytest.mark.parametrize("Estimator, y", [(GDRegressor, Y), (GDClassifier, LABELS)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_arrays_as_given_fit_as_the_checked_ones(Estimator, y, dtype):
    """A Fortran-ordered X and a list y go through scikit-learn's checks (which copy X to C
    order), the same values as C-ordered arrays do not."""
    X_typed = X.astype(dtype)
    model = Estimator(max_iter=3, tol=None, random_state=0)
    assert model._passes_as_given(X_typed, y, reset=True)
    assert not model._passes_as_given(np.asfortranarray(X_typed), list(y), reset=True)
    direct = Estimator(max_iter=3, tol=None, random_state=0).fit(X_typed, y)
    checked = Estimator(max_iter=3, tol=None, random_state=0).fit(
        np.asfortranarray(X_typed), list(y))
    assert direct.n_features_in_ == checked.n_features_in_ == 4
    np.testing.assert_array_equal(direct.coef_, checked.coef_)
    np.testing.assert_array_equal(direct.intercept_, checked.intercept_)


@pytest.mark.parametrize("y", [Y.astype(np.float32), (10 * Y).astype(np.int64),
                               (Y > 0), (10 * Y).astype(np.uint8)])
def test_numeric_targets_pass_as_given(y):
    assert GDRegressor()._passes_as_given(X, y, reset=True)


@pytest.mark.parametrize("X_given, y_given", [
    (X.astype(">f8"), Y),                      # not in the machine's byte order
    (np.asfortranarray(X), Y),                 # not C-ordered
    (X.astype(np.float16), Y),                 # converted to float64 by the checks
    (X, Y.astype(">f8")),
    (X, Y.reshape(-1, 1)),                     # a column: the checks warn and ravel it
    (X, Y[:-1]),                               # one value short
    (X, Y.astype(object)),
    (X, np.array(["a"] * 200)),
    (X[:0], Y[:0]),                            # no rows
    (X[:, :0], Y),                             # no columns
    (np.ma.masked_array(X), Y),                # a subclass
    (X, np.where(np.arange(200) == 7, np.nan, Y)),
    (X, np.where(np.arange(200) == 7, -np.inf, Y).astype(np.float32)),
])
def test_other_inputs_go_through_the_checks(X_given, y_given):
    assert not GDRegressor()._passes_as_given(X_given, y_given, reset=True)


def test_targets_whose_sum_overflows_are_left_to_the_checks_which_accept_them():
    y = np.full(200, 1e308)
    model = GDRegressor()
    assert not model._passes_as_given(X, y, reset=True)
    X_checked, y_checked, _ = model._validate_fit_data(X, y, None, y_numeric=True)
    assert X_checked is X and np.array_equal(y_checked, y)


def test_nonfinite_targets_keep_the_checks_message():
    y = Y.copy()
    y[9] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        GDRegressor().fit(X, y)
    with pytest.raises(ValueError, match="Input y contains infinity"):
        GDRegressor().fit(X, np.where(np.arange(200) == 3, np.inf, Y).astype(np.float32))


def test_an_array_fit_forgets_the_feature_names_of_a_frame_fit():
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = GDRegressor(max_iter=2, tol=None).fit(frame, Y)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c", "d"])
    assert not model._passes_as_given(X, Y, reset=False)      # names recorded: the checks warn
    model.fit(X, Y)
    assert not hasattr(model, "feature_names_in_")
    reference = GDRegressor(max_iter=2, tol=None).fit(frame, Y)
    validate_data(reference, X, Y, reset=True)                # scikit-learn's own checks
    assert not hasattr(reference, "feature_names_in_")


def test_partial_fit_as_given_only_with_the_recorded_feature_count():
    model = GDRegressor().partial_fit(X, Y)
    assert model._passes_as_given(X, Y, reset=False)
    assert not model._passes_as_given(X[:, :3], Y, reset=False)
    with pytest.raises(ValueError, match="X has 3 features, but GDRegressor is expecting 4"):
        model.partial_fit(X[:, :3], Y)
    model.partial_fit(X, Y)
    assert model.n_features_in_ == 4
