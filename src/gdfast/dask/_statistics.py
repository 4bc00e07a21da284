"""What a Dask fit learns of the data before its first epoch, in one read of each chunk: the
in-memory checks, the rows and the sum of their weights, the features' weighted moments (the
compiled pass of the in-memory estimators, per chunk, combined with the pairwise rule), the
model's target sums and, for the automatic step of mini-batches, the rows that can hold the
largest row norm.

The largest norm needs the model's view of a row, z = (x − mean)∘inv_scale, whose mean and
scales are known only once every chunk is summed. The pass measures each row's distance δ to
a point c near the chunk's mean, in scales q estimated from a sample of the chunk's rows (as
in memory); then ‖z‖ ≤ max(inv_scale/q)·δ + ‖(c − mean)∘inv_scale‖ for every row. Each chunk
sends back the CANDIDATE_ROWS rows of largest s·δ² (s its weight) and the largest s·δ² and s
among the rest: the client computes the candidates' norms exactly and, from those two numbers,
a bound on all the others. Where a bound does not fall below the largest exact norm (rare:
weights far apart, scales far from their estimate), that chunk is read again."""
from dataclasses import dataclass
from functools import reduce

import numpy as np

from gdfast.dask import _chunks
from gdfast.dask._labels import label_counts, merge_label_counts
from gdfast.linear_model import _statistics

# Rows each chunk sends back as candidates for the largest norm: enough that the bound on the
# others falls below the largest on any data whose scales the sample estimates within a few
# per cent, few enough to travel as fast as a model.
CANDIDATE_ROWS = 256
# How the candidates are found (_largest): a threshold from a strided sample of about
# SAMPLE_SIZE of the keys, set to leave about THRESHOLD_SLACK times as many rows above it as
# are needed, so that it almost never leaves too few.
SAMPLE_SIZE = 4096
THRESHOLD_SLACK = 4


@dataclass(frozen=True)
class Candidates:
    """A chunk's rows that may hold the largest row norm, and what bounds the others."""
    rows: np.ndarray            # the candidate rows (in X's dtype)
    weights: np.ndarray         # their weights (before the normalisation to average 1)
    shift: np.ndarray           # the point c the distances were measured from
    distance_scale: np.ndarray  # the scales q they were measured in
    largest_key: float          # the largest s·δ² among the rows not sent (0 if none)
    largest_weight: float       # the largest weight among them (0 if none)
    chunk: int                  # the chunk's index

    def bound(self, mean, inv_scale, fit_intercept):
        """An upper bound on s·(‖z‖² + intercept) over the chunk's rows not sent: with
        ‖z‖ ≤ h·δ + g, s·(h·δ + g)² ≤ h²·(sδ²) + 2hg·√(s·sδ²) + s·g², each product at most
        its largest (C = largest_key, S = largest_weight)."""
        if self.largest_key == 0.0 and self.largest_weight == 0.0:
            return 0.0
        ratio = inv_scale / self.distance_scale
        high = float(np.max(ratio, initial=1.0)) * (1 + _statistics.BOUND_SLACK)
        gap = float(np.linalg.norm((self.shift - mean) * inv_scale)) * (1 + _statistics.BOUND_SLACK)
        key = self.largest_key * (1 + _statistics.BOUND_SLACK)
        weight = self.largest_weight
        return (high * high * key + 2.0 * high * gap * np.sqrt(weight * key)
                + weight * (gap * gap + float(fit_intercept)))


def chunk_description(X, y, sample_weight, prepare, model, scale, candidates):
    """One read of a chunk's rows, checked as in memory: its rows, the sum of its weights,
    its features' Moments (None if its weights are all zero), the model's target sums and,
    with `candidates`, its Candidates for the largest row norm."""
    X, y, sample_weight = prepare(X, y, sample_weight, check=True)
    # Without weights (every weight 1) the sums of weights are the row counts.
    unit = prepare.unit_weights
    weight = float(X.shape[0]) if unit else float(np.sum(sample_weight, dtype=np.float64))
    weights = None if unit else sample_weight.astype(np.float64, copy=False)
    summary = {"rows": X.shape[0], "weight": weight, "moments": None, "candidates": [],
               "target": 0.0 if prepare.raw_labels else model._target_sums(y, weights),
               "labels": label_counts(y, weights, weighted=True) if prepare.raw_labels
               else None}
    first_row = prepare.first_rows[prepare.chunk] if prepare.first_rows else 0
    if X.shape[0] == 0 or weight == 0.0:
        _statistics.check_finite(X, first_row=first_row)
        return summary
    try:
        description = _statistics.describe_features(X, sample_weight, center=False,
                                                    scale=scale, distances=candidates)
    except ValueError:
        # A NaN or infinity: named by its row in all of X (the pass names it in the chunk).
        _statistics.check_finite(X, first_row=first_row)
        raise
    summary["moments"] = description.moments()
    if candidates:
        summary["candidates"] = [_candidates(X, sample_weight, description, prepare.chunk,
                                             uniform=unit)]
    return summary


def _candidates(X, sample_weight, description, chunk, *, uniform=False):
    """The chunk's Candidates: its CANDIDATE_ROWS rows of largest s·δ² (uniform: every
    weight is the same, and δ orders the rows as s·δ² does)."""
    n_rows = X.shape[0]
    if n_rows <= CANDIDATE_ROWS:
        chosen, largest_key, largest_weight = np.arange(n_rows), 0.0, 0.0
    else:
        distance = description.distances
        uniform = uniform or sample_weight.min() == sample_weight.max()
        # With equal weights s·δ² orders the rows as δ does: no product per row.
        key = (distance if uniform
               else sample_weight.astype(np.float64) * distance.astype(np.float64) ** 2)
        top, cut = _largest(key, CANDIDATE_ROWS)
        chosen = np.sort(top)
        largest_key = float(sample_weight[cut]) * float(distance[cut]) ** 2
        if uniform:
            largest_weight = float(sample_weight[0])
        else:
            others = np.ones(n_rows, dtype=bool)
            others[top] = False
            largest_weight = float(np.max(sample_weight[others]))
    return Candidates(rows=np.ascontiguousarray(X[chosen]),
                      weights=np.ascontiguousarray(sample_weight[chosen]),
                      shift=description.shift, distance_scale=description.distance_scale,
                      largest_key=largest_key, largest_weight=largest_weight, chunk=chunk)


def _largest(key, count):
    """(the indices of the `count` largest values of key, the index of the next largest):
    a partition of only the values at or above a threshold, taken from a strided sample so
    that about THRESHOLD_SLACK·(count + 1) values lie above it; of all the values when fewer
    than count + 1 do. Exact either way: every value left out is below every one kept."""
    n_rows = key.shape[0]
    step = max(1, n_rows // SAMPLE_SIZE)
    sample = key[::step]
    rank = -(-THRESHOLD_SLACK * (count + 1) // step)      # the sample's rank-th largest
    above = None
    if rank < sample.shape[0]:
        threshold = np.partition(sample, sample.shape[0] - rank)[sample.shape[0] - rank]
        above = np.flatnonzero(key >= threshold)
    if above is None or above.shape[0] <= count:
        above = np.arange(n_rows)
    order = above[np.argpartition(key[above], above.shape[0] - count - 1)]
    return order[above.shape[0] - count:], order[above.shape[0] - count - 1]


def add_descriptions(*parts):
    """Chunk descriptions combined: rows, weights and target sums added, the moments by the
    pairwise rule (chunks of zero weight left out), the candidates listed."""
    moments = [part["moments"] for part in parts if part["moments"] is not None]
    return {"rows": sum(part["rows"] for part in parts),
            "weight": sum(part["weight"] for part in parts),
            "target": reduce(np.add, [part["target"] for part in parts]),
            "moments": reduce(_statistics.combined_moments, moments) if moments else None,
            "candidates": [item for part in parts for item in part["candidates"]],
            "labels": (None if parts[0]["labels"] is None
                       else merge_label_counts(*[part["labels"] for part in parts]))}


def describe_chunks(X, y, sample_weight, prepare, model, *, scale, candidates):
    """Every chunk's description, combined in the chunks' order: one round trip."""
    return _chunks.reduce_chunks(chunk_description, X, y, sample_weight, prepare, model,
                                 scale, candidates, combine=add_descriptions)


def chunk_largest_norm(X, y, sample_weight, prepare, mean, inv_scale, fit_intercept, needed):
    """The largest s·(‖(x − mean)∘inv_scale‖² + intercept) of a chunk's rows, if `needed`."""
    if not needed:
        return {"max_norm": 0.0}
    X, y, sample_weight = prepare(X, y, sample_weight)
    if X.shape[0] == 0:
        return {"max_norm": 0.0}
    return {"max_norm": _statistics.row_norm_sums(X, sample_weight, mean, inv_scale,
                                                  fit_intercept)[1]}


def largest_norm(description, X, y, sample_weight, prepare, mean, inv_scale, fit_intercept):
    """max s·(‖z‖² + intercept) over every row, z = (x − mean)∘inv_scale (s the weights as
    `prepare` gives them): exactly, from the chunks' candidates, reading again only the
    chunks whose bound does not rule their other rows out."""
    mean = np.asarray(mean, dtype=np.float64)
    inv_scale = np.asarray(inv_scale, dtype=np.float64)
    largest = 0.0
    for found in description["candidates"]:
        if found.rows.shape[0]:
            largest = max(largest, _statistics.row_norm_sums(
                found.rows, found.weights, mean, inv_scale, fit_intercept)[1])
    unsure = {found.chunk for found in description["candidates"]
              if not found.bound(mean, inv_scale, fit_intercept) < largest}
    if unsure:
        needed = [index in unsure for index in range(len(X.chunks[0]))]
        again = _chunks.reduce_chunks(chunk_largest_norm, X, y, sample_weight, prepare, mean,
                                      inv_scale, fit_intercept, per_chunk=needed)["max_norm"]
        largest = max(largest, float(again))
    return largest
