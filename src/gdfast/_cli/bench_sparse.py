"""The sparse section of `python -m gdfast bench` (`--sparse` runs it alone): one epoch over
a CSR matrix shaped like hashed text (Zipf-distributed columns, rows scaled to unit norm),
for per-sample SGD and AdaGrad and for mini-batch SGD, momentum, AdaGrad and RMSprop (rules
with an exact sparse update), log loss and squared error, against the floor `X @ w` over
the same CSR, scikit-learn's SGDClassifier/SGDRegressor on the same CSR and the NumPy
reference (on the first rows only: it steps in Python); the extra memory a fit
allocates; and the time gdfast (with its default scaling and without) and scikit-learn's
defaults take to come within 1% of their penalised objectives' optima, with the held-out
accuracy of each, and of gdfast's defaults after one and two epochs.

Epochs and the floor are timed in CPU seconds of this process (time.process_time): every
one of them runs on one thread (scipy's X @ w, scikit-learn's SGD, gdfast's sparse epochs),
and on a machine shared with other work, wall time would count the time others held the
core. Time to quality is wall time, as the rest of the bench.
"""
import tracemalloc
import warnings
from dataclasses import asdict, dataclass
from time import perf_counter, process_time

import numpy as np
import scipy.sparse as sp

from gdfast.linear_model import _engine, _statistics

# name -> (rows, features, mean non-zeros drawn per row).
SHAPES = {"1Mx2^20": (1_000_000, 2**20, 50), "20kx2^16": (20_000, 2**16, 50),
          "2kx2^12": (2_000, 2**12, 20)}
# "test": a size for the tests of this section only.
SIZES = {"large": "1Mx2^20", "small": "20kx2^16", "test": "2kx2^12"}
ZIPF_EXPONENT = 1.0         # word frequencies: the k-th most frequent column ∝ 1/k
# (path, batch size, loss, optimizer) of each epoch case.
CASES = [("per-sample", 1, "log_loss", "sgd"), ("per-sample", 1, "squared_error", "sgd"),
         ("per-sample", 1, "log_loss", "adagrad"), ("mini-batch-32", 32, "log_loss", "sgd"),
         ("mini-batch-32", 32, "squared_error", "sgd"),
         ("mini-batch-32", 32, "log_loss", "momentum"),
         ("mini-batch-32", 32, "log_loss", "adagrad"),
         ("mini-batch-32", 32, "log_loss", "rmsprop"),
         ("per-sample", 1, "log_loss", "adam-lazy")]
LEARNING_RATE = 0.1
# The NumPy reference densifies each batch (a 2^20-column row is 8 MB): its epoch is timed
# on this many rows.
REFERENCE_ROWS = {"large": 200, "small": 1_000, "test": 1_000}
FLOOR_REPEATS = 10
QUALITY_TOLERANCE = 0.01
# Time to quality: log loss with scikit-learn's default l2 penalty (without one, fewer rows
# than columns make the optimum 0), on a subset of the rows (the optimum needs an accurate
# solver on them).
ALPHA = 1e-4
QUALITY_ROWS = {"large": 200_000, "small": 20_000, "test": 2_000}
QUALITY_MAX_EPOCHS = 60


@dataclass(frozen=True)
class SparseCase:
    shape: str
    path: str
    batch_size: int
    loss: str
    optimizer: str

    @property
    def name(self):
        return f"sparse-{self.shape}-{self.path}-{self.loss}-{self.optimizer}"


def cases(sizes=("small", "large")):
    return [SparseCase(SIZES[size], *case) for size in sizes for case in CASES]


def names(sizes):
    """Every sparse measurement's name, for --only (all hold 'sparse')."""
    return ([case.name for case in cases(sizes)]
            + [f"sparse-{SIZES[size]}-memory" for size in sizes]
            + [f"sparse-{SIZES[size]}-quality" for size in sizes])


def only_patterns(only):
    """--only's patterns for --sparse: each one narrowed to the sparse measurements (a name
    matches if it contains 'sparse' and then the pattern), or every sparse one without any."""
    return [pattern if "sparse" in pattern else f"sparse*{pattern}" for pattern in only] \
        or ["sparse"]


def make_data(shape, seed=5, block_rows=100_000):
    """(X, y_class, y_value): CSR float64 rows of Zipf-distributed columns (a random map of
    frequency rank to column, as a hash would give), each value the column's count in the
    row, rows scaled to unit norm; labels and targets from a sparse linear model."""
    n_samples, n_features, per_row = SHAPES[shape]
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, n_features + 1, dtype=np.float64)
    cdf = np.cumsum(ranks ** -ZIPF_EXPONENT)
    cdf /= cdf[-1]
    column_of_rank = rng.permutation(n_features).astype(np.int32)
    blocks = []
    for start in range(0, n_samples, block_rows):
        rows = min(block_rows, n_samples - start)
        columns = column_of_rank[np.minimum(np.searchsorted(cdf, rng.random(rows * per_row)),
                                            n_features - 1)]
        block = sp.csr_matrix((np.ones(rows * per_row), columns,
                               np.arange(0, rows * per_row + 1, per_row)),
                              shape=(rows, n_features))
        block.sum_duplicates()                  # counts
        norms = np.sqrt(np.asarray(block.multiply(block).sum(axis=1)).ravel())
        block = sp.diags(1.0 / norms) @ block
        blocks.append(block.tocsr())
    X = sp.vstack(blocks, format="csr")
    X.sort_indices()        # as a hashing vectorizer leaves its rows: canonical
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int64 if X.nnz >= 2**31 else np.int32)
    w = np.where(rng.random(n_features) < 0.1, rng.standard_normal(n_features) * 3, 0.0)
    scores = X @ w
    y_class = (scores + 0.3 * rng.standard_normal(n_samples) > 0).astype(np.float64)
    y_value = scores + 0.1 * rng.standard_normal(n_samples)
    return X, y_class, y_value


def csr_bytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def floor_seconds(X, repeats=FLOOR_REPEATS):
    """Fastest of `repeats` X @ w over the CSR (scipy's single-threaded product)."""
    w = np.random.default_rng(0).standard_normal(X.shape[1])
    best = np.inf
    for _ in range(repeats):
        start = process_time()
        X @ w
        best = min(best, process_time() - start)
    return best


def shuffled_read_seconds(X, seed=0):
    """Fastest of 3: Σ x·w over the rows of X in a random order, prefetched as the epochs
    do, no update: the least a shuffled epoch can cost."""
    rows = _engine.prepare_sparse(X).rows
    w = np.random.default_rng(seed).standard_normal(X.shape[1])
    order = np.random.default_rng(seed).permutation(X.shape[0]).astype(np.intp)
    return min_seconds(lambda: _engine.kernel.read_csr_rows_in_order(rows, order, w))


def records_floor_seconds(X, record_bytes, seed=0):
    """Fastest of 3: the rows in a random order, each non-zero's column record of
    record_bytes read and written, prefetched as the epochs do: the least memory traffic
    of a compact mini-batch epoch with records of that size."""
    rows = _engine.prepare_sparse(X).rows
    order = np.random.default_rng(seed).permutation(X.shape[0]).astype(np.intp)
    return min_seconds(lambda: _engine.kernel.update_csr_records_in_order(rows, order,
                                                                          record_bytes))


def mean_batch_columns(X, batch_size, n_batches=300, seed=0):
    """The mean number of distinct columns of batch_size random rows of X."""
    rng = np.random.default_rng(seed)
    counts = [np.unique(X[rng.choice(X.shape[0], batch_size, replace=False)].indices).size
              for _ in range(n_batches)]
    return float(np.mean(counts))


def step_seconds(case, n_columns, n_updates):
    """Fastest of 3: n_updates of case's rule on a vector of n_columns (in cache): the
    rule's arithmetic for an epoch, without its memory traffic."""
    config = _engine._kernel_codes(_engine._full_config(_config(case)))
    n = max(1, int(round(n_columns)))
    return min_seconds(lambda: _engine.kernel.repeat_optimizer_steps(config, n, n_updates))


def _config(case):
    optimizer = "adam" if case.optimizer == "adam-lazy" else case.optimizer
    config = dict(loss=case.loss, optimizer=optimizer, batch_size=case.batch_size,
                  shuffle=True, learning_rate=LEARNING_RATE if optimizer == "sgd" else 0.01,
                  lazy=case.optimizer == "adam-lazy", unit_weights=True)
    if optimizer == "momentum":
        config["momentum"] = 0.9        # Momentum()'s default (0 would be plain SGD)
    return config


def epoch_function(case, X, y, engine="cython"):
    """One shuffled epoch of `case` on (X, y), continuing from the previous call."""
    n_params = X.shape[1] + 1
    config = _config(case)
    rows = _engine.prepare_sparse(X) if engine == "cython" else X
    coef = np.zeros(n_params)
    state = np.zeros((_engine.state_rows(config["optimizer"]), n_params))
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(X.shape[0], dtype=np.intp)
    weights = np.ones(X.shape[0])
    carried = {"t": 0, "rng": 1}

    def epoch():
        status, _, carried["t"], carried["rng"], _ = _engine.run_epoch(
            engine, rows, y, weights, coef, state, scalars, order, config, carried["t"],
            carried["rng"])
        if status != _engine.STATUS_OK:
            raise RuntimeError(f"{case.name} diverged")
    return epoch


def sklearn_epoch_function(case, X, y):
    from sklearn.linear_model import SGDClassifier, SGDRegressor
    cls = SGDClassifier if case.loss == "log_loss" else SGDRegressor
    model = cls(loss=case.loss, penalty=None, learning_rate="constant", eta0=LEARNING_RATE,
                max_iter=1, tol=None, shuffle=True, random_state=0)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(X, y, classes=[0.0, 1.0]) if case.loss == "log_loss" \
                else model.partial_fit(X, y)
    return epoch


def min_seconds(function, runs=3):
    function()                                          # warm-up
    best = np.inf
    for _ in range(runs):
        start = process_time()
        function()
        best = min(best, process_time() - start)
    return best


def fit_memory(X, y):
    """Bytes a default GDClassifier fit (2 epochs) allocates at its peak beyond X, traced
    (NumPy's allocations included)."""
    from gdfast import GDClassifier
    model = GDClassifier(max_iter=2, tol=None, random_state=0)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


# The contenders of the time-to-quality measurement: (name, the estimator cut at max_iter k,
# whether its penalty applies to the weights of the features scaled by their largest
# values). All log loss with the l2 penalty ALPHA: the objective has an optimum.
def _contenders():
    from sklearn.linear_model import SGDClassifier

    from gdfast import GDClassifier
    return [
        ("gdfast penalty='l2'", lambda k: GDClassifier(penalty="l2", alpha=ALPHA, max_iter=k,
                                                       random_state=0), True),
        ("gdfast penalty='l2', scale=False",
         lambda k: GDClassifier(penalty="l2", alpha=ALPHA, scale=False, max_iter=k,
                                random_state=0), False),
        ("scikit-learn SGDClassifier", lambda k: SGDClassifier(loss="log_loss", max_iter=k,
                                                               random_state=0), False),
    ]


def _objective(model, X, y, max_abs=None):
    """Mean log loss + ALPHA/2 ‖v‖², v the weights the penalty sees: coef_, or with max_abs
    (the features scaled by their largest values) coef_∘max_abs."""
    p = np.clip(model.predict_proba(X)[:, 1], 1e-15, 1 - 1e-15)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    weights = np.asarray(model.coef_).ravel()
    if max_abs is not None:
        weights = weights * max_abs
    return float(loss + 0.5 * ALPHA * np.sum(weights ** 2))


def _optimum(X, y, max_abs=None):
    """The optimal objective, from an accurate solver: LogisticRegression's C = 1/(n·ALPHA)
    is the same objective times n (its intercept unpenalised, as in SGD); with max_abs,
    solved on the scaled features and reported in the original units."""
    from sklearn.linear_model import LogisticRegression
    model = LogisticRegression(C=1.0 / (X.shape[0] * ALPHA), solver="lbfgs", max_iter=5000,
                               tol=1e-10)
    scaled = X if max_abs is None else X @ sp.diags(1.0 / max_abs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(scaled, y)
    if max_abs is not None:
        model.coef_ = model.coef_ / max_abs
    return _objective(model, X, y, max_abs)


def _max_abs(X):
    """Each column's largest |x| (1 for an empty column): the default scales of sparse X."""
    largest = np.asarray(abs(X).max(axis=0).todense()).ravel()
    return np.where(largest > 0, largest, 1.0)


def _fit_seconds(model, X, y):
    start = perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return perf_counter() - start


def time_to_quality(X, y, X_test, y_test):
    """For each contender, the first max_iter (growing by ~40%) whose fit is within 1% of
    the optimum of its own objective, its wall time and its held-out accuracy; and the
    defaults' held-out accuracy after one and two epochs and their time."""
    from gdfast import GDClassifier
    max_abs = _max_abs(X)
    optima = {False: _optimum(X, y), True: _optimum(X, y, max_abs)}
    found = {"optimum": optima[False], "optimum_max_abs": optima[True], "contenders": {}}
    for name, make, scaled in _contenders():
        k, found["contenders"][name] = 1, None
        while k <= QUALITY_MAX_EPOCHS:
            model = make(k)
            seconds = _fit_seconds(model, X, y)
            ratio = _objective(model, X, y, max_abs if scaled else None) / optima[scaled]
            if ratio <= 1 + QUALITY_TOLERANCE:
                found["contenders"][name] = {
                    "epochs": int(getattr(model, "n_iter_", k)), "seconds": seconds,
                    "ratio": ratio, "accuracy": float(model.score(X_test, y_test))}
                break
            k = max(k + 1, int(k * 1.4))
    found["defaults"] = {}
    for epochs in (1, 2):
        model = GDClassifier(max_iter=epochs, random_state=0)
        seconds = _fit_seconds(model, X, y)
        found["defaults"][epochs] = {"seconds": seconds,
                                     "accuracy": float(model.score(X_test, y_test))}
    return found


def run(sizes, only, matches, progress):
    results = []
    for size in sizes:
        shape = SIZES[size]
        selected = [case for case in cases((size,)) if matches(case.name, only)]
        memory_name, quality_name = f"sparse-{shape}-memory", f"sparse-{shape}-quality"
        if not (selected or matches(memory_name, only) or matches(quality_name, only)):
            continue
        start = perf_counter()
        X, y_class, y_value = make_data(shape)
        n_samples, n_features, _ = SHAPES[shape]
        progress(f"sparse {shape}: {X.nnz:,} non-zeros ({X.nnz / n_samples:.1f} a row), "
                 f"{csr_bytes(X) / 2**20:.0f} MiB, made in {perf_counter() - start:.1f} s")
        floor = floor_seconds(X)
        results.append({"kind": "sparse-floor", "shape": shape, "n_samples": n_samples,
                        "n_features": n_features, "nnz": int(X.nnz), "seconds": floor,
                        "x_bytes": csr_bytes(X),
                        "shuffled_read_seconds": shuffled_read_seconds(X)})
        n_reference = REFERENCE_ROWS[size]
        subset = X[:n_reference]
        records_floors = {}
        for case in selected:
            y = y_class if case.loss == "log_loss" else y_value
            seconds = min_seconds(epoch_function(case, X, y))
            result = {"kind": "sparse-epoch", "name": case.name, **asdict(case),
                      "seconds": seconds, "x_floor": seconds / floor}
            record_bytes, _ = _engine.sparse_column_records(_config(case), *X.shape, X.nnz)
            if record_bytes:
                if record_bytes not in records_floors:
                    records_floors[record_bytes] = records_floor_seconds(X, record_bytes)
                columns = mean_batch_columns(X, case.batch_size)
                n_updates = -(-X.shape[0] // case.batch_size)
                result.update(record_bytes=record_bytes,
                              x_records_floor=records_floors[record_bytes] / floor,
                              batch_columns=columns,
                              x_step=step_seconds(case, columns, n_updates) / floor)
            if case.optimizer == "sgd" and case.batch_size == 1:
                result["sklearn_seconds"] = min_seconds(sklearn_epoch_function(case, X, y),
                                                        runs=1)
                result["x_sklearn"] = result["sklearn_seconds"] / seconds
            reference = min_seconds(epoch_function(case, subset, y[:n_reference], "numpy"),
                                    runs=1)
            mine = min_seconds(epoch_function(case, subset, y[:n_reference]))
            result.update(numpy_subset_seconds=reference, subset_seconds=mine,
                          x_numpy=reference / mine, numpy_subset_rows=n_reference)
            results.append(result)
            progress(f"{case.name}: {seconds:.3e} s/epoch = {result['x_floor']:.2f}x floor"
                     + (f", {result['x_sklearn']:.1f}x faster than scikit-learn"
                        if "x_sklearn" in result else ""))
        if matches(memory_name, only):
            peak = fit_memory(X, y_class)
            # Bytes per column a fit may hold at once: in its epochs five vectors of
            # n_features values (the weights, the epoch's checkpoint of them, the fitted
            # coef_ and its copy, the distinct-column check's stamps); before them, the
            # columns' sums of the moments pass beside the means, variances and largest
            # values it fills.
            per_column = max(5 * 8, _statistics._kernel.COLUMN_SUMS_BYTES + 3 * 8)
            feature_state = per_column * (n_features + 1)
            results.append({"kind": "sparse-memory", "name": memory_name, "shape": shape,
                            "peak_bytes": peak, "x_bytes": csr_bytes(X),
                            "x_fraction": peak / csr_bytes(X),
                            "feature_state_bytes": feature_state,
                            "x_fraction_beyond_features":
                                max(0, peak - feature_state) / csr_bytes(X)})
            progress(f"{memory_name}: a fit allocated {peak / 2**20:.1f} MiB at its peak, "
                     f"{100 * peak / csr_bytes(X):.1f}% of X")
        if matches(quality_name, only):
            rows, held_out = QUALITY_ROWS[size], QUALITY_ROWS[size] // 4
            if X.shape[0] < rows + held_out:          # too few rows: hold out from the rows
                rows -= held_out
            found = time_to_quality(X[:rows], y_class[:rows], X[rows:rows + held_out],
                                    y_class[rows:rows + held_out])
            results.append({"kind": "sparse-quality", "name": quality_name, "shape": shape,
                            "n_samples": rows, "n_held_out": held_out, **found})
            progress(f"{quality_name}: " + ", ".join(
                f"{name} " + ("never" if value is None else
                              f"{value['seconds']:.3g} s, {value['epochs']} epochs")
                for name, value in found["contenders"].items()))
    return results


def format_table(results):
    lines = []
    floors = [r for r in results if r["kind"] == "sparse-floor"]
    epochs = [r for r in results if r["kind"] == "sparse-epoch"]
    for floor in floors:
        lines += ["", f"Sparse X {floor['shape']} ({floor['n_samples']:,} x "
                  f"{floor['n_features']:,} CSR float64, {floor['nnz']:,} non-zeros, "
                  f"{floor['x_bytes'] / 2**20:.0f} MiB): floor X @ w = {floor['seconds']:.3e} "
                  "CPU s",
                  f"  reading the rows in a shuffled order, no update: "
                  f"{floor['shuffled_read_seconds']:.3e} s = "
                  f"{floor['shuffled_read_seconds'] / floor['seconds']:.1f}x floor (the least a "
                  "shuffled epoch can cost)"]
    if epochs:
        header = (f"{'shape':<9} {'path':<14} {'loss':<14} {'optimizer':<10} {'s/epoch':>10} "
                  f"{'× floor':>8} {'sklearn':>8} {'NumPy ref':>10}")
        lines += [header, "-" * len(header)]
        for r in epochs:
            sklearn = f"{r['x_sklearn']:.1f}" if "x_sklearn" in r else "-"
            lines.append(f"{r['shape']:<9} {r['path']:<14} {r['loss']:<14} "
                         f"{r['optimizer']:<10} {r['seconds']:>10.3e} {r['x_floor']:>8.2f} "
                         f"{sklearn:>8} {r['x_numpy']:>10.0f}")
        for r in (r for r in epochs if "x_records_floor" in r):
            lines.append(
                f"  {r['path']} {r['optimizer']}: {r['record_bytes']}-byte column records; "
                f"the rows in a shuffled order with each non-zero's record read and written "
                f"{r['x_records_floor']:.2f}x floor; the rule's steps alone "
                f"({r['batch_columns']:.0f} columns an update, in cache) {r['x_step']:.2f}x")
        lines += ["", "Shuffled epochs, CPU seconds of this one-thread process (fastest of "
                  "3 after a warm-up). sklearn: SGDClassifier/SGDRegressor's s/epoch on the "
                  "same CSR ÷ gdfast's. NumPy ref: on the first",
                  f"{epochs[0]['numpy_subset_rows']:,} rows only (it densifies each batch), "
                  "its s/epoch ÷ gdfast's on the same rows. adam-lazy: Adam(lazy=True)."]
    for r in (r for r in results if r["kind"] == "sparse-memory"):
        lines.append(f"Memory: a default GDClassifier fit allocated {r['peak_bytes'] / 2**20:.1f} "
                     f"MiB at its peak (traced), {100 * r['x_fraction']:.1f}% of X's "
                     f"{r['x_bytes'] / 2**20:.0f} MiB; beyond up to "
                     f"{r['feature_state_bytes'] / 2**20:.0f} MiB of n_features-sized vectors, "
                     f"{100 * r['x_fraction_beyond_features']:.1f}% of X.")
    for r in (r for r in results if r["kind"] == "sparse-quality"):
        lines += ["", f"Time to quality, log loss, on the first {r['n_samples']:,} rows "
                  f"(accuracy held out on the next {r['n_held_out']:,}): to within 1% of the "
                  f"optimum of each model's own l2-penalised objective (alpha={ALPHA:g}; "
                  f"optimum {r['optimum']:.5f} on the raw features, "
                  f"{r['optimum_max_abs']:.5f} on features scaled by their largest values)"]
        for name, value in r["contenders"].items():
            lines.append(f"  {name:<36} " + (
                f"never (by {QUALITY_MAX_EPOCHS} epochs)" if value is None else
                f"{value['epochs']:>3} epochs {value['seconds']:7.2f} s   held-out accuracy "
                f"{value['accuracy']:.4f}"))
        for epochs, value in r["defaults"].items():
            lines.append(f"  {f'gdfast defaults, max_iter={epochs}':<36}     "
                         f"       {value['seconds']:7.2f} s   held-out accuracy "
                         f"{value['accuracy']:.4f}")
    return lines
