"""gdfast.dask's estimators as scikit-learn estimators: parameters, cloning, pickling,
dataframes, prediction on the workers; the optional extra's absence; a cluster of processes."""
import pickle
import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from sklearn.base import clone  # noqa: E402

import gdfast  # noqa: E402
from gdfast import dask as gd_dask  # noqa: E402


def data(n_samples=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 3)) + 2.0
    return X, X @ np.array([1.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(n_samples)


def test_parameters_are_the_in_memory_ones_and_the_strategy():
    for name in ("GDRegressor", "GDClassifier"):
        in_memory = getattr(gdfast, name)().get_params()
        params = getattr(gd_dask, name)().get_params()
        assert set(params) == set(in_memory) | {"strategy", "local_epochs"}
        assert params["batch_size"] is None and params["strategy"] == "gradient"
        assert {key: value for key, value in params.items()
                if key not in ("batch_size", "strategy", "local_epochs")} == \
            {key: value for key, value in in_memory.items() if key != "batch_size"}
    model = gd_dask.GDClassifier("hinge", strategy="local_sgd", batch_size=4, alpha=0.1)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    assert "strategy='local_sgd'" in repr(model)
    with pytest.raises(TypeError, match="eta0"):
        gd_dask.GDRegressor(eta0=0.1)


@pytest.mark.usefixtures("client")
def test_fitted_model_pickles_and_predicts_blockwise_on_the_workers():
    X, y = data()
    X_chunked = da.from_array(X, chunks=(50, 3))
    model = gd_dask.GDRegressor(max_iter=20, tol=None).fit(X_chunked, y)
    predicted = model.predict(X_chunked)
    assert isinstance(predicted, da.Array) and predicted.chunks == ((50,) * 4,)
    reference = gdfast.GDRegressor(batch_size=None, max_iter=20, tol=None).fit(X, y)
    np.testing.assert_allclose(predicted.compute(), reference.predict(X), atol=1e-10)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict(X), reference.predict(X), atol=1e-10)
    assert isinstance(restored.predict(X), np.ndarray)
    assert restored.score(X_chunked, y) == pytest.approx(reference.score(X, y), abs=1e-12)
    assert restored.score(X, y) == pytest.approx(reference.score(X, y), abs=1e-12)


@pytest.mark.usefixtures("client")
def test_in_memory_input_fits_as_one_chunk():
    X, y = data()
    model = gd_dask.GDRegressor(max_iter=10, tol=None).fit(X, y)
    reference = gdfast.GDRegressor(batch_size=None, max_iter=10, tol=None).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-10)


@pytest.mark.usefixtures("client")
def test_dask_dataframes_are_read_by_their_values_with_feature_names():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    X_frame = dd.from_pandas(frame, npartitions=3)
    y_series = dd.from_pandas(pd.Series(y), npartitions=3)
    model = gd_dask.GDRegressor(max_iter=10, tol=None).fit(X_frame, y_series)
    reference = gdfast.GDRegressor(batch_size=None, max_iter=10, tol=None).fit(frame, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-10)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])
    np.testing.assert_allclose(np.asarray(model.predict(X_frame).compute()),
                               reference.predict(frame), atol=1e-10)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X_frame.rename(columns={"a": "z"}))


def test_without_dask_gdfast_works_and_gdfast_dask_says_how_to_install():
    script = (
        "import sys\n"
        "sys.modules['dask'] = None\n"          # as if Dask were not installed
        "import gdfast\n"
        "gdfast.GDRegressor(max_iter=2, tol=None).fit([[0.0], [1.0]], [0.0, 1.0])\n"
        "try:\n"
        "    import gdfast.dask\n"
        "except ImportError as error:\n"
        "    print(error)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert 'pip install "gdfast[dask]"' in result.stdout


def test_two_worker_processes_train_the_same_model():
    """The model, the chunks and the kernel cross process boundaries."""
    from dask_processes import time_limit, worker_processes
    X, y = data(n_samples=300)
    labels = (y > np.median(y)).astype(int)
    with worker_processes(2) as client, time_limit(120, "the fits on worker processes"):
        X_chunked = da.from_array(X, chunks=(100, 3)).persist()
        model = gd_dask.GDClassifier(max_iter=5, tol=None).fit(X_chunked, labels)
        local = gd_dask.GDRegressor(strategy="local_sgd", batch_size=8, max_iter=2,
                                    tol=None, random_state=0).fit(X_chunked, y)
        assert len(client.scheduler_info()["workers"]) == 2
        predicted = model.predict_proba(X_chunked).compute()
    reference = gdfast.GDClassifier(batch_size=None, max_iter=5, tol=None).fit(X, labels)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-10)
    np.testing.assert_allclose(predicted, reference.predict_proba(X), atol=1e-10)
    assert local.n_iter_ == 2 and np.all(np.isfinite(local.coef_))


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("estimator", ["GDRegressor", "GDClassifier"])
def test_scikit_learn_input_checks_on_in_memory_data(estimator):
    """In-memory X gets the in-memory estimator's checks (the rest of scikit-learn's
    conformance suite passes too, but takes a minute)."""
    from sklearn.utils import estimator_checks as checks
    model = getattr(gd_dask, estimator)(max_iter=5, tol=None)
    for check in (checks.check_requires_y_none, checks.check_estimator_sparse_array,
                  checks.check_supervised_y_2d, checks.check_dtype_object,
                  checks.check_estimators_empty_data_messages, checks.check_fit2d_1sample,
                  checks.check_estimators_nan_inf, checks.check_n_features_in,
                  checks.check_estimators_pickle, checks.check_fit_idempotent):
        check(estimator, clone(model))
