"""The network section of `python -m gdfast bench`: one epoch of MLPClassifier (hidden
(100,), relu, Adam) at batch 32 and 200, float64 and float32, against scikit-learn's
MLPClassifier(solver="adam") with the same batch size and against the NumPy reference, all
timed in the same run; and the held-out accuracy both reach on scikit-learn's digits data
with their defaults.

Every epoch is a whole fit with max_iter=1 for all three, so each pays the same setup
(input checks, initial weights) beside its epoch; on 100,000 rows the epoch dominates.
"""
import warnings
from dataclasses import asdict, dataclass

import numpy as np

# name -> (rows, features) of the generated classification problem.
SHAPES = {"100kx100": (100_000, 100), "2kx100": (2_000, 100)}
SIZES = {"large": ("100kx100",), "small": ("2kx100",)}
BATCH_SIZES = (32, 200)
HIDDEN = (100,)
# Digits accuracy: the mean over these seeds of the held-out accuracy (a quarter of the
# rows, stratified): one seed's accuracy moves by about 0.01 with the initial weights.
DIGITS_SEEDS = (0, 1, 2, 3, 4)
DIGITS_TOLERANCE = 0.01
DIGITS_NAME = "network-digits-accuracy"


@dataclass(frozen=True)
class NetworkCase:
    shape: str
    batch_size: int
    dtype: str = "float64"

    @property
    def name(self):
        return f"network-{self.shape}-batch{self.batch_size}-{self.dtype}"


def cases(sizes=("small", "large")):
    return [NetworkCase(shape, batch_size, dtype) for size in sizes for shape in SIZES[size]
            for batch_size in BATCH_SIZES for dtype in ("float64", "float32")]


def names(sizes):
    """Every network measurement's name, for --only."""
    return [case.name for case in cases(sizes)] + [DIGITS_NAME]


def make_data(shape, seed=11):
    """A seeded two-class problem whose labels depend on the features nonlinearly (the sign
    of a product of two linear scores, with label noise), standard normal features."""
    n_samples, n_features = SHAPES[shape]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    scores = X @ rng.standard_normal((n_features, 2)) / np.sqrt(n_features)
    y = (scores[:, 0] * scores[:, 1] + rng.standard_normal(n_samples) > 0).astype(np.int64)
    return X, y


def _gdfast_fit(X, y, batch_size, engine):
    from gdfast import MLPClassifier
    model = MLPClassifier(HIDDEN, optimizer="adam", batch_size=batch_size, max_iter=1, tol=0,
                          random_state=0, engine=engine)
    return lambda: _quietly(model.fit, X, y)


def _sklearn_fit(X, y, batch_size, blas_threads=None):
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits
    model = MLPClassifier(HIDDEN, solver="adam", batch_size=batch_size, max_iter=1, tol=0,
                          random_state=0)

    def fit():
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            _quietly(model.fit, X, y)
    return fit


def _quietly(fit, *args):
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)    # max_iter=1, on purpose
        return fit(*args)


def run(sizes, only, matches, min_seconds, progress):
    """Time the selected cases and, if selected, the digits accuracy; a list of result dicts
    of kind "network-epoch" and "network-accuracy"."""
    selected = [case for case in cases(sizes) if matches(case.name, only)]
    results, float64_seconds = [], {}
    for shape in dict.fromkeys(case.shape for case in selected):
        X64, y = make_data(shape)
        arrays = {"float64": X64, "float32": X64.astype(np.float32)}
        for case in (c for c in selected if c.shape == shape):
            X = arrays[case.dtype]
            seconds, runs = min_seconds(_gdfast_fit(X, y, case.batch_size, "cython"))
            # The baselines take seconds per epoch: no warm-up, at least two runs.
            numpy_seconds, _ = min_seconds(_gdfast_fit(X, y, case.batch_size, "numpy"),
                                           warmup=False, min_runs=2, budget=1.0)
            # scikit-learn's products go through NumPy's BLAS, on every core by default;
            # on a busy machine one thread can be much faster, so both are timed and the
            # faster is the baseline (gdfast's kernel runs on one core).
            sklearn_times = {threads: min_seconds(_sklearn_fit(X, y, case.batch_size, threads),
                                                  warmup=False, min_runs=2, budget=1.0)[0]
                             for threads in (None, 1)}
            result = {"kind": "network-epoch", "name": case.name, **asdict(case),
                      "n_samples": X.shape[0], "n_features": X.shape[1],
                      "hidden_layer_sizes": list(HIDDEN), "activation": "relu",
                      "optimizer": "adam", "seconds": seconds, "runs": runs,
                      "numpy_seconds": numpy_seconds,
                      "sklearn_seconds": min(sklearn_times.values()),
                      "sklearn_default_threads_seconds": sklearn_times[None],
                      "sklearn_one_thread_seconds": sklearn_times[1]}
            result["x_numpy"] = numpy_seconds / seconds
            result["x_sklearn"] = result["sklearn_seconds"] / seconds
            key = (case.shape, case.batch_size)
            if case.dtype == "float64":
                float64_seconds[key] = seconds
            elif key in float64_seconds:
                result["float64_seconds"] = float64_seconds[key]
                result["x_float64"] = seconds / float64_seconds[key]
            results.append(result)
            progress(f"{case.name}: {seconds:.3g} s/epoch; scikit-learn "
                     f"{result['sklearn_seconds']:.3g} s ({result['x_sklearn']:.1f}x), NumPy "
                     f"reference {numpy_seconds:.3g} s ({result['x_numpy']:.1f}x)")
    if matches(DIGITS_NAME, only):
        result = digits_accuracy()
        results.append(result)
        progress(f"{DIGITS_NAME}: gdfast {result['gdfast_accuracy']:.4f}, scikit-learn "
                 f"{result['sklearn_accuracy']:.4f}")
    return results


def digits_accuracy(seeds=DIGITS_SEEDS):
    """The held-out accuracy of MLPClassifier with its defaults, gdfast's and scikit-learn's,
    on the digits data (the same stratified quarter held out), for each seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SklearnMLP
    from threadpoolctl import threadpool_limits
    from gdfast import MLPClassifier
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    scores = {"gdfast": [], "sklearn": []}
    epochs = {"gdfast": [], "sklearn": []}
    # One BLAS thread: the accuracy does not depend on it, and on a shared machine
    # scikit-learn's small products run many times slower on several.
    with threadpool_limits(limits=1, user_api="blas"):
        for seed in seeds:
            for name, Estimator in (("gdfast", MLPClassifier), ("sklearn", SklearnMLP)):
                model = _quietly(Estimator(random_state=seed).fit, X_train, y_train)
                scores[name].append(float(model.score(X_test, y_test)))
                epochs[name].append(int(model.n_iter_))
    gdfast, sklearn = np.mean(scores["gdfast"]), np.mean(scores["sklearn"])
    return {"kind": "network-accuracy", "name": DIGITS_NAME, "data": "digits",
            "n_train": len(y_train), "n_test": len(y_test), "seeds": list(seeds),
            "gdfast_accuracies": scores["gdfast"], "sklearn_accuracies": scores["sklearn"],
            "gdfast_epochs": epochs["gdfast"], "sklearn_epochs": epochs["sklearn"],
            "gdfast_accuracy": float(gdfast), "sklearn_accuracy": float(sklearn),
            "difference": float(gdfast - sklearn), "tolerance": DIGITS_TOLERANCE,
            "within_tolerance": bool(abs(gdfast - sklearn) <= DIGITS_TOLERANCE)}


def format_table(results):
    """The network rows as plain text lines (none if there are no network results)."""
    epochs = [r for r in results if r["kind"] == "network-epoch"]
    accuracy = [r for r in results if r["kind"] == "network-accuracy"]
    lines = []
    if epochs:
        first = epochs[0]
        header = (f"{'shape':<9} {'batch':>5} {'dtype':<7} {'s/epoch':>10} {'sklearn s':>10} "
                  f"{'× sklearn':>9} {'NumPy s':>10} {'× NumPy':>8} {'f32/f64':>7}")
        lines += ["", f"Networks: MLPClassifier, hidden {tuple(first['hidden_layer_sizes'])}, "
                  "relu, Adam, one epoch on a generated two-class problem", header,
                  "-" * len(header)]
        for r in epochs:
            lines.append(
                f"{r['shape']:<9} {r['batch_size']:>5} {r['dtype']:<7} {r['seconds']:>10.3e} "
                f"{r['sklearn_seconds']:>10.3e} {r['x_sklearn']:>9.1f} "
                f"{r['numpy_seconds']:>10.3e} {r['x_numpy']:>8.1f} "
                f"{'-' if 'x_float64' not in r else format(r['x_float64'], '.2f'):>7}")
        lines += ["", "s/epoch: fastest one-epoch fit (max_iter=1) of gdfast's MLPClassifier. "
                  "× sklearn, × NumPy: their time ÷ gdfast's,",
                  "i.e. how many times faster gdfast is. sklearn: scikit-learn's "
                  "MLPClassifier(solver='adam'), same batch size, max_iter=1,",
                  "the faster of its default BLAS threads and one thread. NumPy: gdfast's "
                  "engine='numpy' reference, same data."]
    for r in accuracy:
        verdict = "within" if r["within_tolerance"] else "NOT within"
        lines += ["", f"Digits, held-out accuracy with default settings ({r['n_train']} "
                  f"training rows, {r['n_test']} held out, mean of seeds "
                  f"{', '.join(map(str, r['seeds']))}):",
                  f"  gdfast MLPClassifier {r['gdfast_accuracy']:.4f} (epochs "
                  f"{min(r['gdfast_epochs'])}-{max(r['gdfast_epochs'])}), scikit-learn "
                  f"MLPClassifier {r['sklearn_accuracy']:.4f} (epochs "
                  f"{min(r['sklearn_epochs'])}-{max(r['sklearn_epochs'])}): difference "
                  f"{r['difference']:+.4f}, {verdict} {r['tolerance']:g}"]
    return lines
