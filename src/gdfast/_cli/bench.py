"""What `python -m gdfast bench` measures: one training epoch of each case against the cost
of reading X once (`X @ w`), the NumPy reference and scikit-learn's SGD, timed in the same
run, what a fit costs besides its epochs (its setup), and the time the default estimators
take to come within 1% of the optimal training loss. The networks' section is
gdfast._cli.bench_network, sparse X's gdfast._cli.bench_sparse. `pytest benchmarks
--benchmark-only` times the same linear cases (benchmarks/conftest.py).

Every ratio is against a baseline measured in this run on this machine: a number from
another machine or another run would compare two machines, not two methods.
"""
import datetime
import fnmatch
import json
import os
import platform
import subprocess
import sys
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from time import perf_counter, sleep

import numpy as np

from gdfast import _layout
from gdfast._cli import bench_network, bench_quality, bench_sparse
from gdfast.linear_model import _engine

# name -> (rows, features). In the large shapes X (float64) is 80-160 MB, far more than the
# per-core caches, so an epoch streams it from the shared cache or memory.
SHAPES = {"200kx100": (200_000, 100), "1Mx10": (1_000_000, 10), "2kx100": (2_000, 100)}
SIZES = {"large": ("200kx100", "1Mx10"), "small": ("2kx100",)}
PATHS = {"per-sample": 1, "mini-batch-32": 32, "full-batch": None}   # None: every row
# Small enough that no case diverges over repeated epochs: per-sample steps on unscaled rows
# with ||x||^2 ~ 100 stay far below the stability limit 1 / ||x||^2.
LEARNING_RATE = 1e-4
# Hyper-parameters that make every optimizer take its usual path (momentum on for the
# momentum family); the rest come from _engine.NEUTRAL_CONFIG.
HYPER = {"momentum": 0.9}
# The NumPy reference steps row by row in Python (seconds per epoch): two optimizers, one
# plain and one adaptive, on squared error are enough to show the distance.
REFERENCE_OPTIMIZERS = ("sgd", "adam")
# A small X @ w takes microseconds, so its minimum needs more repeats to settle.
FLOOR_REPEATS = {"large": 20, "small": 200}
TIME_BUDGET = 0.3                     # seconds of repeated epochs per case, at least 3
# Several outputs are a classifier's: the multinomial log loss (softmax) is timed beside
# one-vs-rest hinge with as many outputs, the same work but for the softmax's exponentials.
CLASSES = 5

# Peak memory of a fit: X of about 2 GB in either dtype (large enough that a copy of X would
# dwarf any fixed cost; rows of 100 features, the 200kx100 width), or 64 MB for --quick. Two
# epochs: an epoch allocates nothing, so more would only take longer.
MEMORY_X_BYTES = {"large": 2_000_000_000, "small": 64_000_000}
MEMORY_FEATURES = 100
MEMORY_EPOCHS = 2
# A fit may add at most this fraction of X.nbytes to the peak memory: no copy of X.
MEMORY_LIMIT = 0.05


def _cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:            # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Case:
    shape: str
    path: str
    loss: str
    optimizer: str
    dtype: str = "float64"
    n_threads: int = 1
    classes: int = 1                  # outputs: 1, or CLASSES (multinomial or one-vs-rest)

    @property
    def multiclass(self):
        if self.classes == 1:
            return "none"
        return "multinomial" if self.loss == "log_loss" else "ovr"

    @property
    def model(self):
        """The loss, with the multiclass model and class count when there are several."""
        return self.loss if self.classes == 1 else f"{self.loss}-{self.multiclass}{self.classes}"

    @property
    def name(self):
        return "-".join([self.shape, self.path, self.model, self.optimizer, self.dtype,
                         f"t{self.n_threads}"])

    @property
    def has_reference(self):
        return (self.loss == "squared_error" and self.optimizer in REFERENCE_OPTIMIZERS
                and self.dtype == "float64")

    @property
    def has_sklearn(self):
        # scikit-learn's SGD has only the plain per-sample rule.
        return (self.path == "per-sample" and self.optimizer == "sgd" and self.dtype == "float64"
                and self.classes == 1)


def cases(sizes=("small", "large")):
    """Every case for the given sizes, in table order: path, loss, optimizer, dtype."""
    threads = sorted({1, _cores()})
    found = []
    for size in sizes:
        for shape in SIZES[size]:
            for path in ("per-sample", "mini-batch-32"):
                found += [Case(shape, path, "squared_error", optimizer)
                          for optimizer in _engine.OPTIMIZER_NAMES]
                found += [Case(shape, path, "log_loss", "sgd"),
                          Case(shape, path, "squared_error", "sgd", "float32"),
                          Case(shape, path, "log_loss", "sgd", "float32")]
            found.append(Case(shape, "mini-batch-32", "squared_error", "adam", "float32"))
            # Only large batches are split over threads (see gdfast/_kernels/linear.pyx): the full batch.
            found += [Case(shape, "full-batch", "squared_error", "sgd", n_threads=n)
                      for n in threads]
            found += [Case(shape, "full-batch", "log_loss", "sgd", n_threads=n) for n in threads]
            found += [Case(shape, "full-batch", "squared_error", "adam", n_threads=threads[-1]),
                      Case(shape, "full-batch", "squared_error", "sgd", "float32", threads[-1]),
                      Case(shape, "full-batch", "log_loss", "sgd", "float32", threads[-1])]
            for path, n in ([("per-sample", 1), ("mini-batch-32", 1)]
                            + [("full-batch", n) for n in threads]):
                found += [Case(shape, path, loss, "sgd", n_threads=n, classes=CLASSES)
                          for loss in ("hinge", "log_loss")]
    return found


@dataclass(frozen=True)
class MemoryCase:
    """One fit whose peak memory is measured: X of about x_bytes in `dtype`, with
    MEMORY_FEATURES columns; the estimator with defaults but the batch size of `path`."""
    x_bytes: int
    estimator: str
    dtype: str
    path: str

    @property
    def n_samples(self):
        return self.x_bytes // (MEMORY_FEATURES * np.dtype(self.dtype).itemsize)

    @property
    def name(self):
        size = (f"{self.x_bytes / 1e9:g}GB" if self.x_bytes >= 1e9
                else f"{self.x_bytes / 1e6:g}MB")
        return "-".join(["memory", size, self.estimator, self.dtype, self.path])


def setup_names(sizes=("small", "large")):
    """One fit-setup measurement per batch mode on each size's first shape."""
    return [f"setup-{SIZES[size][0]}-{path}" for size in sizes for path in PATHS]


def memory_cases(sizes=("small", "large")):
    return [MemoryCase(MEMORY_X_BYTES[size], estimator, dtype, path) for size in sizes
            for estimator in ("GDRegressor", "GDClassifier")
            for dtype in ("float64", "float32") for path in ("per-sample", "full-batch")]


def matches(name, patterns):
    """True if `name` contains one of the shell-style patterns (or there are none)."""
    return not patterns or any(fnmatch.fnmatchcase(name, f"*{p}*") for p in patterns)


class Data:
    """Seeded synthetic data for one shape; never downloaded. X is standard normal and
    C-contiguous; targets suit each loss, with noise so that the optima are finite."""

    def __init__(self, n_samples, n_features, seed=0):
        rng = np.random.default_rng(seed)
        self.X = rng.standard_normal((n_samples, n_features))
        signal = self.X @ rng.standard_normal(n_features) + 0.5
        self.y = {"squared_error": signal + rng.standard_normal(n_samples),
                  "log_loss": (signal + rng.standard_normal(n_samples) > 0).astype(np.float64)}
        noisy = signal + rng.standard_normal(n_samples)        # CLASSES classes of equal size
        self.y["classes"] = np.digitize(
            noisy, np.quantile(noisy, np.arange(1, CLASSES) / CLASSES)).astype(np.float64)
        self._float32 = None

    def arrays(self, dtype, loss):
        """(X, y) in `dtype`, y the targets of `loss` ("classes": class indices); the
        float32 copy is made once, when first asked for."""
        if dtype == "float64":
            return self.X, self.y[loss]
        if self._float32 is None:
            self._float32 = (self.X.astype(np.float32),
                             {k: v.astype(np.float32) for k, v in self.y.items()})
        return self._float32[0], self._float32[1][loss]


def make_data(shape):
    n_samples, n_features = SHAPES[shape]
    return Data(n_samples, n_features, seed=list(SHAPES).index(shape))


# After a product, OpenBLAS's threads keep spinning on their cores for about 0.1 s before
# they sleep: an epoch timed just after the floor would find its second core taken, and a
# split batch would run on one thread. The floor waits this long before it returns.
BLAS_SETTLE_SECONDS = 0.2


def floor_seconds(X, repeats):
    """Best time of X @ w: one read of X, the least any epoch over all rows can cost."""
    w = np.ones(X.shape[1], dtype=X.dtype)
    X @ w  # warm-up: fault in the pages of X and load the BLAS
    times = []
    for _ in range(repeats):
        start = perf_counter()
        X @ w
        times.append(perf_counter() - start)
    sleep(BLAS_SETTLE_SECONDS)
    return min(times)


def shuffled_read_seconds(X, y=None, seed=0, **timing):
    """Best time to read X's rows in a shuffled order on one core, prefetching as the epoch
    loop does, and do nothing else (a dot product per row): what a shuffled one-row-at-a-time
    epoch costs before any update, so the least any per-sample or mini-batch epoch can.
    With y, each row's target is read too, as every epoch reads it: in a shuffled order
    a target is one more scattered cache line per row, as a row of a few features is one
    or two. `timing`: min_seconds' options (one run: warmup=False, min_runs=1, budget=0)."""
    order = np.random.default_rng(seed).permutation(X.shape[0]).astype(np.intp)
    w = np.ones(X.shape[1], dtype=X.dtype)
    seconds, _ = min_seconds(lambda: _engine.kernel.read_rows_in_order(X, order, w, y),
                             **timing)
    return seconds


def log_loss_chain_seconds(n_samples, seed=0):
    """Best time of a chain of n_samples sigmoids computed as the per-sample log loss
    computes its derivative (an exp and a division), each one's argument waiting on the last
    one's result: what the log loss would add to the chain from one per-sample update to
    the next if each row's score waited on the previous update. Rows of a few features
    compute the score ahead and put only a short correction on that chain, so this is what
    the look-ahead takes off, not a bound."""
    scores = np.random.default_rng(seed).standard_normal(n_samples)
    seconds, _ = min_seconds(lambda: _engine.kernel.logistic_chain(scores, 1e-3))
    return seconds


def epoch_config(case, n_samples):
    """The kernel configuration of one epoch of `case`."""
    return dict(HYPER, loss=case.loss, multiclass=case.multiclass, optimizer=case.optimizer,
                batch_size=PATHS[case.path] or n_samples, n_threads=case.n_threads,
                shuffle=True, fit_intercept=True, learning_rate=LEARNING_RATE,
                unit_weights=True)                  # as in a fit without sample_weight


def updates_seconds(case, n_samples, n_features):
    """Best time of the optimizer's updates of one epoch of `case` on their own: as many
    updates as the epoch has batches, each from the same small gradient, no row read. The
    least an epoch can cost once its rows cost nothing."""
    dtype = np.dtype(case.dtype)
    config = dict(_engine.NEUTRAL_CONFIG, **epoch_config(case, n_samples))
    batch_size = config["batch_size"]
    n_steps = -(-n_samples // batch_size)
    coef = _layout.zeros(case.classes, n_features, dtype)
    gradient = np.full(coef.size, 1e-3, dtype=dtype)
    state = np.zeros((_engine.state_rows(case.optimizer), coef.size), dtype=dtype)
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    config = _engine._kernel_codes(config)
    seconds, _ = min_seconds(lambda: _engine.kernel.optimizer_steps(
        coef, gradient, state, scalars, config, 0, n_steps))
    return seconds


def epoch_function(case, data, engine="cython"):
    """A function running one epoch of `case` and returning the kernel's status. coef,
    state and order carry over between calls, as between epochs of a fit: an epoch's cost
    does not depend on their values, and no copy ends up in the timing."""
    X, y = data.arrays(case.dtype, case.loss if case.classes == 1 else "classes")
    n_samples, n_features = X.shape
    config = epoch_config(case, n_samples)
    sample_weight = np.ones(n_samples, dtype=X.dtype)
    coef = _layout.zeros(case.classes, n_features, X.dtype)
    state = np.zeros((_engine.state_rows(case.optimizer), coef.size), dtype=X.dtype)
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(n_samples, dtype=np.intp)

    def epoch():
        status, *_ = _engine.run_epoch(engine, X, y, sample_weight, coef, state, scalars,
                                       order, config, 0, 12345)
        if status != _engine.STATUS_OK or not np.all(np.isfinite(coef)):
            raise RuntimeError(f"{case.name} ({engine}): status {status}, the epoch diverged")
        return status
    return epoch


def sklearn_epoch_function(case, data):
    """One per-sample epoch of scikit-learn's SGD on the same rows, plain SGD with the same
    constant step (its fit also checks X for NaN, a read of X that gdfast's epoch skips)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier, SGDRegressor
    X, y = data.arrays("float64", case.loss)
    options = dict(max_iter=1, tol=None, learning_rate="constant", eta0=LEARNING_RATE,
                   penalty=None, shuffle=True, random_state=0)
    model = (SGDClassifier(loss="log_loss", **options) if case.loss == "log_loss"
             else SGDRegressor(**options))

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)   # max_iter=1, on purpose
            model.fit(X, y)
    return epoch


def paired_baseline(case):
    """The case a log loss is compared with (squared error in its dtype; with several classes,
    one-vs-rest hinge over as many) and float32 squared error with (float64), the rest of the
    case the same; None for the others."""
    if case.optimizer != "sgd":
        return None
    if case.loss == "log_loss":
        return replace(case, loss="squared_error" if case.classes == 1 else "hinge")
    if case.dtype == "float32" and case.loss == "squared_error" and case.classes == 1:
        return replace(case, dtype="float64")
    return None


def min_seconds(function, *, warmup=True, min_runs=3, budget=TIME_BUDGET, max_runs=200):
    """(fastest time, runs): at least min_runs, then more until `budget` seconds are spent.
    The minimum, because on a shared machine noise only ever adds time."""
    if warmup:
        function()
    times = []
    while len(times) < min_runs or (sum(times) < budget and len(times) < max_runs):
        start = perf_counter()
        function()
        times.append(perf_counter() - start)
    return min(times), len(times)


def fit_setup_seconds(X, y, path, repeats=3):
    """(setup, epoch) seconds of GDRegressor's default fit cut after one epoch (max_iter=1),
    with the batch size of `path`: the epoch timed inside the fit, the setup the rest of the
    fit's time (the data checks, the features' statistics, the automatic step, the initial
    intercept). The fastest setup of `repeats` fits, with its fit's epoch."""
    from gdfast import GDRegressor
    best = None
    for _ in range(repeats):
        model = GDRegressor(batch_size=PATHS[path], max_iter=1, tol=None, random_state=0)
        epochs = []
        in_memory_epoch = model._in_memory_epoch

        def timed_epoch(*args):
            epoch = in_memory_epoch(*args)

            def run(state, config):
                start = perf_counter()
                result = epoch(state, config)
                epochs.append(perf_counter() - start)
                return result
            return run

        model._in_memory_epoch = timed_epoch
        start = perf_counter()
        model.fit(X, y)
        seconds = perf_counter() - start
        setup = (seconds - epochs[0], epochs[0])
        best = setup if best is None or setup[0] < best[0] else best
    return best


def _run_setup(sizes, only, progress):
    results = []
    for size in sizes:
        shape = SIZES[size][0]
        chosen = [path for path in PATHS if matches(f"setup-{shape}-{path}", only)]
        if not chosen:
            continue
        data = make_data(shape)
        X, y = data.arrays("float64", "squared_error")
        samples = [floor_seconds(X, FLOOR_REPEATS[size])]
        for path in chosen:
            fit_setup_seconds(X, y, path, repeats=1)          # warm-up
            setup, epoch = fit_setup_seconds(X, y, path)
            samples.append(floor_seconds(X, 5))
            results.append({"kind": "setup", "name": f"setup-{shape}-{path}", "shape": shape,
                            "path": path, "n_samples": X.shape[0], "n_features": X.shape[1],
                            "seconds": setup, "epoch_seconds": epoch})
        for result in results[-len(chosen):]:
            result["floor_seconds"] = min(samples)
            result["x_floor"] = result["seconds"] / result["floor_seconds"]
            progress(f"{result['name']}: fit setup {result['seconds']:.3e} s = "
                     f"{result['x_floor']:.2f}x floor")
    return results


def _peak_rss_bytes():
    """The peak resident set size of this process so far (ru_maxrss: KiB on Linux, bytes
    on macOS)."""
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _rss_bytes():
    """The resident set size now (Linux; None elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def memory_child(estimator, dtype, path, n_samples, n_features, epochs, seed=0):
    """The body of one memory measurement; runs alone in a fresh interpreter (see
    measure_memory), so the peak RSS it reads is that of this fit and nothing else.

    A tiny fit first loads everything a fit loads (scikit-learn's modules, the OpenMP
    threads), so that the baseline is the interpreter with X and y in memory and the added
    peak is what the fit itself allocates. X and y are filled in chunks of 4M values: no
    temporary the size of X (or of y) ever exists, so the peak before the fit is the memory
    that is actually live, and an allocation of the fit cannot hide under an earlier one."""
    import gc
    from gdfast import GDClassifier, GDRegressor
    make = {"GDRegressor": GDRegressor, "GDClassifier": GDClassifier}[estimator]
    params = dict(batch_size=PATHS[path], max_iter=epochs, tol=None, random_state=0)
    rng = np.random.default_rng(seed)
    coef = rng.standard_normal(n_features).astype(dtype)

    def problem(n):
        X = np.empty((n, n_features), dtype=dtype)
        y = np.empty(n, dtype=dtype if estimator == "GDRegressor" else np.int8)
        chunk = max(1, (1 << 22) // n_features)
        for start in range(0, n, chunk):
            rows = X[start:start + chunk]
            rng.standard_normal(out=rows, dtype=dtype)
            signal = rows @ coef + rng.standard_normal(rows.shape[0], dtype=dtype)
            y[start:start + chunk] = signal if estimator == "GDRegressor" else signal > 0
        return X, y

    make(**params).fit(*problem(200))
    X, y = problem(n_samples)
    gc.collect()
    peak_before, rss_before = _peak_rss_bytes(), _rss_bytes()
    start = perf_counter()
    make(**params).fit(X, y)
    seconds = perf_counter() - start
    peak_after = _peak_rss_bytes()
    return {"x_bytes": X.nbytes, "y_bytes": y.nbytes, "peak_before_bytes": peak_before,
            "rss_before_bytes": rss_before, "peak_after_bytes": peak_after,
            "added_bytes": peak_after - peak_before, "fit_seconds": seconds}


def measure_memory(case, timeout=540):
    """Fit `case` in a fresh Python process and return its result dict ("kind": "memory"):
    the peak RSS after making X and y and after the fit, and the added peak as a fraction
    of X.nbytes (x_fraction)."""
    import gdfast
    n_samples = case.n_samples
    call = (f"memory_child({case.estimator!r}, {case.dtype!r}, {case.path!r}, {n_samples}, "
            f"{MEMORY_FEATURES}, {MEMORY_EPOCHS})")
    code = f"import json; from gdfast._cli.bench import memory_child; print(json.dumps({call}))"
    # From the folder holding this gdfast, so that the child imports the same one.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(gdfast.__file__))))
    if done.returncode != 0:
        raise RuntimeError(f"{case.name}: the fit's process failed:\n{done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    result = {"kind": "memory", "name": case.name, **asdict(case), "n_samples": n_samples,
              "n_features": MEMORY_FEATURES, "epochs": MEMORY_EPOCHS, **measured,
              "x_fraction": measured["added_bytes"] / measured["x_bytes"],
              "limit": MEMORY_LIMIT}
    result["within_limit"] = result["x_fraction"] < MEMORY_LIMIT
    return result


def _run_memory(sizes, only, progress):
    results = []
    for case in memory_cases(sizes):
        if matches(case.name, only):
            result = measure_memory(case)
            results.append(result)
            progress(f"{case.name}: fit added {result['added_bytes'] / 2**20:.1f} MiB to the "
                     f"peak RSS, {100 * result['x_fraction']:.2f}% of X")
    return results


def run(sizes=("small", "large"), only=(), progress=None):
    """Measure the selected cases; return a list of result dicts, each with a "kind":
    "floor" (one per shape), "epoch" (one per case), "network-epoch" and
    "network-accuracy" (gdfast._cli.bench_network), "setup" (one per batch mode), "quality"
    (one per estimator and feature scaling) and "quality-real" (one per bundled data set;
    gdfast._cli.bench_quality) or
    "memory" (one per estimator, dtype and path).
    `only`: shell-style patterns a case or quality name must contain. `progress(text)` is
    called once per finished measurement."""
    progress = progress or (lambda text: None)
    selected = [case for case in cases(sizes) if matches(case.name, only)]
    results, floors, floor_samples, read_samples = [], {}, {}, {}
    for shape in dict.fromkeys(case.shape for case in selected):
        size = next(s for s, shapes in SIZES.items() if shape in shapes)
        data = make_data(shape)
        floors[shape] = {"kind": "floor", "shape": shape, "n_samples": data.X.shape[0],
                         "n_features": data.X.shape[1]}
        results.append(floors[shape])
        # The floor drifts by 10-50% over a run on a shared machine, so it is measured
        # again after every case and the fastest sample is used: the ratios are then, if
        # anything, pessimistic.
        samples = floor_samples[shape] = [floor_seconds(data.X, FLOOR_REPEATS[size])]
        y64 = data.arrays("float64", "squared_error")[1]
        floors[shape]["shuffled_read_seconds"] = shuffled_read_seconds(data.X)
        floors[shape]["shuffled_read_targets_seconds"] = shuffled_read_seconds(data.X, y64)
        if any(c.shape == shape and c.loss == "log_loss" for c in selected):
            floors[shape]["log_loss_chain_seconds"] = log_loss_chain_seconds(data.X.shape[0])
        float64_seconds, reference_seconds = {}, {}
        # The shuffled reads drift as the floor does: sampled again after each shuffled case.
        reads = read_samples[shape] = {
            ("float64", False): [floors[shape]["shuffled_read_seconds"]],
            ("float64", True): [floors[shape]["shuffled_read_targets_seconds"]]}
        for case in (c for c in selected if c.shape == shape):
            seconds, runs = min_seconds(epoch_function(case, data))
            samples.append(floor_seconds(data.X, 5))
            result = {"kind": "epoch", "name": case.name, **asdict(case),
                      "n_samples": data.X.shape[0], "n_features": data.X.shape[1],
                      "batch_size": PATHS[case.path] or data.X.shape[0],
                      "seconds": seconds, "runs": runs}
            if PATHS[case.path] is not None:
                X, y = data.arrays(case.dtype, "squared_error")
                for targets in (False, True):
                    key = (case.dtype, targets)
                    if key not in reads:
                        reads[key] = [shuffled_read_seconds(X, y if targets else None)]
                    reads[key].append(shuffled_read_seconds(
                        X, y if targets else None, warmup=False, min_runs=1, budget=0))
                result["shuffled_read_seconds"] = min(reads[case.dtype, False])
                result["shuffled_read_targets_seconds"] = min(reads[case.dtype, True])
                result["updates_seconds"] = updates_seconds(case, *data.X.shape)
            reference = (case.path, case.model, case.optimizer)  # threads: only the kernel's
            if case.has_reference and reference not in reference_seconds:
                # The reference's per-row Python loop takes seconds on the large shapes: no
                # warm-up, and one run when that is over 1 s. Its first full-batch epoch
                # can take 10x the next (fresh temporaries), hence the larger budget.
                reference_seconds[reference], _ = min_seconds(
                    epoch_function(case, data, engine="numpy"), warmup=False, min_runs=1,
                    budget=1.0, max_runs=10)
                samples.append(floor_seconds(data.X, 5))
            if case.has_reference:
                result["numpy_seconds"] = reference_seconds[reference]
            if case.has_sklearn:
                result["sklearn_seconds"], _ = min_seconds(sklearn_epoch_function(case, data),
                                                           warmup=False)
                samples.append(floor_seconds(data.X, 5))
            baseline = paired_baseline(case)
            if baseline is not None:
                # Its ratio to the baseline from epochs taken in turn: the machine's speed
                # drifts between cases timed one after the other.
                _, _, result["paired_seconds"], result["paired_baseline_seconds"] = \
                    paired_seconds(epoch_function(case, data), epoch_function(baseline, data))
                result["paired_baseline"] = baseline.name
                result["paired_dtype"] = baseline.dtype
                samples.append(floor_seconds(data.X, 5))
            key = (case.path, case.model, case.optimizer, case.n_threads)
            if case.dtype == "float64":
                float64_seconds[key] = seconds
            elif key in float64_seconds:
                result["float64_seconds"] = float64_seconds[key]
            _add_ratios(result, min(samples))
            results.append(result)
            progress(_progress_line(result))
    for shape, floor in floors.items():
        samples = floor_samples[shape]
        floor.update(seconds=min(samples), median_seconds=float(np.median(samples)),
                     max_seconds=max(samples), samples=len(samples))
        for name, targets in (("shuffled_read", False), ("shuffled_read_targets", True)):
            floor[f"{name}_seconds"] = min(read_samples[shape]["float64", targets])
            floor[f"{name}_x_floor"] = floor[f"{name}_seconds"] / floor["seconds"]
    for result in results:            # every ratio against the fastest floor of the run
        if result["kind"] == "epoch":
            if "shuffled_read_seconds" in result:        # and the fastest shuffled reads
                for name, targets in (("shuffled_read", False), ("shuffled_read_targets", True)):
                    result[f"{name}_seconds"] = min(
                        read_samples[result["shape"]][result["dtype"], targets])
            _add_ratios(result, floors[result["shape"]]["seconds"])
    results += bench_network.run(sizes, only, matches, min_seconds, progress)
    results += bench_sparse.run(sizes, only, matches, progress)
    results += _run_setup(sizes, only, progress)
    results += bench_quality.run(sizes, only, matches, progress)
    results += _run_memory(sizes, only, progress)
    return results


# Each path's own bound, the least its epoch can cost: a full batch reads X once in order,
# so its bound is the floor; a shuffled epoch reads the rows and their targets in a
# shuffled order and takes one update per batch, so its bound is the larger of the two
# alone. The shuffled read of the rows alone is reported beside it ("× read").
BOUNDS = {"floor": "X @ w", "shuffled_read_targets": "rows+targets", "updates": "updates alone"}


def _add_bound(result, floor):
    """The bound of the result's path (BOUNDS), its seconds and the epoch's ratio to it."""
    if "shuffled_read_seconds" in result:
        result["x_shuffled_read"] = result["seconds"] / result["shuffled_read_seconds"]
        bound = max(("shuffled_read_targets", "updates"), key=lambda b: result[f"{b}_seconds"])
        result["bound_seconds"] = result[f"{bound}_seconds"]
    else:
        bound = "floor"
        result["bound_seconds"] = floor
    result["bound"] = BOUNDS[bound]
    result["x_bound"] = result["seconds"] / result["bound_seconds"]


def _add_ratios(result, floor):
    result["floor_seconds"] = floor
    result["x_floor"] = result["seconds"] / floor
    _add_bound(result, floor)
    for baseline in ("numpy", "sklearn"):
        if f"{baseline}_seconds" in result:
            result[f"{baseline}_x_floor"] = result[f"{baseline}_seconds"] / floor
            result[f"x_{baseline}"] = result[f"{baseline}_seconds"] / result["seconds"]
    if "float64_seconds" in result:
        result["x_float64"] = result["seconds"] / result["float64_seconds"]
    if result.get("paired_dtype") == "float64" and result.get("dtype") == "float32":
        result["x_float64"] = result["paired_seconds"] / result["paired_baseline_seconds"]


def _progress_line(result):
    line = (f"{result['name']}: {result['seconds']:.3e} s/epoch, {result['x_floor']:.1f}x "
            "floor so far")
    if "x_numpy" in result:
        line += f", NumPy reference {result['numpy_seconds']:.3g} s"
    if "x_sklearn" in result:
        line += f", scikit-learn {result['sklearn_seconds']:.3g} s"
    return line


def names(sizes):
    """The name of every case, time-to-quality and memory measurement, for --only."""
    return [case.name for case in cases(sizes)] + bench_quality.names(sizes) + \
        setup_names(sizes) + [
        case.name for case in memory_cases(sizes)] + bench_network.names(sizes) + \
        bench_sparse.names(sizes)


def machine_info():
    """What the numbers depend on: CPU, cores, BLAS threads, the kernel build, versions."""
    import sklearn
    import gdfast
    info = {"cpu": platform.processor() or platform.machine(), "cores": _cores(),
            "python": sys.version.split()[0], "numpy": np.__version__,
            "scikit-learn": sklearn.__version__, "gdfast": gdfast.__version__,
            "gdfast_kernel": _engine.kernel.__name__, "platform": platform.platform(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            fields = dict(line.split(":", 1) for line in cpuinfo.read().split("\n\n")[0]
                          .splitlines() if ":" in line)
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        info["cpu"] = fields.get("model name", info["cpu"])
        info["cpu_cache"] = fields.get("cache size")
        # The instruction sets the kernel builds use or could use.
        info["cpu_simd"] = [flag for flag in ("avx2", "fma", "avx512f")
                            if flag in fields.get("flags", "").split()]
    except OSError:                   # not on Linux
        pass
    try:
        from threadpoolctl import threadpool_info
        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
        # SciPy may bring its own copy; the floor's X @ w runs on NumPy's.
        blas = [i for i in blas if "numpy" in i["filepath"]] or blas
        info["blas"] = ", ".join(f"{i['internal_api']} {i.get('version') or '?'} with "
                                 f"{i['num_threads']} threads" for i in blas)
    except ImportError:
        info["blas"] = "unknown (threadpoolctl not installed)"
    return info


def _fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def _model(result):
    """The loss column: the loss, or with several classes 'softmax-5' or 'hinge-ovr-5'."""
    classes = result.get("classes", 1)
    if classes == 1:
        return result["loss"]
    return (f"softmax-{classes}" if result["loss"] == "log_loss"
            else f"{result['loss']}-ovr-{classes}")


def format_table(results, machine=None):
    """The results as plain text: the floors, the epoch table, the time-to-quality table."""
    machine = machine or machine_info()
    simd = "/".join(machine.get("cpu_simd") or [])
    lines = [f"gdfast {machine['gdfast']} ({machine['gdfast_kernel']}) on {machine['cpu']}"
             f"{' (' + simd + ')' if simd else ''}, {machine['cores']} cores, cache "
             f"{machine.get('cpu_cache') or '?'}, BLAS "
             f"{machine['blas']}, Python {machine['python']}, "
             f"NumPy {machine['numpy']}, scikit-learn {machine['scikit-learn']}, "
             f"{machine['date']}", ""]
    floors = [r for r in results if r["kind"] == "floor"]
    epochs = [r for r in results if r["kind"] == "epoch"]
    for floor in floors:
        lines.append(f"floor {floor['shape']} ({floor['n_samples']:,} x {floor['n_features']} "
                     f"float64): X @ w = {floor['seconds']:.3e} s, fastest of "
                     f"{floor['samples']} measurements spread over the run (median "
                     f"{floor['median_seconds']:.3e} s, slowest {floor['max_seconds']:.3e} s)")
        lines.append(f"  reading the rows in a shuffled order on one core, no update: "
                     f"{floor['shuffled_read_seconds']:.3e} s = "
                     f"{floor['shuffled_read_x_floor']:.1f}x floor")
        lines.append(f"  reading the rows and their targets in a shuffled order on one core: "
                     f"{floor['shuffled_read_targets_seconds']:.3e} s = "
                     f"{floor['shuffled_read_targets_x_floor']:.1f}x floor (what a shuffled "
                     "epoch reads: the least a per-sample or mini-batch epoch can cost)")
        if "log_loss_chain_seconds" in floor:
            lines.append(f"  a chain of {floor['n_samples']:,} sigmoids (an exp and a division "
                         f"each), each waiting on the last: {floor['log_loss_chain_seconds']:.3e} "
                         "s (what per-sample log loss would add to the chain of updates "
                         "without the score computed ahead)")
        for r in epochs:
            if r["shape"] == floor["shape"] and "sklearn_seconds" in r:
                lines.append(f"  scikit-learn SGD, per-sample {r['loss']}: "
                             f"{r['sklearn_seconds']:.3e} s/epoch = {r['sklearn_x_floor']:.1f}x "
                             "floor")
    if epochs:
        header = (f"{'shape':<9} {'path':<14} {'loss':<14} {'optimizer':<9} {'dtype':<7} "
                  f"{'thr':>3} {'s/epoch':>10} {'× floor':>8} {'× read':>6} {'bound':<13} {'× bound':>7} "
                  f"{'NumPy ref':>10} {'sklearn':>8} {'f32/f64':>7}")
        lines += ["", header, "-" * len(header)]
        for r in epochs:
            lines.append(
                f"{r['shape']:<9} {r['path']:<14} {_model(r):<14} {r['optimizer']:<9} "
                f"{r['dtype']:<7} {r['n_threads']:>3} {r['seconds']:>10.3e} "
                f"{r['x_floor']:>8.2f} {_fmt(r.get('x_shuffled_read'), '.2f'):>6} "
                f"{r['bound']:<13} {r['x_bound']:>7.2f} "
                f"{_fmt(r.get('x_numpy'), '.0f'):>10} "
                f"{_fmt(r.get('x_sklearn'), '.1f'):>8} {_fmt(r.get('x_float64'), '.2f'):>7}")
        lines += ["", "s/epoch: fastest of several epochs. × floor: s/epoch ÷ the floor X @ w "
                  "(float64, every BLAS thread) of the shape.",
                  "× read: a shuffled epoch's s/epoch ÷ the shuffled read of its rows alone "
                  "(in its order, in its dtype, one core, no update).",
                  "bound: the least the path's epoch can cost, × bound: s/epoch ÷ it. A full "
                  "batch's is the floor X @ w; a shuffled epoch's the larger of",
                  "rows+targets (the shuffled read of its rows and of their targets, which it "
                  "reads too) and the updates alone (its optimizer's",
                  "updates, one per batch, from a fixed gradient, no row read).",
                  "NumPy ref, sklearn: their s/epoch ÷ gdfast's, i.e. how many times faster "
                  "gdfast is (scikit-learn: SGDRegressor or",
                  "SGDClassifier(log_loss), fit with max_iter=1 and the same constant step). "
                  "f32/f64: float32 s/epoch ÷ float64 s/epoch, from epochs of the two taken in turn.",
                  "The log loss ratios below come from epochs taken in turn with their "
                  "baseline's too (fastest of each)."]
        lines += _log_loss_lines(floors, epochs)
    lines += bench_network.format_table(results)
    lines += bench_sparse.format_table(results)
    setups = [r for r in results if r["kind"] == "setup"]
    if setups:
        first = setups[0]
        lines += ["", f"Fit setup, {first['n_samples']:,} x {first['n_features']} float64: "
                  "GDRegressor's default fit with max_iter=1 minus its epoch, ÷ the floor X @ w"]
        for r in setups:
            lines.append(f"  fit setup {r['path']:<14} {r['seconds']:.3e} s = "
                         f"{r['x_floor']:.2f}x floor (its epoch {r['epoch_seconds']:.3e} s)")
    lines += bench_quality.format_table(results)
    memory = [r for r in results if r["kind"] == "memory"]
    if memory:
        header = (f"{'estimator':<13} {'dtype':<7} {'path':<10} {'rows':>10} {'X MiB':>7} "
                  f"{'peak before':>11} {'peak after':>10} {'added MiB':>9} {'added/X':>7} "
                  f"{'fit s':>6}")
        lines += ["", f"Peak memory of a fit ({memory[0]['n_features']} features, "
                  f"{memory[0]['epochs']} epochs, each fit alone in a fresh process; peak RSS "
                  "from getrusage, in MiB)", header, "-" * len(header)]
        for r in memory:
            lines.append(
                f"{r['estimator']:<13} {r['dtype']:<7} {r['path']:<10} {r['n_samples']:>10,} "
                f"{r['x_bytes'] / 2**20:>7.0f} {r['peak_before_bytes'] / 2**20:>11.0f} "
                f"{r['peak_after_bytes'] / 2**20:>10.0f} {r['added_bytes'] / 2**20:>9.1f} "
                f"{100 * r['x_fraction']:>6.2f}% {r['fit_seconds']:>6.2f}")
        lines += ["", "peak before: after making X and y (in chunks, no temporary copy). added/X: "
                  "the memory the fit added, (peak after - peak before) / X.nbytes;",
                  f"it should stay below {100 * MEMORY_LIMIT:g}% (a fit makes no copy of X); "
                  f"on --quick's 64 MB X, {MEMORY_LIMIT * MEMORY_X_BYTES['small'] / 2**20:.0f} MiB "
                  f"already make {100 * MEMORY_LIMIT:g}%."]
    return "\n".join(lines)


def _log_loss_lines(floors, epochs):
    """Per shape, path, thread count and dtype, log loss's s/epoch ÷ squared error's (plain
    SGD, the two timed in turn), or with several classes the softmax's ÷ one-vs-rest
    hinge's; on the per-sample path with one output, also squared error's epoch plus the chain of sigmoids
    alone, ÷ squared error's epoch: each row waits on the previous row's update and on its
    own sigmoid, though with rows out of cache part of that wait hides behind their reads."""
    lines = []
    for floor in floors:
        for r in epochs:
            if (r["shape"] != floor["shape"] or r["loss"] != "log_loss"
                    or "paired_seconds" not in r):
                continue
            shape, path, threads, classes = r["shape"], r["path"], r["n_threads"], r["classes"]
            log_seconds, other = r["paired_seconds"], r["paired_baseline_seconds"]
            names = ("log loss ÷ squared error" if classes == 1
                     else f"softmax-{classes} ÷ hinge-ovr-{classes}")
            dtype = "" if r["dtype"] == "float64" else f" {r['dtype']}"
            line = f"{names}, {shape} {path} t{threads}{dtype}: {log_seconds / other:.2f}"
            if path == "per-sample" and classes == 1 and "log_loss_chain_seconds" in floor:
                line += (f" (squared error's epoch plus the chain of sigmoids alone: "
                         f"{(other + floor['log_loss_chain_seconds']) / other:.2f}; each row "
                         "waits on both, in part behind the reads of the rows)")
            lines.append(line)
    return [""] + lines if lines else []


def write_json(results, path, machine=None):
    with open(path, "w") as out:
        json.dump({"machine": machine or machine_info(), "results": results}, out, indent=1)
        out.write("\n")


# --- one core kept busy -----------------------------------------------------------------
# n_jobs=-1 splits a large batch over every core; when another process keeps one of them
# busy, it should cost little against n_jobs=1 (BUSY_CORE_LIMIT), and with the cores free
# it should keep its speed-up.
BUSY_CORE_DTYPES = ("float64", "float32")
BUSY_CORE_LIMIT = 1.10
# The spinning process: a busy loop that ends by itself if its parent goes away.
SPINNER = ("import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n"
           "    for _ in range(1_000_000):\n        pass\n")


def busy_core_cases(sizes=("small", "large")):
    """Plain SGD on squared error on every path, shape and dtype, on every core."""
    return [Case(shape, path, "squared_error", "sgd", dtype, _cores()) for size in sizes
            for shape in SIZES[size] for path in PATHS for dtype in BUSY_CORE_DTYPES]


def busy_core_name(case):
    return f"busy-core-{case.shape}-{case.path}-{case.dtype}"


class BusyCore:
    """A context: another process spinning on one core while inside, stopped on the way out
    (also on an exception, Ctrl-C's included)."""

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, "-c", SPINNER])
        return self

    def __exit__(self, *exc_info):
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return False


# After a parallel region, OpenMP's idle threads spin for a while (milliseconds with
# GCC's default wait policy) before they sleep: a run just after one on every core would
# share its cores with them. Each run is followed by this pause, long enough for them to
# sleep.
SETTLE_SECONDS = 0.05


def paired_seconds(first, second, *, budget=4 * TIME_BUDGET, min_runs=7, max_runs=200):
    """(median time of `first`, of `second`, fastest of `first`, of `second`), their runs
    taken in turn, so that what else the machine is doing weighs on both alike. The
    medians, because a thread held up by another process slows some epochs, not all: the
    fastest would hide it."""
    first(), second()                                  # warm-up
    times = ([], [])
    while len(times[0]) < min_runs or (sum(times[0]) + sum(times[1]) < budget
                                       and len(times[0]) < max_runs):
        for function, spent in zip((first, second), times):
            sleep(SETTLE_SECONDS)
            start = perf_counter()
            function()
            spent.append(perf_counter() - start)
    return (float(np.median(times[0])), float(np.median(times[1])), min(times[0]),
            min(times[1]))


def run_busy_core(sizes=("small", "large"), only=(), progress=None):
    """For each busy-core case, one epoch with one thread against one on every core
    (n_jobs=1 against n_jobs=-1): first every case with the cores free, then every case
    with one of them kept busy by a spinning process. A list of result dicts of kind
    "busy-core"; the ratios are the time on every core ÷ the time on one."""
    progress = progress or (lambda text: None)
    selected = [case for case in busy_core_cases(sizes) if matches(busy_core_name(case), only)]
    data = {shape: make_data(shape) for shape in dict.fromkeys(c.shape for c in selected)}
    results = {}
    for case in selected:
        X = data[case.shape].X
        results[case] = {"kind": "busy-core", "name": busy_core_name(case), **asdict(case),
                         "n_samples": X.shape[0], "n_features": X.shape[1],
                         "batch_size": PATHS[case.path] or X.shape[0],
                         "limit": BUSY_CORE_LIMIT}
    # Every free run before the busy ones: having seen threads lose, the kernel keeps split
    # batches on one thread for up to a second, which would spill into a free run that
    # followed a busy one.
    for state in ("free", "busy"):
        with BusyCore() if state == "busy" else nullcontext():
            for case in selected:
                result = results[case]
                one = replace(case, n_threads=1)
                seconds = paired_seconds(epoch_function(one, data[case.shape]),
                                         epoch_function(case, data[case.shape]))
                (result[f"{state}_one_thread_seconds"], result[f"{state}_seconds"],
                 result[f"{state}_one_thread_min_seconds"],
                 result[f"{state}_min_seconds"]) = seconds
                result[f"{state}_ratio"] = seconds[1] / seconds[0]
                where = "cores free" if state == "free" else "one core busy"
                progress(f"{result['name']}: {case.n_threads} threads ÷ 1 thread, {where} "
                         f"{result[f'{state}_ratio']:.2f}")
    for result in results.values():
        result["within_limit"] = result["busy_ratio"] <= BUSY_CORE_LIMIT
    return list(results.values())


def format_busy_core(results, machine=None):
    """The busy-core results as plain text."""
    machine = machine or machine_info()
    rows = [r for r in results if r["kind"] == "busy-core"]
    lines = [f"gdfast {machine['gdfast']} ({machine['gdfast_kernel']}) on {machine['cpu']}, "
             f"{machine['cores']} cores, {machine['date']}", ""]
    if not rows:
        return "\n".join(lines)
    header = (f"{'shape':<9} {'path':<14} {'dtype':<7} {'thr':>3} {'free: 1 thr':>11} "
              f"{'all thr':>10} {'ratio':>6} {'busy: 1 thr':>11} {'all thr':>10} {'ratio':>6}")
    lines += [header, "-" * len(header)]
    for r in rows:
        mark = "" if r["within_limit"] else "  over the limit"
        lines.append(
            f"{r['shape']:<9} {r['path']:<14} {r['dtype']:<7} {r['n_threads']:>3} "
            f"{r['free_one_thread_seconds']:>11.3e} {r['free_seconds']:>10.3e} "
            f"{r['free_ratio']:>6.2f} {r['busy_one_thread_seconds']:>11.3e} "
            f"{r['busy_seconds']:>10.3e} {r['busy_ratio']:>6.2f}{mark}")
    lines += ["", "Seconds per epoch of plain SGD on squared error, median of runs taken in "
              "turn, with one thread (n_jobs=1) and with every core (n_jobs=-1);",
              "ratio: every core ÷ one thread. free: nothing else started; busy: while a "
              "spinning process started by this command keeps one core busy.",
              f"With one core busy, every core should cost at most {BUSY_CORE_LIMIT:.2f}x one "
              "thread; with the cores free, only batches large enough to be split over "
              "threads (the full batch) gain:",
              "the per-sample and mini-batch epochs run the same one-thread code either way, "
              "so their ratios show how much the machine's noise alone moves a ratio."]
    if machine["cores"] < 2:
        lines.append("This process may use one core only: both columns time one thread.")
    return "\n".join(lines)
