"""The weighted median of a chunked target, exactly as the in-memory estimator takes it (the
smallest value v of y with Σ s·[y ≤ v] ≥ ½ Σ s), in a few passes over y that each send a
few values per chunk: the starting intercept of the robust losses."""
import numpy as np

from gdfast.dask._chunks import reduce_chunks

# Values per chunk per pass: each pass narrows the interval holding the median by about
# this factor in every chunk.
CANDIDATES = 64


def weighted_median(y, sample_weight, prepare):
    """The weighted median of the dask array y (weights: prepare's, from sample_weight)."""
    low, high = -np.inf, np.inf            # the median lies in (low, high]
    while True:
        candidates, complete = reduce_chunks(_chunk_candidates, y[:, None], y, sample_weight,
                                             prepare, low, high, combine=_merge_candidates)
        below = reduce_chunks(_chunk_weight_below, y[:, None], y, sample_weight, prepare,
                              candidates)
        half = 0.5 * float(below["total"])
        first = int(np.searchsorted(below["weight_below"] >= half, True))
        if complete:
            return float(candidates[first])
        low = candidates[first - 1] if first > 0 else low
        high = candidates[first]


def _values_and_weights(y, sample_weight, prepare):
    y = np.asarray(y, dtype=prepare.dtype)
    weights = (np.ones(len(y)) if sample_weight is None
               else np.asarray(sample_weight, dtype=np.float64))
    return y, weights


def _chunk_candidates(X, y, sample_weight, prepare, low, high):
    """The chunk's values of y in (low, high] if there are at most CANDIDATES of them, else
    CANDIDATES of them evenly spaced in order, its largest included; and whether all were
    given."""
    y, _ = _values_and_weights(y, sample_weight, prepare)
    inside = np.sort(y[(y > low) & (y <= high)])
    if len(inside) <= CANDIDATES:
        return inside, True
    return inside[np.linspace(0, len(inside) - 1, CANDIDATES).astype(np.intp)], False


def _merge_candidates(*parts):
    return (np.unique(np.concatenate([part[0] for part in parts])),
            all(part[1] for part in parts))


def _chunk_weight_below(X, y, sample_weight, prepare, candidates):
    """Σ s·[y ≤ c] for each candidate c, and Σ s."""
    y, weights = _values_and_weights(y, sample_weight, prepare)
    order = np.argsort(y, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    return {"weight_below": cumulative[np.searchsorted(y[order], candidates, side="right")],
            "total": cumulative[-1]}
