"""What `gdfast bench --dask` measures, on a local cluster of two worker processes: the time
gdfast.dask's two strategies and the Dask peers take to come within 1% of the optimal
training loss (squared error and log loss) on data generated on the workers, and the
synchronous strategy's time per round against the in-memory full batch on the same data.

Peers, each used as its own documentation shows and skipped (with a note) when it is not
installed: dask-glm's gradient_descent, lbfgs and admm (what dask-ml's LinearRegression and
LogisticRegression run), and dask-ml's Incremental(SGDRegressor / SGDClassifier), both with
scikit-learn's default shuffled visit of each chunk's rows and with shuffle=False (rows in
their order: a sequential read, several times faster), as gdfast's local SGD is run both ways.
"""
import gc
import math
import time
import warnings
from time import perf_counter

import numpy as np

N_FEATURES = 50
N_CHUNKS = 16
N_WORKERS = 2
DEFAULT_ROWS = 4_000_000
QUALITY_TOLERANCE = 0.01          # "within 1% of the optimal training loss"
# Seconds of fitting each method may spend in its search for the first k within 1%, at the
# default size (proportionally less for fewer rows, at least MIN_SEARCH_BUDGET).
SEARCH_BUDGET = 90.0
MIN_SEARCH_BUDGET = 10.0
# Rounds timed for the time per round (the difference of two fits' times, so that the
# setup passes cancel out).
ROUNDS = (3, 13)
LOSSES = ("squared_error", "log_loss")
# Longest wait, before a fit, for the scheduler to forget the previous fit's tasks.
SETTLE_SECONDS = 5.0
# The name --only matches for the gradient strategy's time per round.
ROUND_TIMES = "gdfast gradient round"


def _installed(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


class Problem:
    """Seeded data made on the workers, in N_CHUNKS row chunks, persisted: X standard normal
    (and X with a column of ones, for the peers that fit no intercept of their own), the
    regression target and 0/1 labels with noise so that both optima are finite."""

    def __init__(self, n_samples, seed=0):
        import dask
        import dask.array as da
        rng = da.random.default_rng(seed)
        chunk = math.ceil(n_samples / N_CHUNKS)
        weights = np.random.default_rng(seed).standard_normal(N_FEATURES)
        X = rng.standard_normal((n_samples, N_FEATURES), chunks=(chunk, N_FEATURES))
        signal = X @ weights + 0.5
        noise = rng.standard_normal(n_samples, chunks=chunk)
        targets = {"squared_error": signal + noise,
                   "log_loss": (signal + 2.0 * noise > 0).astype(np.float64)}
        with_ones = da.concatenate([X, da.ones((n_samples, 1), chunks=(chunk, 1))], axis=1)
        self.X, self.with_ones, self.y = dask.persist(X, with_ones.rechunk({1: -1}), targets)
        from distributed import get_client, wait
        wait([self.X, self.with_ones, *self.y.values()])
        self.n_samples = n_samples
        self._client = get_client()
        self._data_keys = None

    def settle(self, timeout=SETTLE_SECONDS):
        """Wait until the scheduler holds no task besides the data's: a method whose graph
        has the same keys as a previous fit's (dask-ml's Incremental names its tasks after
        the estimator and the data) would otherwise get that fit's results back without
        computing them, while the scheduler has not yet forgotten them."""
        gc.collect()            # a fit's futures caught in reference cycles release nothing
        if self._data_keys is None:
            self._data_keys = set(self._client.run_on_scheduler(_scheduler_keys))
            return
        deadline = perf_counter() + timeout
        while (not set(self._client.run_on_scheduler(_scheduler_keys)) <= self._data_keys
               and perf_counter() < deadline):
            time.sleep(0.01)

    def loss(self, loss, coef, intercept):
        """The mean training loss of the linear model (coef, intercept), on the workers."""
        z = self.X @ np.asarray(coef, dtype=np.float64).ravel() + float(np.ravel(intercept)[0])
        y = self.y[loss]
        values = (z - y) ** 2 if loss == "squared_error" else np.logaddexp(0.0, z) - y * z
        return float(values.mean().compute())

    def optimum(self, loss):
        """The least mean training loss: the normal equations for squared error; Newton's
        method (from zero, until a step's largest entry is below 1e-12) for log loss. Each
        is one pass over the data per solve or Newton step, on the workers."""
        import dask
        X, y = self.with_ones, self.y[loss]
        if loss == "squared_error":
            gram, moment = dask.compute(X.T @ X, X.T @ y)
            beta = np.linalg.solve(gram, moment)
        else:
            beta = np.zeros(X.shape[1])
            for _ in range(100):
                z = X @ beta
                p = 1.0 / (1.0 + np.exp(-z))
                gradient, hessian = dask.compute(X.T @ (p - y), (X * (p * (1 - p))[:, None]).T @ X)
                step = np.linalg.solve(hessian, gradient)
                beta -= step
                if np.max(np.abs(step)) < 1e-12:
                    break
        return self.loss(loss, beta[:-1], beta[-1]), beta


def _scheduler_keys(dask_scheduler):
    return list(dask_scheduler.tasks)


# --- methods: each fit(problem, loss, k) -> (coef, intercept), k its rounds or epochs ------


def _gdfast(strategy, **params):
    def fit(problem, loss, k):
        from gdfast import dask as gd_dask
        make = gd_dask.GDRegressor if loss == "squared_error" else gd_dask.GDClassifier
        model = make(strategy=strategy, max_iter=k, random_state=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # ConvergenceWarning at small k, on purpose
            model.fit(problem.X, problem.y[loss])
        return model.coef_, model.intercept_
    return fit


def _dask_glm(algorithm, **params):
    def fit(problem, loss, k):
        from dask_glm import algorithms, families
        family = families.Normal if loss == "squared_error" else families.Logistic
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            beta = getattr(algorithms, algorithm)(problem.with_ones, problem.y[loss],
                                                  max_iter=k, family=family, **params)
        beta = np.asarray(beta)
        return beta[:-1], beta[-1]
    return fit


def _incremental(**params):
    def fit(problem, loss, k):
        from dask_ml.wrappers import Incremental
        from sklearn.linear_model import SGDClassifier, SGDRegressor
        model = Incremental(SGDRegressor(random_state=0, **params) if loss == "squared_error"
                            else SGDClassifier(loss="log_loss", random_state=0, **params),
                            random_state=0)
        y = problem.y[loss]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(k):                          # one pass over the chunks per epoch
                if loss == "squared_error":
                    model.partial_fit(problem.X, y)
                else:
                    model.partial_fit(problem.X, y, classes=[0.0, 1.0])
        return model.estimator_.coef_, model.estimator_.intercept_
    return fit


# name -> (package it needs, what k counts, fit, how it is called)
METHODS = {
    "gdfast gradient": ("gdfast", "rounds", _gdfast("gradient"),
                        'strategy="gradient", defaults'),
    "gdfast local_sgd": ("gdfast", "rounds", _gdfast("local_sgd", batch_size=32),
                         'strategy="local_sgd", batch_size=32'),
    "gdfast local_sgd unshuffled": ("gdfast", "rounds",
                                    _gdfast("local_sgd", batch_size=32, shuffle=False),
                                    'strategy="local_sgd", batch_size=32, shuffle=False'),
    "dask-glm gradient_descent": ("dask_glm", "iterations", _dask_glm("gradient_descent"),
                                  "defaults"),
    "dask-glm lbfgs": ("dask_glm", "iterations", _dask_glm("lbfgs"), "no penalty"),
    "dask-glm admm": ("dask_glm", "iterations",
                      _dask_glm("admm", regularizer="l2", lamduh=0.0), "l2 with lamduh=0"),
    "dask-ml Incremental(SGD)": ("dask_ml", "epochs", _incremental(),
                                 "SGDRegressor / SGDClassifier(log_loss), defaults"),
    # Each chunk's rows in their order: a sequential read, several times faster than
    # scikit-learn's default shuffled visit of them (as it is for gdfast's local epochs).
    "dask-ml Incremental(SGD) unshuffled": ("dask_ml", "epochs", _incremental(shuffle=False),
                                            "the same with shuffle=False"),
}


def _grid(largest):
    k = 1
    while k <= largest:
        yield k
        k = max(k + 1, round(k * 1.25))


def time_to_quality(name, problem, loss, optimum, budget, largest=1000):
    """The first k of a grid (k growing by ~25%) whose fit with k rounds, iterations or
    epochs comes within 1% of the optimal training loss, and that fit's wall time (the
    faster of two runs); None once the search has spent `budget` seconds fitting."""
    _, unit, fit, _ = METHODS[name]
    spent = 0.0
    result = {"kind": "dask-quality", "method": name, "loss": loss, "unit": unit,
              "optimal_loss": optimum, "k": None, "seconds": None, "ratio": None}
    for k in _grid(largest):
        problem.settle()
        start = perf_counter()
        coef, intercept = fit(problem, loss, k)
        seconds = perf_counter() - start
        spent += seconds
        ratio = problem.loss(loss, coef, intercept) / optimum
        result.update(last_k=k, last_ratio=ratio, spent=spent)
        if ratio <= 1 + QUALITY_TOLERANCE:
            problem.settle()
            start = perf_counter()
            fit(problem, loss, k)
            result.update(k=k, ratio=ratio, seconds=min(seconds, perf_counter() - start))
            return result
        if spent > budget:
            return result
    return result


def _chunk_nothing(X, y, sample_weight, coef):
    """A chunk task that reads nothing: its round costs only scheduling and communication."""
    return {"sum": 0.0}


def _chunk_read(X, y, sample_weight, coef):
    """A chunk task that reads its rows once (X @ w, summed: one number back, as small as a
    gradient): the least any pass over them costs."""
    return {"sum": float(np.sum(np.asarray(X) @ coef[:-1]))}


def _best_seconds(function, repeats=5):
    times = []
    for _ in range(repeats):
        start = perf_counter()
        function()
        times.append(perf_counter() - start)
    return min(times)


def round_times(problem):
    """Seconds per round of the gradient strategy on the cluster and per full-batch epoch
    of the in-memory GDRegressor on the same rows (in this process, on as many threads as
    the cluster has workers): each the difference between fits of ROUNDS[1] and ROUNDS[0]
    rounds, divided by the rounds between them, the faster of two measurements. And two
    bounds on a round: one whose chunk tasks do nothing (the scheduling and communication
    alone) and one whose tasks read their rows once (X @ w)."""
    import gdfast
    from gdfast import dask as gd_dask
    from gdfast.dask._chunks import reduce_chunks

    def per_round(fit):
        times = {}
        for k in ROUNDS:
            times[k] = _best_seconds(lambda: fit(k), repeats=2)
        return (times[ROUNDS[1]] - times[ROUNDS[0]]) / (ROUNDS[1] - ROUNDS[0])

    y = problem.y["squared_error"]
    coef = np.ones(N_FEATURES + 1)
    empty = _best_seconds(lambda: reduce_chunks(_chunk_nothing, problem.X, y, None, coef))
    read = _best_seconds(lambda: reduce_chunks(_chunk_read, problem.X, y, None, coef))
    params = {"tol": None, "random_state": 0}
    cluster = per_round(lambda k: gd_dask.GDRegressor(max_iter=k, **params).fit(problem.X, y))
    X_local, y_local = problem.X.compute(), y.compute()
    local = per_round(lambda k: gdfast.GDRegressor(batch_size=None, n_jobs=N_WORKERS,
                                                   max_iter=k, **params).fit(X_local, y_local))
    return {"kind": "dask-round", "cluster_seconds": cluster, "in_memory_seconds": local,
            "overhead_seconds": cluster - local, "empty_round_seconds": empty,
            "read_round_seconds": read}


def names():
    """What --only chooses from: each method's name and ROUND_TIMES."""
    return [*METHODS, ROUND_TIMES]


def run(n_samples=DEFAULT_ROWS, progress=None, only=()):
    """Start the cluster, make the data, measure (with `only`, the methods and ROUND_TIMES
    whose names contain one of its shell-style patterns); return (results, notes)."""
    from distributed import Client, LocalCluster

    from gdfast._cli.bench import matches
    progress = progress or (lambda text: None)
    notes = []
    chosen = []
    for name, (package, *_rest) in METHODS.items():
        if not matches(name, only):
            continue
        if _installed(package):
            chosen.append(name)
        else:
            notes.append(f"{name}: skipped, {package.replace('_', '-')} is not installed")
            progress(notes[-1])
    budget = max(MIN_SEARCH_BUDGET, SEARCH_BUDGET * n_samples / DEFAULT_ROWS)
    results = []
    with LocalCluster(n_workers=N_WORKERS, threads_per_worker=1, processes=True,
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster):
        start = perf_counter()
        problem = Problem(n_samples)
        progress(f"data: {n_samples:,} x {N_FEATURES} float64 in {N_CHUNKS} chunks, made and "
                 f"persisted on {N_WORKERS} workers in {perf_counter() - start:.1f} s")
        problem.settle()
        for loss in LOSSES if chosen else ():
            optimum, _ = problem.optimum(loss)
            progress(f"{loss}: optimal mean training loss {optimum:.6f}")
            for name in chosen:
                result = time_to_quality(name, problem, loss, optimum, budget)
                results.append(result)
                progress(_quality_line(result))
        if not matches(ROUND_TIMES, only):
            return _described(results, n_samples), notes
        rounds = round_times(problem)
        results.append(rounds)
        progress(f"gradient strategy: {1e3 * rounds['cluster_seconds']:.1f} ms per round, "
                 f"in memory {1e3 * rounds['in_memory_seconds']:.1f} ms per epoch; empty "
                 f"round {1e3 * rounds['empty_round_seconds']:.1f} ms, reading round "
                 f"{1e3 * rounds['read_round_seconds']:.1f} ms")
    return _described(results, n_samples), notes


def _described(results, n_samples):
    for result in results:
        result.update(n_samples=n_samples, n_features=N_FEATURES, n_chunks=N_CHUNKS,
                      n_workers=N_WORKERS)
    return results


def _quality_line(result):
    if result["k"] is None:
        return (f"{result['loss']} {result['method']}: not within 1% after {result['last_k']} "
                f"{result['unit']} (loss/optimum {result['last_ratio']:.4f}; search stopped "
                f"after {result['spent']:.1f} s of fits)")
    return (f"{result['loss']} {result['method']}: within 1% after {result['k']} "
            f"{result['unit']}, {result['seconds']:.2f} s")


def format_table(results, notes):
    quality = [r for r in results if r["kind"] == "dask-quality"]
    rounds = [r for r in results if r["kind"] == "dask-round"]
    if not results:
        return "\n".join(notes)
    first = (quality or rounds)[0]
    width = max(len(name) for name in METHODS)
    lines = [f"Dask: {first['n_samples']:,} x {first['n_features']} float64 in "
             f"{first['n_chunks']} chunks, persisted on a local cluster of "
             f"{first['n_workers']} one-thread worker processes", ""]
    if quality:
        header = (f"{'loss':<14} {'method':<{width}} {'to 1%':>12} {'seconds':>8} {'loss/opt':>8} "
                  f"{'× best':>7}  called with")
        lines += ["Time to within 1% of the optimal training loss", header, "-" * len(header)]
        for loss in LOSSES:
            rows = [r for r in quality if r["loss"] == loss]
            times = [r["seconds"] for r in rows if r["seconds"] is not None]
            best = min(times) if times else None
            for r in rows:
                reached = r["k"] is not None
                lines.append(
                    f"{loss:<14} {r['method']:<{width}} "
                    f"{(str(r['k']) + ' ' + r['unit']) if reached else 'not reached':>12} "
                    f"{format(r['seconds'], '.2f') if reached else '-':>8} "
                    f"{r['ratio'] if reached else r['last_ratio']:>8.4f} "
                    f"{format(r['seconds'] / best, '.1f') if reached else '-':>7}  "
                    f"{METHODS[r['method']][3]}")
        optima = {r["loss"]: r["optimal_loss"] for r in quality}
        lines += ["", "Optimal loss (mean over the rows): " + ", ".join(
                  f"{loss} {value:.6f}" for loss, value in optima.items())
                  + " (normal equations; Newton's method for log loss).",
                  "to 1%: the first k of a grid growing by ~25% whose fit with max_iter=k "
                  "(Incremental: k passes of partial_fit) is within 1%;",
                  "seconds: that fit's wall time, the faster of two, setup passes included "
                  "(data already on the workers). loss/opt: its training",
                  "loss / the optimum (for 'not reached', that of the last fit before the "
                  "search's time ran out). × best: seconds / the fastest's.",
                  "dask-glm gets X with a column of ones (its intercept), made once "
                  "beforehand."]
    if rounds:
        r = rounds[0]
        lines += ["", f"Gradient strategy, time per round (full batch, squared error): "
                  f"{1e3 * r['cluster_seconds']:.1f} ms on the cluster, "
                  f"{1e3 * r['in_memory_seconds']:.1f} ms per epoch in memory",
                  f"(GDRegressor(batch_size=None, n_jobs={r['n_workers']}) on the same rows "
                  f"in one process): {1e3 * r['overhead_seconds']:.1f} ms per round of "
                  "scheduling and communication.",
                  f"Each from the time of fits of {ROUNDS[1]} and {ROUNDS[0]} rounds, "
                  "divided by the rounds between them.",
                  f"Bounds: a round whose chunk tasks do nothing takes "
                  f"{1e3 * r['empty_round_seconds']:.1f} ms (scheduling and communication "
                  "alone); one whose tasks read their",
                  f"rows once (X @ w) {1e3 * r['read_round_seconds']:.1f} ms (the least any "
                  "pass over the data costs on these workers)."]
    lines += [""] + notes if notes else []
    return "\n".join(lines)
