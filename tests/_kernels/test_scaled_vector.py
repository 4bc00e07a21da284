"""The lazily scaled weight vector (weights.pxd) meant for sparse rows: w = scale·v, with
O(1) shrinking and O(nnz) sparse updates, must equal the plain vector it stands for."""
import numpy as np
import pytest

from gdfast.linear_model import _engine


@pytest.mark.parametrize("kernel", _engine.available_kernels(), ids=lambda m: m.__name__)
@pytest.mark.parametrize("factors", [
    [1.0, 1.0, 1.0],                 # no decay: plain sparse updates
    [0.9, 0.5, 0.99, 0.7],           # decay every step, the scale stays above the fold
    [1e-5, 1e-5, 0.5],               # the scale falls below 1e-9 and is folded into v
    [0.8, 0.0, 0.9],                 # a factor of 0 clears the vector
], ids=["no-decay", "decay", "fold", "zero"])
def test_lazy_scale_equals_the_plain_vector(kernel, factors):
    rng = np.random.default_rng(0)
    v = rng.standard_normal(12)
    indices = np.array([1, 4, 5, 11], dtype=np.intc)
    data = rng.standard_normal(4)
    steps = rng.standard_normal(len(factors))
    expected = v.copy()
    x = np.zeros(12)
    x[indices] = data
    for factor, step in zip(factors, steps):
        expected = factor * expected + step * x
    product, scale = kernel._scaled_vector_steps(v, data, indices,
                                                 np.array(factors), steps)
    np.testing.assert_allclose(v, expected, rtol=1e-12, atol=1e-12)
    assert product == pytest.approx(expected @ x, rel=1e-12, abs=1e-12)
    # The scale is what stood in for the decay: the product of the factors since the last
    # fold (every factor here, unless it fell below the fold or hit 0).
    if factors == [0.9, 0.5, 0.99, 0.7]:
        assert scale == pytest.approx(np.prod(factors), rel=1e-15)
    if factors == [1e-5, 1e-5, 0.5]:
        assert scale == 0.5


def test_untouched_entries_keep_only_the_decay():
    kernel = _engine.available_kernels()[0]
    v = np.arange(1.0, 7.0)
    product, _ = kernel._scaled_vector_steps(v, np.array([2.0]), np.array([3], dtype=np.intc),
                                             np.array([0.5, 0.5]), np.array([1.0, 1.0]))
    # entry 3: ((4·0.5 + 2)·0.5 + 2) = 4; every other entry: value·0.25.
    np.testing.assert_array_equal(v, [0.25, 0.5, 0.75, 4.0, 1.25, 1.5])
    assert product == 8.0


def test_sparse_indices_outside_the_vector_are_refused():
    kernel = _engine.available_kernels()[0]
    with pytest.raises(ValueError, match="indices"):
        kernel._scaled_vector_steps(np.zeros(3), np.ones(1), np.array([3], dtype=np.intc),
                                    np.ones(1), np.ones(1))
