"""Every way an array can arrive, bottleneck-style: the kernel and its NumPy twin give the same
model on each layout as on a plain C-contiguous copy, and leave the input as it was.

Layouts: C order, Fortran order, a strided view (every other column), read-only, a read-only
memory map, rows that are all zeros, and a single row. Empty inputs get a clear error from
both the estimators and the kernel entry point."""
import numpy as np
import pytest

from gdfast import GDClassifier, GDRegressor
from gdfast._kernels import linear as _kernel
from gdfast.linear_model import _engine
from helpers import make_classification, make_regression, relative_error

pytestmark = pytest.mark.usefixtures("each_kernel_build")


def _fortran(X, tmp_path):
    return np.asfortranarray(X)


def _strided(X, tmp_path):
    wide = np.zeros((X.shape[0], 2 * X.shape[1]), dtype=X.dtype)
    wide[:, ::2] = X
    view = wide[:, ::2]
    assert not view.flags.c_contiguous
    return view


def _read_only(X, tmp_path):
    X = X.copy()
    X.setflags(write=False)
    return X


def _read_only_memmap(X, tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


def _zero_rows(X, tmp_path):
    X = X.copy()
    X[::7] = 0.0
    return X


LAYOUTS = {"fortran": _fortran, "strided": _strided, "read-only": _read_only,
           "read-only memmap": _read_only_memmap, "zero rows": _zero_rows}
ESTIMATORS = [(GDRegressor, make_regression), (GDClassifier, make_classification)]
BATCHES = {"stochastic": 1, "mini-batch": 16, "full": None}


@pytest.mark.parametrize("Estimator, make", ESTIMATORS, ids=["regressor", "classifier"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("batch", list(BATCHES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_each_layout_gives_the_c_order_model_in_both_engines(Estimator, make, layout, batch,
                                                              dtype, tmp_path):
    X, y = make(83, 5, seed=21, dtype=dtype)
    arrived = LAYOUTS[layout](X, tmp_path)
    plain = np.array(arrived, order="C")      # the same values, as a plain writable array
    before = plain.copy()
    params = dict(batch_size=BATCHES[batch], max_iter=4, tol=None, random_state=3)
    models = {}
    for engine in _engine.ENGINES:
        expected = Estimator(engine=engine, **params).fit(plain, y)
        model = Estimator(engine=engine, **params).fit(arrived, y)
        np.testing.assert_array_equal(model.coef_, expected.coef_)
        np.testing.assert_array_equal(model.intercept_, expected.intercept_)
        np.testing.assert_array_equal(model.predict(arrived), expected.predict(plain))
        models[engine] = model
    tolerance = 1e-10 if dtype == np.float64 else 2e-4
    assert relative_error(models["cython"].coef_, models["numpy"].coef_) < tolerance
    np.testing.assert_array_equal(arrived, before)


@pytest.mark.parametrize("Estimator, make", ESTIMATORS, ids=["regressor", "classifier"])
def test_a_single_row_trains_like_the_twin(Estimator, make):
    X, y = make(40, 3, seed=5)
    if Estimator is GDClassifier:
        X, y = X[:2], np.array([0, 1])     # a classifier needs two classes
    else:
        X, y = X[:1], y[:1]
    models = [Estimator(engine=engine, max_iter=3, tol=None, random_state=0).fit(X, y)
              for engine in _engine.ENGINES]
    assert relative_error(models[0].coef_, models[1].coef_) < 1e-10
    assert np.all(np.isfinite(models[0].coef_))


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
@pytest.mark.parametrize("engine", _engine.ENGINES)
def test_no_rows_is_refused_by_the_estimators(Estimator, engine):
    with pytest.raises(ValueError, match="0 sample"):
        Estimator(engine=engine).fit(np.empty((0, 3)), np.empty(0))


def test_no_rows_is_refused_by_the_kernel_entry_point():
    config = dict(_engine.NEUTRAL_CONFIG, loss=0, multiclass=0, optimizer=0, schedule=0)
    empty = np.empty(0)
    with pytest.raises(ValueError, match="non-zero, number of rows"):
        _kernel.run_epoch(np.empty((0, 3)), empty, empty, np.zeros(3), np.zeros(4),
                          np.empty((0, 4)), np.ones(_engine.SCALAR_STATE_SIZE),
                          np.empty(0, dtype=np.intp), config, 0, 0, empty, 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_kernel_reads_read_only_arrays_as_the_twin_does(dtype):
    """The kernel's inputs are const memoryviews: read-only X, y, weights and means (what
    joblib hands to grid-search workers) are accepted and give the twin's epoch."""
    X, y = make_regression(61, 6, seed=2, dtype=dtype)
    weights = np.linspace(0.5, 1.5, 61).astype(dtype)
    mean = X.mean(axis=0).astype(dtype)
    for a in (X, y, weights, mean):
        a.setflags(write=False)
    config = dict(optimizer="adam", batch_size=8, center=True, learning_rate=0.05)
    results = {}
    for engine in _engine.ENGINES:
        coef = np.zeros(7, dtype=dtype)
        state = np.zeros((_engine.state_rows("adam"), 7), dtype=dtype)
        scalars = np.ones(_engine.SCALAR_STATE_SIZE)
        order = np.arange(61, dtype=np.intp)
        status, loss_sum, *_ = _engine.run_epoch(engine, X, y, weights, coef, state, scalars,
                                                 order, config, 0, 0, mean=mean)
        assert status == _engine.STATUS_OK
        results[engine] = coef, loss_sum
    tolerance = 1e-10 if dtype == np.float64 else 2e-4
    assert relative_error(results["cython"][0], results["numpy"][0]) < tolerance
    assert results["cython"][1] == pytest.approx(results["numpy"][1], rel=tolerance)
