"""Data on the workers: a fit's inputs as dask arrays chunked along the rows only, what each
chunk's task does to its rows before the kernel reads them, and results of every chunk
combined in a tree of small sums (never gathered on the client chunk by chunk)."""
import uuid
from dataclasses import dataclass, replace
from functools import lru_cache, reduce

import dask
import dask.array as da
import numpy as np
from dask._task_spec import DataNode, List, Task, TaskRef
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph
from sklearn.utils.validation import _check_sample_weight, check_X_y

from gdfast.dask import _placement
from gdfast.dask._labels import check_labels
from gdfast.linear_model._base import _without_data

# Partial results a node of the reduction tree combines: a tree of depth log16(chunks)
# (each level a wait for results to travel between workers).
SPLIT_EVERY = 16
# The most bytes of NumPy arrays among the shared arguments of a round, times its chunks,
# that go inside every chunk's task rather than in a node of their own.
SHARED_INLINE_BYTES = 1 << 22


def as_dask_array(value, name):
    """A dask array from a dask array, or from a dask dataframe or series (its values, with
    the partitions' lengths computed so that rows line up with the other inputs)."""
    if isinstance(value, da.Array):
        return value
    if hasattr(value, "to_dask_array"):
        return value.to_dask_array(lengths=True)
    raise TypeError(f"{name} must be a dask array, dataframe or series (or, for the "
                    f"in-memory estimators in gdfast, an array); got {type(value).__name__}.")


def row_chunked(X, y, sample_weight):
    """X as a 2-d dask array with known row chunks and all its columns in each chunk; y and
    sample_weight (dask or in-memory) as 1-d dask arrays chunked along the rows as X."""
    X = as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-d dask array for X (rows × features); got {X.ndim} "
                         "dimension(s). Reshape it, e.g. X.reshape(-1, 1) for one feature.")
    if any(np.isnan(size) for size in X.chunks[0]):
        X = X.compute_chunk_sizes()
    X = X.rechunk({1: -1})
    return (X, _aligned(y, X, "y"),
            None if sample_weight is None else _aligned(sample_weight, X, "sample_weight"))


def first_rows(X):
    """The index in X of each row chunk's first row."""
    return tuple(int(start) for start in np.cumsum((0,) + tuple(X.chunks[0][:-1])))


def _aligned(values, X, name):
    """values (one per row of X) as a 1-d dask array with X's row chunks."""
    if dask.is_dask_collection(values):
        values = as_dask_array(values, name)
        if any(np.isnan(size) for size in values.chunks[0]):
            values = values.compute_chunk_sizes()
    else:
        values = np.asarray(values)
        if name == "sample_weight" and values.ndim == 0:
            values = np.full(X.shape[0], values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-d, one value per row of X; got shape "
                         f"{values.shape}.")
    if values.shape[0] != X.shape[0]:
        raise ValueError("Found input variables with inconsistent numbers of samples: "
                         f"[{X.shape[0]}, {values.shape[0]}] (X and {name}).")
    if isinstance(values, da.Array):
        return values.rechunk((X.chunks[0],))
    return da.from_array(values, chunks=(X.chunks[0],))


@dataclass(frozen=True)
class Preparation:
    """What a chunk's task does to its rows before the kernel reads them: the in-memory
    estimator's checks (the same messages), X in the fit's dtype, the targets encoded for the
    loss, the weights times the class weights and times `scale` (the normalisation of the
    weights to average 1 over all rows)."""
    model: object                   # the estimator's parameters (and classes_), unfitted
    dtype: np.dtype
    classifier: bool
    class_weights: np.ndarray = None    # per class of model.classes_, or None
    scale: float = 1.0
    # (fraction, seed): hold out about this fraction of each chunk's rows for validation,
    # drawn from the seed and the chunk's index; the other rows are the training rows.
    holdout: tuple = None
    chunk: int = 0                      # the index of the chunk being prepared
    first_rows: tuple = ()              # each chunk's first row in X, for messages
    given_weights: bool = None          # whether the fit was given sample_weight
    # Keep a classifier's labels as given (its classes are learnt from the same pass).
    raw_labels: bool = False

    @property
    def unit_weights(self):
        """Whether every row's weight is 1 (no sample or class weights, no rescaling)."""
        return self.given_weights is False and self.class_weights is None and self.scale == 1.0

    def for_chunk(self, index):
        return replace(self, chunk=index)

    def held_out(self, n_rows):
        """Whether each of the chunk's n_rows rows is held out for validation."""
        if self.holdout is None:
            return np.zeros(n_rows, dtype=bool)
        fraction, seed = self.holdout
        return np.random.default_rng([seed, self.chunk]).random(n_rows) < fraction

    def validation_rows(self, X, y):
        """The chunk's held-out rows: X in the fit's dtype, y as given."""
        held_out = self.held_out(X.shape[0])
        return (np.ascontiguousarray(np.asarray(X)[held_out], dtype=self.dtype),
                np.asarray(y)[held_out])

    def __call__(self, X, y, sample_weight, *, check=False):
        if check and X.shape[0]:
            try:
                X, y = check_X_y(X, y, dtype=[np.float64, np.float32], order="C",
                                 y_numeric=not self.classifier, estimator=self.model,
                                 ensure_all_finite=False)
            except (ValueError, TypeError) as error:
                raise _without_data(error) from None
            # NaN and infinity are found by the pass that reads the chunk for its moments.
            if self.classifier:
                check_labels(y)
            # A chunk whose weights are all zero is valid (scikit-learn's check, for a whole
            # data set, rejects it): the fit checks that the total is positive.
            if sample_weight is not None and np.any(np.asarray(sample_weight) != 0):
                sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                                     ensure_non_negative=True)
        if self.holdout is not None:
            kept = ~self.held_out(X.shape[0])
            X, y = np.asarray(X)[kept], np.asarray(y)[kept]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[kept]
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if sample_weight is None:
            sample_weight = ones(X.shape[0], self.dtype)
        if self.classifier and not self.raw_labels:
            if self.class_weights is not None:
                sample_weight = (sample_weight
                                 * self.class_weights[np.searchsorted(self.model.classes_, y)])
            y = self.model._encode(X, y)
        elif self.classifier:
            y = np.asarray(y)
        else:
            y = np.ascontiguousarray(y, dtype=self.dtype)
        if self.scale != 1.0:
            sample_weight = sample_weight * self.scale
        return X, y, np.ascontiguousarray(sample_weight, dtype=self.dtype)


@lru_cache(maxsize=4)
def ones(n_rows, dtype):
    """n_rows ones in dtype, read-only, made once per process for each size: the weights of
    a chunk given none, which every task on a worker's equal chunks reads and none writes
    (a new array of a chunk's rows costs a good part of a millisecond in page faults)."""
    values = np.ones(n_rows, dtype=dtype)
    values.setflags(write=False)
    return values


def reduce_chunks(function, X, y, sample_weight, *args, per_chunk=None, combine=None):
    """function(X_chunk, y_chunk, weight_chunk, *args[, per_chunk[i]]) on every row chunk
    (weight_chunk None without weights), the results combined (by add_results by default)
    SPLIT_EVERY at a time, in a tree, in the chunks' order: one round trip.

    The graph is written directly (dask.delayed would spend several milliseconds of the
    client's time per round on it). Chunks still to be loaded or computed get a task each
    and the tree's nodes run on the workers. Chunks in the workers' memory get a task per
    worker thread (_placement), which returns each of its chunks' results: the client
    combines them in the same tree, so that the result does not depend on which worker holds
    which chunk. The shared arguments go inside each task when they are small (a node of
    their own costs every task a wait for it to reach its worker), as one node sent once to
    each worker otherwise."""
    token = uuid.uuid4().hex
    X_keys = [row[0] for row in X.__dask_keys__()]
    y_keys = y.__dask_keys__()
    weight_keys = (None if sample_weight is None else sample_weight.__dask_keys__())
    layer = {}
    if sum(value.nbytes for value in args if isinstance(value, np.ndarray)) \
            * len(X_keys) <= SHARED_INLINE_BYTES:
        shared = args
    else:
        shared_key = f"shared-{token}"
        layer[shared_key] = DataNode(shared_key, args)
        shared = TaskRef(shared_key)
    name = f"{getattr(function, '__name__', 'chunk')}-{token}"
    combine = combine or add_results
    groups = _placement.reader_groups(X)
    # A task per group of chunks (returning their results), or per chunk (its result).
    run = _call_chunk if groups is None else _call_group
    parts = []
    for number, indices in enumerate(groups or [[index] for index in range(len(X_keys))]):
        key = (name, number)
        layer[key] = Task(
            key, run, function, _refs(X_keys, indices), _refs(y_keys, indices),
            None if weight_keys is None else _refs(weight_keys, indices), indices, shared,
            None if per_chunk is None else [per_chunk[index] for index in indices])
        parts.append(key)
    if groups is None:
        level = 0
        while len(parts) > 1:
            level += 1
            parts = [_combine_task(layer, (f"combine-{level}-{token}", start), combine,
                                   parts[start:start + SPLIT_EVERY])
                     for start in range(0, len(parts), SPLIT_EVERY)]
    inputs = [X, y] + ([] if sample_weight is None else [sample_weight])
    graph = HighLevelGraph.from_collections(name, layer, dependencies=inputs)
    # Without the graph optimisation, whose pass costs more than a round's scheduling on
    # small graphs (and a round's graph is a few tasks per chunk).
    results = dask.compute(*[Delayed(part, graph, layer=name) for part in parts],
                           optimize_graph=False)
    if groups is None:
        return results[0]
    by_chunk = {}
    for indices, values in zip(groups, results):
        by_chunk.update(zip(indices, values))
    parts = [by_chunk[index] for index in range(len(X_keys))]
    while len(parts) > 1:
        parts = [combine(*parts[start:start + SPLIT_EVERY])
                 for start in range(0, len(parts), SPLIT_EVERY)]
    return parts[0]


def _refs(keys, indices):
    return List(*[TaskRef(keys[index]) for index in indices])


def _call_group(function, X_chunks, y_chunks, weight_chunks, indices, shared, per_chunk):
    """function on each of the chunks (indices: theirs in X) in turn: their results."""
    results = []
    for number, index in enumerate(indices):
        # Each chunk's preparation knows the chunk's index (its held-out rows depend on it).
        arguments = [value.for_chunk(index) if isinstance(value, Preparation) else value
                     for value in shared]
        more = () if per_chunk is None else (per_chunk[number],)
        results.append(function(X_chunks[number], y_chunks[number],
                                None if weight_chunks is None else weight_chunks[number],
                                *arguments, *more))
    return results


def _call_chunk(*arguments):
    """_call_group for a group of one chunk: the chunk's result."""
    return _call_group(*arguments)[0]


def _combine_task(layer, key, combine, parts):
    layer[key] = Task(key, combine, *[TaskRef(part) for part in parts])
    return key


def add_results(*parts):
    """Chunk results (dicts of numbers or arrays) combined key by key: the sum, or for the
    keys that start with "max_", the largest value (None where every part has None)."""
    return {key: None if parts[0][key] is None
            else reduce(np.maximum if key.startswith("max_") else np.add,
                        [part[key] for part in parts])
            for key in parts[0]}
