"""The compiled pass over X (gdfast/_kernels/statistics.pyx) against its NumPy twin."""
import importlib

import numpy as np
import pytest

from gdfast._slow import statistics as _reference
from gdfast.linear_model import _engine

# The builds of the kernel this machine can run: the baseline, and AVX2 where the epoch
# loop's AVX2 build runs.
BUILDS = ["statistics"] + [
    "statistics_avx2" for build in _engine.available_kernels() if build.__name__.endswith("_avx2")]


@pytest.fixture(params=BUILDS)
def kernel(request):
    return importlib.import_module(f"gdfast._kernels.{request.param}")

# Rows that are no multiple of the kernel's four-row groups, 256-row blocks or 8192-row
# segments, so every remainder loop runs.
N_ROWS = 2 * 8192 + 256 + 7


def offset_data(dtype, n_rows=N_ROWS, seed=0):
    """Features with offsets of hundreds and spreads of 0.05 to 3, the hard case for sums
    of squares, and weights with some zeros."""
    rng = np.random.default_rng(seed)
    offsets = rng.uniform(-600, 600, 6)
    spreads = np.array([0.05, 0.05, 0.5, 1.0, 3.0, 0.05])
    X = (offsets + spreads * rng.standard_normal((n_rows, 6))).astype(dtype)
    weights = rng.uniform(0, 3, n_rows)
    weights[::11] = 0.0
    return X, weights.astype(dtype)


def shift_of(X):
    return X[::97].mean(axis=0, dtype=np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("unit", [False, True])
def test_moments_match_the_twin_to_rounding(kernel, dtype, unit):
    X, weights = offset_data(dtype)
    if unit:                        # the kernel's own path for rows that all weigh 1
        weights = np.ones_like(weights)
    shift = shift_of(X)
    k_weight, k_mean, k_variance = kernel.shifted_moments(X, weights, shift)
    r_weight, r_mean, r_variance = _reference.shifted_moments(X, weights, shift)
    assert k_mean.dtype == k_variance.dtype == np.float64
    assert k_weight == pytest.approx(r_weight, rel=1e-13)
    np.testing.assert_allclose(k_mean, r_mean, rtol=1e-13)
    np.testing.assert_allclose(k_variance, r_variance, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_weights_weigh_every_row_one(kernel, dtype):
    """sample_weight None (no array read) sums to the last bit what an array of ones does,
    distances included, and the row norms too."""
    X, _ = offset_data(dtype)
    shift, q = shift_of(X), np.linspace(0.5, 2.0, X.shape[1])
    ones = np.ones(X.shape[0], dtype=dtype)
    with_ones, without = np.empty(X.shape[0], np.float32), np.empty(X.shape[0], np.float32)
    expected = kernel.shifted_moments(X, ones, shift, with_ones, 2, q)
    weight, mean, variance = kernel.shifted_moments(X, None, shift, without, 2, q)
    assert weight == expected[0] == X.shape[0]
    np.testing.assert_array_equal(mean, expected[1])
    np.testing.assert_array_equal(variance, expected[2])
    np.testing.assert_array_equal(without, with_ones)
    r_weight, r_mean, _ = _reference.shifted_moments(X, None, shift)
    assert r_weight == X.shape[0]
    np.testing.assert_allclose(mean, r_mean, rtol=1e-13)
    rows = np.array([5, 0, 4000], dtype=np.intp)
    for listed in (None, rows):
        assert kernel.row_norm_sums(X, None, shift, q, 1.0, listed) == \
            kernel.row_norm_sums(X, ones, shift, q, 1.0, listed)
        assert kernel.row_norm_sums(X, None, shift, q, 1.0, listed) == pytest.approx(
            _reference.row_norm_sums(X, None, shift, q, 1.0, listed), rel=1e-12)


def test_moments_are_accurate_even_around_a_far_shift(kernel):
    # The sums around a shift of a few standard deviations away still give the variance to
    # ~1e-12: the error grows with (distance / spread)², here (0.5 / 0.05)² = 100.
    X, weights = offset_data(np.float64)
    shift = shift_of(X) + 0.5
    _, mean, variance = kernel.shifted_moments(X, weights, shift)
    _, r_mean, r_variance = _reference.shifted_moments(X, weights, shift)
    np.testing.assert_allclose(mean, r_mean, rtol=1e-14)
    np.testing.assert_allclose(variance, r_variance, rtol=1e-11)


@pytest.mark.parametrize("unit", [False, True])
def test_moments_do_not_depend_on_the_thread_count(kernel, unit):
    X, weights = offset_data(np.float64)
    if unit:
        weights = np.ones_like(weights)
    shift = shift_of(X)
    one = kernel.shifted_moments(X, weights, shift, None, 1)
    for n_threads in (2, 3):
        other = kernel.shifted_moments(X, weights, shift, None, n_threads)
        assert other[0] == one[0]
        np.testing.assert_array_equal(other[1], one[1])
        np.testing.assert_array_equal(other[2], one[2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_features", [6, 8, 21])     # below, at and past eight lanes
@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("unit", [False, True])
def test_distances_match_the_twin(kernel, dtype, n_features, scaled, unit):
    X, weights = offset_data(dtype)
    if unit:
        weights = np.ones_like(weights)
    X = np.ascontiguousarray(np.tile(X, 4)[:, :n_features])
    shift = shift_of(X)
    q = np.geomspace(0.01, 50, n_features) if scaled else None
    computed = np.full(X.shape[0], np.nan, dtype=np.float32)
    reference = np.empty(X.shape[0])
    with_distances = kernel.shifted_moments(X, weights, shift, computed, 2, q)
    _reference.shifted_moments(X, weights, shift, reference, distance_scale=q)
    np.testing.assert_allclose(computed, reference, rtol=1e-6)
    # Keeping the distances changes nothing else.
    without = kernel.shifted_moments(X, weights, shift, None, 2)
    np.testing.assert_array_equal(with_distances[2], without[2])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("unit", [False, True])
def test_a_nonfinite_value_shows_in_the_moments(kernel, bad, unit):
    X, weights = offset_data(np.float64)
    X[N_ROWS - 3, 4] = bad
    if unit:
        weights = np.ones_like(weights)
    else:
        weights[N_ROWS - 3] = 0.0      # even in a row of zero weight
    _, mean, variance = kernel.shifted_moments(X, weights, shift_of(X[:100]))
    assert not np.isfinite(mean[4]) or not np.isfinite(variance[4])
    assert np.all(np.isfinite(np.delete(mean, 4))) and np.all(np.isfinite(np.delete(variance, 4)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("intercept_term", [0.0, 1.0])
def test_row_norm_sums_match_the_twin(kernel, dtype, scaled, intercept_term):
    X, weights = offset_data(dtype, n_rows=3001)
    rng = np.random.default_rng(3)
    mean = X.mean(axis=0, dtype=np.float64) + rng.normal(0, 0.01, X.shape[1])
    inv_scale = rng.uniform(0.5, 20, X.shape[1]) if scaled else np.ones(X.shape[1])
    rows = rng.choice(X.shape[0], 40, replace=False).astype(np.intp)
    for subset in (None, rows):
        k_total, k_largest = kernel.row_norm_sums(X, weights, mean, inv_scale, intercept_term,
                                                   subset)
        r_total, r_largest = _reference.row_norm_sums(X, weights, mean, inv_scale,
                                                      intercept_term, subset)
        assert k_total == pytest.approx(r_total, rel=1e-12)
        assert k_largest == pytest.approx(r_largest, rel=1e-12)
    with pytest.raises(IndexError, match="row 3001 is not a row of X"):
        kernel.row_norm_sums(X, weights, mean, inv_scale, 1.0, np.array([0, 3001], np.intp))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_first_nonfinite_matches_the_twin(kernel, dtype):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((5000, 13)).astype(dtype)
    assert kernel.first_nonfinite(X) is None and _reference.first_nonfinite(X) is None
    for cells in ([(4999, 12)], [(2500, 3), (2500, 1), (4000, 0)], [(0, 0), (1, 0)]):
        bad = X.copy()
        for (row, column), value in zip(cells, [np.nan, -np.inf, np.inf]):
            bad[row, column] = value
        expected = min(cells)
        assert kernel.first_nonfinite(bad) == _reference.first_nonfinite(bad) == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("unit", [True, False])
@pytest.mark.parametrize("sorted_rows", [True, False])
def test_csr_moments_match_the_numpy_pass_over_blocks(kernel, dtype, unit, sorted_rows):
    """The compiled moments of a CSR X's columns (rows in increasing or any column order,
    some empty, a column never stored; one whose offset dwarfs its spread) equal the NumPy
    pass's, and the dense moments of the same X."""
    import scipy.sparse as sp

    from gdfast.linear_model import _sparse
    rng = np.random.default_rng(3)
    dense = rng.standard_normal((300, 40)) * (rng.random((300, 40)) < 0.2) + 5.0 * (
        rng.random((300, 40)) < 0.05)
    dense[:, 7] = 0.0
    dense[10:20] = 0.0
    X = sp.csr_matrix(dense.astype(dtype))
    if not sorted_rows:
        order = np.argsort(rng.random(X.nnz))
        for row in range(X.shape[0]):
            lo, hi = X.indptr[row], X.indptr[row + 1]
            picked = lo + np.argsort(order[lo:hi])
            X.indices[lo:hi], X.data[lo:hi] = X.indices[picked], X.data[picked]
        X.has_sorted_indices = False
    weights = np.ones(300) if unit else rng.uniform(0, 3, 300)
    data, indices, indptr = _sparse.kernel_arrays(X)
    weight, mean, variance = kernel.csr_moments(data, indices, indptr, weights, X.shape[1])
    expected = _sparse.weighted_moments(X, weights)
    assert weight == pytest.approx(expected[0], rel=1e-15)
    np.testing.assert_allclose(mean, expected[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(variance, expected[2], rtol=1e-12, atol=1e-15)
    column = dense.astype(dtype).astype(np.float64)
    dense_mean = weights @ column / weights.sum()
    np.testing.assert_allclose(mean, dense_mean, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(variance, weights @ (column - dense_mean) ** 2 / weights.sum(),
                               rtol=1e-10, atol=1e-14)
    assert mean[7] == 0.0 and variance[7] == 0.0
    # A column stored in every row, whose offset is a million times its spread: a sum of
    # squares around zero would leave about 1e-4 of its variance to rounding.
    offset = sp.csr_matrix((1e6 + rng.standard_normal((300, 1))).astype(dtype))
    _, offset_mean, offset_variance = kernel.csr_moments(*_sparse.kernel_arrays(offset),
                                                         weights, 1)
    values = offset.toarray()[:, 0].astype(np.float64)
    centre = weights @ values / weights.sum()
    np.testing.assert_allclose(offset_mean, [centre], rtol=1e-14)
    np.testing.assert_allclose(offset_variance,
                               [weights @ (values - centre) ** 2 / weights.sum()], rtol=1e-9)
    # The largest values, in the same pass, and the rows' norms, in one more.
    weights[3] = 0.0
    largest = np.zeros(X.shape[1])
    kernel.csr_moments(data, indices, indptr, weights, X.shape[1], largest)
    np.testing.assert_array_equal(largest, _sparse.max_abs(X, weights))
    np.testing.assert_array_equal(largest, np.max(np.abs(column[weights > 0]), axis=0))
    inv_scale = rng.uniform(0.5, 2.0, X.shape[1])
    for intercept in (0.0, 1.0):
        total, most = kernel.csr_row_norm_sums(data, indices, indptr, weights, inv_scale,
                                               intercept)
        expected_total, expected_most = _sparse.row_norm_sums(X, weights, intercept, inv_scale)
        assert total == pytest.approx(expected_total, rel=1e-12)
        assert most == pytest.approx(expected_most, rel=1e-12)


def test_csr_moments_decline_rows_that_repeat_a_column(kernel):
    """A row that stores a column twice (values that add up) gets None: the caller sums
    the repeats first."""
    data = np.array([1.0, 2.0, 3.0])
    indices = np.array([0, 2, 0], dtype=np.int32)
    indptr = np.array([0, 3, 3], dtype=np.intp)
    assert kernel.csr_moments(data, indices, indptr, np.ones(2), 3) is None
    assert kernel.csr_row_norm_sums(data, indices, indptr, np.ones(2), np.ones(3), 1.0) is None
    indices = np.array([0, 2, 1], dtype=np.int32)
    weight, mean, variance = kernel.csr_moments(data, indices, indptr, np.ones(2), 3)
    assert weight == 2.0
    np.testing.assert_array_equal(mean, [0.5, 1.5, 1.0])
    np.testing.assert_array_equal(variance, [0.25, 2.25, 1.0])


def test_csr_moments_refuse_indices_outside_the_columns(kernel):
    data = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        kernel.csr_moments(data, np.array([0, 3], dtype=np.int32),
                           np.array([0, 2], dtype=np.intp), np.ones(1), 3)
    with pytest.raises(ValueError, match="one value per row"):
        kernel.csr_moments(data, np.array([0, 1], dtype=np.int32),
                           np.array([0, 2], dtype=np.intp), np.ones(2), 3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_rows", [5, 64 * 16, 64 * 16 + 1, N_ROWS])
def test_sample_statistics_match_the_twin(kernel, dtype, n_rows):
    """The shift and the estimated scales come from 64 runs of 16 rows read in place (every
    row when there are no more): the twin's values, 1 for a constant feature's inverse
    scale, and 0 and 1 for a feature whose sample holds a NaN or infinity."""
    X, _ = offset_data(dtype, n_rows=n_rows)
    X[:, 5] = 3.0
    mean, inverse = kernel.sample_statistics(X, 64, 16)
    r_mean, r_inverse = _reference.sample_statistics(X, 64, 16)
    np.testing.assert_allclose(mean, r_mean, rtol=1e-13)
    np.testing.assert_allclose(inverse, r_inverse, rtol=1e-9)
    assert inverse[5] == 1.0 and mean[5] == 3.0
    if n_rows <= 64 * 16:
        np.testing.assert_allclose(mean, X.mean(axis=0, dtype=np.float64), rtol=1e-13)
    X[0, 2], X[-1, 3] = np.nan, np.inf          # the first and last rows are always read
    mean, inverse = kernel.sample_statistics(X, 64, 16)
    assert mean[2] == mean[3] == 0.0 and inverse[2] == inverse[3] == 1.0
    r_mean, r_inverse = _reference.sample_statistics(X, 64, 16)
    np.testing.assert_allclose(mean, r_mean, rtol=1e-13)
    np.testing.assert_allclose(inverse, r_inverse, rtol=1e-9)
    with pytest.raises(ValueError, match="two runs"):
        kernel.sample_statistics(X, 1, 16)


def test_rows_at_least_match_the_twin(kernel):
    rng = np.random.default_rng(8)
    distances = rng.exponential(1.0, 5000).astype(np.float32)
    distances[[3, 40]] = np.nan
    for threshold in (0.0, 1.5, 4.0, float(distances[7]), 1e9):
        rows = kernel.rows_at_least(distances, threshold)
        assert rows.dtype == np.intp
        np.testing.assert_array_equal(rows, _reference.rows_at_least(distances, threshold))
    assert kernel.rows_at_least(distances, float(distances[7]))[0] <= 7 < 5000
    assert 7 in kernel.rows_at_least(distances, float(distances[7]))
    assert kernel.rows_at_least(distances, 1e9).shape == (0,)


def test_farthest_rows_match_the_twin(kernel):
    rng = np.random.default_rng(9)
    distances = rng.exponential(1.0, 5000).astype(np.float32)
    distances[[3, 40]] = np.nan
    distances[100:110] = np.nanmax(distances) + 1     # ties among the farthest: earlier rows first
    distances[[200, 300]] = np.inf
    for k in (0, 1, 5, 11, 12, 64, 4997, 4998, 6000):
        rows = kernel.farthest_rows(distances, k)
        assert rows.dtype == np.intp
        np.testing.assert_array_equal(rows, _reference.farthest_rows(distances, k))
    assert list(kernel.farthest_rows(distances, 2)) == [200, 300]
    assert list(kernel.farthest_rows(distances, 5)) == [100, 101, 102, 200, 300]
    assert kernel.farthest_rows(distances, 6000).shape == (4998,)      # every finite row
    ties = np.ones(100, dtype=np.float32)
    np.testing.assert_array_equal(kernel.farthest_rows(ties, 7), np.arange(7))
    assert kernel.farthest_rows(np.empty(0, dtype=np.float32), 3).shape == (0,)
    with pytest.raises(ValueError, match="at least 0"):
        kernel.farthest_rows(distances, -1)
