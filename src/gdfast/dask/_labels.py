"""A classifier's labels in a chunk of y: checked as class labels and counted, by comparisons
(a few passes over y) when y holds at most two numbers, the usual case, and by a sort
otherwise; and the counts of several chunks combined."""
import numpy as np
from sklearn.utils.multiclass import check_classification_targets


def two_labels(y):
    """The distinct values of a numeric 1-d y, in order, when it holds one or two of them
    and they are finite; None for any other y."""
    found = _two_label_counts(y)
    return None if found is None else found[0]


def _two_label_counts(y):
    """two_labels(y) and each one's row count (None where two_labels is None)."""
    if y.ndim != 1 or y.size == 0 or y.dtype.kind not in "biuf":
        return None
    low, high = y.min(), y.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    if low == high:
        return np.array([low]), np.array([y.size])
    lows, highs = np.count_nonzero(y == low), np.count_nonzero(y == high)
    if lows + highs != y.size:
        return None
    return np.array([low, high]), np.array([lows, highs])


def check_labels(y):
    """scikit-learn's check_classification_targets(y): an error saying so when y's values are
    not class labels. One or two finite whole numbers within the 64-bit integers (that check
    tests a value against its conversion to an integer) are what it calls 'binary' targets,
    accepted without its sort."""
    y = np.asarray(y)
    labels = two_labels(y)
    if labels is not None and np.all((labels == np.trunc(labels))
                                     & (np.abs(labels) < 2.0 ** 63)):
        return
    check_classification_targets(y)


def label_counts(y, weights=None, *, weighted=False):
    """The labels in y, each with its row count and, given weights (or with weighted, every
    weight 1), its rows' weight."""
    y = np.asarray(y)
    found = _two_label_counts(y)
    if found is None:
        labels, index = np.unique(y, return_inverse=True)
        counts = np.bincount(index, minlength=len(labels))
    else:
        labels, counts = found
    if weights is None:
        return (labels, counts, counts.astype(np.float64)) if weighted else (labels, counts)
    if found is not None:
        index = (y != labels[0]).view(np.int8)
    return labels, counts, np.bincount(index, weights=weights, minlength=len(labels))


def merge_label_counts(*parts):
    """label_counts of several chunks combined: every label, each count the sum of its
    counts in the parts."""
    labels = np.unique(np.concatenate([part[0] for part in parts]))
    totals = [np.zeros(len(labels), dtype=part_values.dtype) for part_values in parts[0][1:]]
    for part_labels, *values in parts:
        where = np.searchsorted(labels, part_labels)
        for total, value in zip(totals, values):
            np.add.at(total, where, value)
    return (labels, *totals)
