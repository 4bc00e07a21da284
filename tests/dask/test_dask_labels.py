"""A chunk's labels, counted and checked by comparisons when y holds at most two numbers:
the same labels, counts, weights and errors as by sorting (np.unique) and scikit-learn's
check_classification_targets."""
import warnings

import numpy as np
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from sklearn.utils.multiclass import check_classification_targets  # noqa: E402

from gdfast.dask._labels import check_labels, label_counts, two_labels  # noqa: E402

rng = np.random.default_rng(0)
LABELS = {
    "two floats": rng.integers(0, 2, 1000).astype(np.float64),
    "two floats, negative": np.where(rng.random(1000) < 0.3, -1.0, 3.0),
    "one float": np.full(7, 2.0),
    "one row": np.array([5.0]),
    "two ints": rng.integers(4, 6, 500),
    "bools": rng.random(300) < 0.5,
    "float32": rng.integers(0, 2, 100).astype(np.float32),
    "three ints": rng.integers(0, 3, 1000),
    "three floats": rng.integers(0, 3, 1000).astype(np.float64),
    "strings": np.array(["b", "a", "b", "c"]),
    "two strings": np.array(["no", "yes", "yes"]),
}


def _by_sorting(y, weights):
    labels, index = np.unique(y, return_inverse=True)
    return (labels, np.bincount(index, minlength=len(labels)),
            np.bincount(index, weights=weights, minlength=len(labels)))


@pytest.mark.parametrize("name", LABELS)
def test_label_counts_equal_those_of_a_sort(name):
    y = LABELS[name]
    weights = rng.random(len(y))
    expected = _by_sorting(y, weights)
    labels, counts, label_weights = label_counts(y, weights)
    np.testing.assert_array_equal(labels, expected[0])
    assert labels.dtype == expected[0].dtype
    np.testing.assert_array_equal(counts, expected[1])
    np.testing.assert_allclose(label_weights, expected[2], rtol=1e-12)
    labels, counts = label_counts(y)
    np.testing.assert_array_equal(labels, expected[0])
    np.testing.assert_array_equal(counts, expected[1])
    # Every weight 1: the weights are the counts.
    labels, counts, label_weights = label_counts(y, weighted=True)
    np.testing.assert_array_equal(counts, expected[1])
    assert label_weights.dtype == np.float64
    np.testing.assert_array_equal(label_weights, expected[1])


def test_two_labels_only_for_one_or_two_finite_numbers():
    assert two_labels(np.array([1.0, 0.0, 1.0])).tolist() == [0.0, 1.0]
    assert two_labels(np.array([2, 2])).tolist() == [2]
    for y in (np.array([0.0, 1.0, 2.0]), np.array([0.0, np.nan]), np.array([np.inf, 0.0]),
              np.array(["a", "b"]), np.zeros(0), np.zeros((3, 1))):
        assert two_labels(y) is None


@pytest.mark.parametrize("y", [np.array([0.0, 1.0]), np.array([-1, 1, 1]), np.array([True]),
                               np.array([0.0, 1.0, 2.0]), np.array(["a", "b"])])
def test_check_labels_accepts_what_scikit_learn_accepts(y):
    check_classification_targets(y)
    check_labels(y)


@pytest.mark.parametrize("y", [np.array([0.0, 0.5]), np.array([0.5]), np.array([0.0, 1e20]),
                               np.array([0.0, 1.0, 2.5]), np.array([0.0, np.nan]),
                               np.array([1.0, np.inf])])
def test_check_labels_rejects_what_scikit_learn_rejects_with_its_message(y):
    with warnings.catch_warnings():
        # scikit-learn's check converts NaN, infinity and 1e20 to integers, and says so.
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError) as expected:
            check_classification_targets(y)
        with pytest.raises(ValueError) as got:
            check_labels(y)
    assert str(got.value) == str(expected.value)
