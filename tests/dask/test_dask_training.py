"""gdfast.dask's estimators on a local cluster: the synchronous strategy takes the in-memory
full batch's steps whatever the chunking, local SGD reaches the optimum, bad data and
failures behave as in memory."""
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import gdfast  # noqa: E402
from gdfast import dask as gd_dask  # noqa: E402
from gdfast.optim import OPTIMIZER_CLASSES  # noqa: E402

# Row chunkings of 240 rows: equal chunks, unequal ones with a one-row chunk, one chunk.
CHUNKINGS = [(60, 60, 60, 60), (1, 99, 40, 100), (240,)]
TOLERANCE = 1e-10


def regression(n_samples=240, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) + np.arange(1, n_features + 1)
    y = X @ rng.standard_normal(n_features) + 2.0 + 0.3 * rng.standard_normal(n_samples)
    return X, y


def chunked(X, *arrays, chunks):
    """X and the per-row arrays as dask arrays with the given row chunks."""
    result = [da.from_array(X, chunks=(chunks, X.shape[1]))]
    result += [da.from_array(values, chunks=(chunks,)) for values in arrays]
    return result


def assert_same_fit(model, reference):
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=TOLERANCE)
    assert model.n_iter_ == reference.n_iter_ and model.t_ == reference.t_
    assert model.n_features_in_ == reference.n_features_in_


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("params", [
    {"tol": 1e-2, "n_iter_no_change": 3},               # the stopping rule
    {"optimizer": "momentum", "penalty": "l2", "alpha": 0.01, "max_iter": 8, "tol": None},
    {"optimizer": "nesterov", "penalty": "elasticnet", "alpha": 0.01, "max_iter": 10,
     "tol": None, "lr_schedule": "cosine"},
    {"center": False, "fit_intercept": False, "max_iter": 8, "tol": None},
    {"scale": "maxabs", "max_iter": 6, "tol": None},
])
def test_gradient_strategy_equals_in_memory_full_batch(chunks, params):
    X, y = regression()
    reference = gdfast.GDRegressor(batch_size=None, random_state=0, **params).fit(X, y)
    X_chunked, y_chunked = chunked(X, y, chunks=chunks)
    model = gd_dask.GDRegressor(random_state=0, **params).fit(X_chunked, y_chunked)
    assert_same_fit(model, reference)
    assert np.all(model.coef_ != 0)


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("shuffle", [True, False])
def test_gradient_strategy_mini_batches_equal_in_memory_mini_batches(shuffle):
    """Batches drawn across the chunks in the in-memory order: the same steps."""
    X, y = regression(seed=12)
    params = {"batch_size": 70, "shuffle": shuffle, "optimizer": "momentum", "max_iter": 3,
              "tol": None, "random_state": 4}
    reference = gdfast.GDRegressor(**params).fit(X, y)
    model = gd_dask.GDRegressor(**params).fit(*chunked(X, y, chunks=CHUNKINGS[1]))
    assert_same_fit(model, reference)
    assert model.t_ == 3 * 4                            # 4 batches of at most 70 of 240 rows


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZER_CLASSES))
def test_every_optimizer_and_penalty_equals_in_memory(optimizer):
    """Uncentred: in the centred start the intercept's gradient is zero up to rounding, which
    the adaptive rules (a step of about γ·sign(g)) turn into different steps."""
    X, y = regression(seed=1)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    params = {"optimizer": optimizer, "penalty": "elasticnet", "alpha": 0.01, "center": False,
              "max_iter": 8, "tol": None, "learning_rate": 0.01, "random_state": 0}
    reference = gdfast.GDRegressor(batch_size=None, **params).fit(X, y, sample_weight=weights)
    X_chunked, y_chunked, w_chunked = chunked(X, y, weights, chunks=CHUNKINGS[1])
    model = gd_dask.GDRegressor(**params).fit(X_chunked, y_chunked, sample_weight=w_chunked)
    assert_same_fit(model, reference)


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("loss", ["huber", "epsilon_insensitive"])
def test_robust_losses_start_from_the_same_weighted_median(loss):
    X, y = regression(n_samples=700, seed=3)
    weights = np.random.default_rng(4).integers(0, 3, len(y)).astype(float)
    params = {"loss": loss, "max_iter": 10, "tol": None, "random_state": 0}
    reference = gdfast.GDRegressor(batch_size=None, **params).fit(X, y, sample_weight=weights)
    X_chunked, y_chunked, w_chunked = chunked(X, y, weights, chunks=(1, 299, 100, 300))
    model = gd_dask.GDRegressor(**params).fit(X_chunked, y_chunked, sample_weight=w_chunked)
    assert_same_fit(model, reference)


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("params", [
    {},
    {"class_weight": "balanced"},
    {"loss": "hinge", "class_weight": {"b": 3.0}},
    {"loss": "modified_huber", "multi_class": "ovr", "penalty": "l1", "alpha": 0.001},
])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_equals_in_memory_full_batch(params, n_classes):
    X, y = regression(seed=5)
    labels = np.array(["a", "b", "c"])[np.digitize(y, np.quantile(y, [0.4, 0.7][:n_classes - 1]))]
    settings = dict(params, max_iter=12, tol=None, random_state=0)
    reference = gdfast.GDClassifier(batch_size=None, **settings).fit(X, labels)
    X_chunked, y_chunked = chunked(X, labels, chunks=CHUNKINGS[1])
    model = gd_dask.GDClassifier(**settings).fit(X_chunked, y_chunked)
    assert_same_fit(model, reference)
    np.testing.assert_array_equal(model.classes_, reference.classes_)
    predicted = model.predict(X_chunked)
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), reference.predict(X))
    assert model.score(X_chunked, y_chunked) == pytest.approx(reference.score(X, labels),
                                                              abs=1e-12)
    if hasattr(reference, "predict_proba"):
        np.testing.assert_allclose(model.predict_proba(X_chunked).compute(),
                                   reference.predict_proba(X), atol=1e-10)
    else:
        assert not hasattr(model, "predict_proba")


@pytest.mark.usefixtures("client")
def test_local_sgd_reaches_the_least_squares_optimum():
    X, y = regression(n_samples=1200, seed=6)
    design = np.column_stack([X, np.ones(len(y))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    optimum = np.mean((design @ solution - y) ** 2)
    X_chunked, y_chunked = chunked(X, y, chunks=(1, 399, 400, 400))
    model = gd_dask.GDRegressor(strategy="local_sgd", batch_size=1, local_epochs=3,
                                max_iter=300, random_state=0)
    model.fit(X_chunked, y_chunked)
    loss = np.mean((model.predict(X) - y) ** 2)
    assert optimum <= loss < 1.01 * optimum
    assert model.n_iter_ < 300                      # stopped by the rule, not max_iter
    assert model.loss_curve_[-1] < 1.05 * optimum


@pytest.mark.usefixtures("client")
def test_local_sgd_classifier_within_one_percent_of_the_converged_log_loss():
    X, y = regression(n_samples=900, seed=7)
    labels = (y > np.median(y)).astype(int)
    labels[::7] = 1 - labels[::7]           # not separable: a finite optimum
    converged = gdfast.GDClassifier(batch_size=None, optimizer="nesterov", max_iter=5000,
                                    tol=1e-12, random_state=0).fit(X, labels)
    def log_loss(model):
        p = model.predict_proba(X)[:, 1]
        return -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    X_chunked, y_chunked = chunked(X, labels, chunks=(300, 300, 300))
    model = gd_dask.GDClassifier(strategy="local_sgd", batch_size=8, max_iter=300,
                                 random_state=0).fit(X_chunked, y_chunked)
    assert log_loss(model) < 1.01 * log_loss(converged)


@pytest.mark.usefixtures("client")
def test_local_sgd_is_reproducible_and_pickles():
    import pickle
    X, y = regression(seed=8)
    X_chunked, y_chunked = chunked(X, y, chunks=CHUNKINGS[0])
    params = {"strategy": "local_sgd", "batch_size": 4, "optimizer": "adam", "max_iter": 5,
              "tol": None, "random_state": 3}
    first = gd_dask.GDRegressor(**params).fit(X_chunked, y_chunked)
    second = gd_dask.GDRegressor(**params).fit(X_chunked, y_chunked)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict(X_chunked).compute(), first.predict(X))
    np.testing.assert_array_equal(restored.coef_, first.coef_)


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("estimator", ["GDRegressor", "GDClassifier"])
def test_nan_in_one_chunk_gives_the_in_memory_error(estimator):
    X, y = regression()
    y = (y > np.median(y)).astype(int) if estimator == "GDClassifier" else y
    X[150, 2] = np.nan
    with pytest.raises(ValueError) as in_memory:
        getattr(gdfast, estimator)(batch_size=None).fit(X, y)
    X_chunked, y_chunked = chunked(X, y, chunks=CHUNKINGS[0])
    with pytest.raises(ValueError) as on_dask:
        getattr(gd_dask, estimator)().fit(X_chunked, y_chunked)
    assert str(on_dask.value) == str(in_memory.value)
    assert str(on_dask.value) == "X contains NaN at row 150, column 2."


@pytest.mark.usefixtures("client")
def test_a_failed_fit_leaves_the_previous_model():
    X, y = regression()
    X_chunked, y_chunked = chunked(X, y, chunks=CHUNKINGS[1])
    model = gd_dask.GDRegressor(max_iter=5, tol=None).fit(X_chunked, y_chunked)
    before = {name: np.copy(value) for name, value in vars(model).items()
              if name.endswith("_") and isinstance(value, np.ndarray)}
    # Diverges after a few epochs: the error comes mid-way through training.
    model.set_params(learning_rate=1e6, max_iter=100)
    with pytest.raises(ValueError, match=r"overflow occurred at epoch #[1-9][0-9]"):
        model.fit(X_chunked, y_chunked)
    bad = X.copy()
    bad[200, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        model.fit(*chunked(bad[:, :3], y, chunks=CHUNKINGS[1]))     # new feature count too
    assert model.n_features_in_ == X.shape[1] and model.n_iter_ == 5
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)


@pytest.mark.usefixtures("client")
def test_bad_inputs_and_parameters_get_clear_errors():
    X, y = regression()
    X_chunked, y_chunked = chunked(X, y, chunks=CHUNKINGS[0])
    with pytest.raises(ValueError, match="strategy"):
        gd_dask.GDRegressor(strategy="allreduce").fit(X_chunked, y_chunked)
    with pytest.raises(ValueError, match="early_stopping"):
        gd_dask.GDRegressor(early_stopping=True, validation_fraction=1e-9).fit(X_chunked,
                                                                              y_chunked)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gd_dask.GDRegressor().fit(X_chunked, y_chunked[:-1])
    with pytest.raises(ValueError, match="2-d"):
        gd_dask.GDRegressor().fit(X_chunked[:, 0], y_chunked)
    with pytest.raises(ValueError, match="no rows to train on"):
        gd_dask.GDRegressor().fit(X_chunked[:0], y_chunked[:0])
    with pytest.raises(ValueError, match="zero for every row"):
        gd_dask.GDRegressor().fit(X_chunked, y_chunked, sample_weight=np.zeros(len(y)))
    model = gd_dask.GDRegressor(max_iter=3, tol=None).fit(X_chunked, y_chunked)
    with pytest.raises(ValueError, match="features"):
        model.predict(X_chunked[:, :3])


@pytest.mark.usefixtures("client")
def test_warm_start_and_partial_fit_continue_the_state():
    X, y = regression()
    X_chunked, y_chunked = chunked(X, y, chunks=CHUNKINGS[1])
    reference = gdfast.GDRegressor(batch_size=None, max_iter=6, tol=None).fit(X, y)
    model = gd_dask.GDRegressor(max_iter=3, tol=None, warm_start=True)
    model.fit(X_chunked, y_chunked).fit(X_chunked, y_chunked)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=TOLERANCE)
    streamed = gd_dask.GDRegressor(lr_schedule="constant")
    for _ in range(6):
        streamed.partial_fit(X_chunked, y_chunked)
    constant = gdfast.GDRegressor(batch_size=None, lr_schedule="constant", max_iter=6,
                                  tol=None).fit(X, y)
    np.testing.assert_allclose(streamed.coef_, constant.coef_, atol=TOLERANCE)
    assert streamed.n_iter_ == 6 and len(streamed.loss_curve_) == 6


@pytest.mark.usefixtures("client")
def test_a_stream_scaled_by_largest_values_follows_them():
    X, y = regression()
    X_chunked, y_chunked = chunked(X, y, chunks=CHUNKINGS[1])
    streamed = gd_dask.GDRegressor(lr_schedule="constant", scale="maxabs")
    for _ in range(3):
        streamed.partial_fit(X_chunked, y_chunked)
    constant = gdfast.GDRegressor(batch_size=None, lr_schedule="constant", scale="maxabs",
                                  max_iter=3, tol=None).fit(X, y)
    np.testing.assert_allclose(streamed.coef_, constant.coef_, atol=TOLERANCE)
    np.testing.assert_array_equal(streamed._state.inv_scale, 1 / np.max(np.abs(X), axis=0))


@pytest.mark.usefixtures("client")
def test_classifier_partial_fit_takes_the_classes_on_the_first_call():
    X, y = regression(seed=9)
    labels = np.digitize(y, np.quantile(y, [0.3, 0.6]))
    X_chunked, y_chunked = chunked(X, labels, chunks=CHUNKINGS[1])
    model = gd_dask.GDClassifier(lr_schedule="constant")
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X_chunked, y_chunked)
    assert not hasattr(model, "classes_")
    # The first call sees two of the three classes.
    model.partial_fit(X_chunked[:100], y_chunked[:100] % 2, classes=[0, 1, 2])
    model.partial_fit(X_chunked, y_chunked)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.coef_.shape == (3, X.shape[1]) and model.n_iter_ == 2
    with pytest.raises(ValueError, match="not in classes"):
        model.partial_fit(X_chunked, y_chunked + 1)


@pytest.mark.usefixtures("client")
def test_float32_data_trains_in_float32():
    X, y = regression(seed=10)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    reference = gdfast.GDRegressor(batch_size=None, max_iter=10, tol=None).fit(X32, y32)
    model = gd_dask.GDRegressor(max_iter=10, tol=None).fit(*chunked(X32, y32,
                                                                    chunks=CHUNKINGS[1]))
    assert model._state.coef.dtype == np.float32
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-4)
    predicted = model.predict(da.from_array(X32, chunks=(50, 5)))
    assert predicted.dtype == reference.predict(X32).dtype == predicted.compute().dtype


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("estimator", ["GDRegressor", "GDClassifier"])
def test_early_stopping_watches_rows_held_out_in_each_chunk(estimator):
    from sklearn.utils import check_random_state
    X, y = regression(n_samples=800, seed=11)
    y = (y > np.median(y)).astype(int) if estimator == "GDClassifier" else y
    chunks = (1, 399, 400)
    model = getattr(gd_dask, estimator)(early_stopping=True, validation_fraction=0.25,
                                        strategy="local_sgd", batch_size=1, max_iter=200,
                                        n_iter_no_change=3, random_state=5)
    model.fit(*chunked(X, y, chunks=chunks))
    assert model.n_iter_ < 200 and len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None
    # The held-out rows: in each chunk, those whose uniform draw (from the fit's seed and
    # the chunk's index) falls below validation_fraction.
    seed = check_random_state(5).randint(np.iinfo(np.int32).max)
    held_out = np.concatenate([np.random.default_rng([seed, index]).random(size) < 0.25
                               for index, size in enumerate(chunks)])
    assert 150 < held_out.sum() < 250
    in_memory = getattr(gdfast, estimator)()
    in_memory.__dict__.update({key: value for key, value in vars(model).items()
                               if key.endswith("_")})
    # The coefficients kept are those of the best validation score.
    assert in_memory.score(X[held_out], y[held_out]) == pytest.approx(
        model.best_validation_score_, abs=1e-10)


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("average", [True, 5])
@pytest.mark.parametrize("batch_size", [70, None])
def test_gradient_strategy_averages_as_in_memory(average, batch_size):
    """The client averages the iterates of its steps: the in-memory model, average and
    last iterate alike."""
    X, y = regression(seed=13)
    params = {"batch_size": batch_size, "optimizer": "momentum", "max_iter": 8, "tol": None,
              "random_state": 4, "average": average, "scale": False}
    reference = gdfast.GDRegressor(**params).fit(X, y)
    model = gd_dask.GDRegressor(**params).fit(*chunked(X, y, chunks=CHUNKINGS[1]))
    assert_same_fit(model, reference)
    np.testing.assert_allclose(model._state.coef, reference._state.coef, rtol=0,
                               atol=TOLERANCE)
    assert model._state.n_averaged == reference._state.n_averaged > 0
    assert not np.allclose(model._state.average, model._state.coef, rtol=1e-6)


@pytest.mark.usefixtures("client")
def test_local_sgd_averages_each_chunks_iterates():
    """With one chunk a round is the in-memory epoch: 'auto' averages its iterates from
    halfway through it, as in memory; over several chunks the model is the chunks' averages'
    mean, and average=False keeps the last iterates'."""
    X, y = regression(seed=13)
    params = {"batch_size": 4, "max_iter": 3, "tol": None, "random_state": 4}
    model = gd_dask.GDRegressor(strategy="local_sgd", **params).fit(
        *chunked(X, y, chunks=CHUNKINGS[2]))
    one_epoch = gdfast.GDRegressor(**params)
    # The chunk's row order is drawn from the round's generator: compare the averaging's
    # start and count with the in-memory epoch's, and the model with the average.
    one_epoch.fit(X, y)
    assert model._state.average_start == one_epoch._state.average_start == 30
    assert model._state.n_averaged == one_epoch._state.n_averaged == 3 * 60 - 30
    np.testing.assert_array_equal(model._state.model_vector(), model._state.average)
    several = gd_dask.GDRegressor(strategy="local_sgd", **params).fit(
        *chunked(X, y, chunks=CHUNKINGS[0]))
    last = gd_dask.GDRegressor(strategy="local_sgd", average=False, **params).fit(
        *chunked(X, y, chunks=CHUNKINGS[0]))
    assert several._state.average_start == 7 and several.t_ == last.t_ == 45
    # The same rounds' iterates, averaged or not.
    np.testing.assert_allclose(several._state.coef, last._state.coef, rtol=0, atol=TOLERANCE)
    assert several._state.n_averaged == 45 - 7
    assert not np.allclose(several.coef_, last.coef_, rtol=1e-6)


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("weighted", [False, True])
def test_the_description_pass_gives_weighted_moments_and_the_largest_row_norm(weighted):
    """One read of each chunk gives the features' weighted means and variances, combined
    over the chunks, and the exact largest s·‖(z, 1)‖² of the model's view of a row, from
    each chunk's candidate rows (reading a chunk again only where its bound is unsure)."""
    from gdfast.dask import _chunks, _statistics
    rng = np.random.default_rng(3)
    n_samples = 3 * _statistics.CANDIDATE_ROWS + 5017
    X = rng.standard_normal((n_samples, 4)) * [1.0, 2.0, 0.5, 3.0] + [0.0, 1.0, -2.0, 5.0]
    y = rng.standard_normal(n_samples)
    # Weights far apart: some chunks' bounds are then unsure and those chunks read again.
    weights = rng.uniform(0.0, 2.0, n_samples) ** (8 if weighted else 0)
    X_chunked, y_chunked, w_chunked = chunked(X, y, weights,
                                              chunks=(1, 5000, n_samples - 5001))
    model = gd_dask.GDRegressor()
    prepare = _chunks.Preparation(model, np.dtype(np.float64), False)
    sums = _statistics.describe_chunks(X_chunked, y_chunked, w_chunked, prepare, model,
                                       scale=True, candidates=True)
    moments = sums["moments"]
    mean = np.average(X, axis=0, weights=weights)
    np.testing.assert_allclose(sums["weight"], weights.sum(), rtol=1e-12)
    np.testing.assert_allclose(moments.weight, weights.sum(), rtol=1e-12)
    np.testing.assert_allclose(moments.mean, mean, rtol=1e-10)
    np.testing.assert_allclose(moments.variance,
                               np.average((X - mean) ** 2, axis=0, weights=weights), rtol=1e-10)
    assert sums["rows"] == n_samples
    assert sums["target"] == pytest.approx(weights @ y, rel=1e-12)
    for centre, scales in [(mean, 1.0 / np.sqrt(moments.variance)),
                           (np.zeros(4), np.ones(4)), (mean + 3.0, np.array([5.0, 1, 1, 1]))]:
        expected = np.max(weights * (np.sum(((X - centre) * scales) ** 2, axis=1) + 1.0))
        largest = _statistics.largest_norm(sums, X_chunked, y_chunked, w_chunked, prepare,
                                           centre, scales, True)
        assert largest == pytest.approx(expected, rel=1e-12)
