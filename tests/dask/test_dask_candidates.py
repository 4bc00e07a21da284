"""The rows a chunk sends as candidates for the largest row norm: exactly the CANDIDATE_ROWS
of largest key and the next largest, as a full partition finds them, whatever the order of
the keys (the threshold comes from a strided sample of them) and with ties."""
import numpy as np
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from gdfast.dask._statistics import CANDIDATE_ROWS, _largest  # noqa: E402

rng = np.random.default_rng(0)


def _keys(kind, n_rows):
    keys = rng.random(n_rows).astype(np.float32)
    if kind == "increasing":
        keys.sort()
    elif kind == "decreasing":
        keys = np.sort(keys)[::-1].copy()
    elif kind == "ties":
        keys = rng.integers(0, 4, n_rows).astype(np.float32)
    elif kind == "one large block":
        # The largest values all between two sampled rows: the sample sees none of them.
        keys[1000:1000 + CANDIDATE_ROWS + 5] += 10.0
    return keys


@pytest.mark.parametrize("kind", ["random", "increasing", "decreasing", "ties",
                                  "one large block"])
@pytest.mark.parametrize("n_rows", [CANDIDATE_ROWS + 1, CANDIDATE_ROWS + 2, 5000, 250_000])
def test_largest_are_those_of_a_full_partition(kind, n_rows):
    keys = _keys(kind, n_rows)
    top, cut = _largest(keys, CANDIDATE_ROWS)
    assert top.shape == (CANDIDATE_ROWS,) and np.unique(top).shape == (CANDIDATE_ROWS,)
    assert cut not in set(top.tolist())
    rest = np.ones(n_rows, dtype=bool)
    rest[top] = False
    expected = np.sort(keys)[::-1]
    # The same values as the largest of a sort (which rows, among ties, may differ).
    np.testing.assert_array_equal(np.sort(keys[top])[::-1], expected[:CANDIDATE_ROWS])
    assert keys[cut] == expected[CANDIDATE_ROWS] == keys[rest].max()
