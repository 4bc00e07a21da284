"""The certificate at a stop and the averaged model's objective on a Dask cluster: sums over
the chunks, the same numbers as one pass in memory, so that the stopping rule weighs the
same objective and a fit that stops short of the optimum warns as it would in memory."""
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import gdfast  # noqa: E402
from gdfast import dask as gd_dask  # noqa: E402
from gdfast.linear_model._base import BaseGD  # noqa: E402

CHUNKS = (1, 299, 100, 400)


def problem(n_classes, weighted, seed=3):
    """800 rows of correlated features far from zero; y for squared error (n_classes None)
    or class labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((800, 6)) @ rng.standard_normal((6, 6)) + 5.0
    signal = X @ rng.standard_normal(6)
    y = signal + rng.standard_normal(800)
    if n_classes is not None:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
    weights = rng.uniform(0.2, 2.0, 800) if weighted else None
    return X, y, weights


def chunked(values):
    if values is None:
        return None
    return da.from_array(values, chunks=(CHUNKS,) + values.shape[1:])


def fit_and_capture(monkeypatch, model, X, y, weights):
    """Fit; return what the training loop was given to weigh the model: (model_objective,
    optimality_gap) and the state it returned."""
    captured = {}
    train = BaseGD._train

    def spy(self, *args, **kwargs):
        result = train(self, *args, **kwargs)
        captured.update(objective=kwargs["model_objective"], gap=kwargs["optimality_gap"],
                        state=result[0])
        return result
    monkeypatch.setattr(BaseGD, "_train", spy)
    model.fit(X, y, sample_weight=weights)
    monkeypatch.undo()
    return captured


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("estimator, n_classes, params", [
    ("GDRegressor", None, {"penalty": "l2", "alpha": 1e-2}),
    ("GDRegressor", None, {"scale": False, "center": False, "fit_intercept": False}),
    ("GDClassifier", 2, {"penalty": "l2", "alpha": 1e-3}),
    ("GDClassifier", 3, {}),
    ("GDClassifier", 3, {"multi_class": "ovr"}),
])
def test_the_chunked_certificate_and_objective_are_the_in_memory_ones(
        monkeypatch, estimator, n_classes, params, weighted):
    """Two full-batch AdaGrad epochs (far from the optimum, with an average of the iterates):
    the certificate (passes for the gradient, the curvature and, for the log loss, the line)
    and the reported model's objective, summed over unequal chunks, equal one pass in memory
    over the same model."""
    X, y, weights = problem(n_classes, weighted)
    params = dict(params, optimizer="adagrad", average=True, max_iter=2, tol=None,
                  random_state=0)
    in_memory = fit_and_capture(monkeypatch, getattr(gdfast, estimator)(
        batch_size=None, **params), X, y, weights)
    on_chunks = fit_and_capture(monkeypatch, getattr(gd_dask, estimator)(
        strategy="gradient", **params), chunked(X), chunked(y), chunked(weights))
    state = in_memory["state"]
    assert state.n_averaged > 0
    gap, objective = in_memory["gap"](state)
    assert gap > 1e-3 and objective > gap
    np.testing.assert_allclose(on_chunks["gap"](state), (gap, objective), rtol=1e-10)
    np.testing.assert_allclose(on_chunks["objective"](state), in_memory["objective"](state),
                               rtol=1e-12)
    np.testing.assert_allclose(in_memory["objective"](state), objective, rtol=1e-12)
