"""Data, the memory-bandwidth floor, and the ratio table for the epoch benchmarks.

Run with:  pytest benchmarks --benchmark-only
Quick run: GDFAST_BENCH_SIZES=small pytest benchmarks --benchmark-only
"""
import os
from dataclasses import dataclass
from time import perf_counter

import numpy as np
import pytest

N_FEATURES = 100
# rows, and how many times to repeat the floor: a small X @ w takes microseconds, so it
# needs more repeats for its minimum to settle.
SIZES = {"small": (2_000, 200), "large": (200_000, 20)}
BATCH_ORDER = ["per-sample", "mini-batch", "full"]  # for the table only


def _selected_sizes():
    names = [s.strip() for s in os.environ.get("GDFAST_BENCH_SIZES", "small,large").split(",")
             if s.strip()]
    unknown = set(names) - set(SIZES)
    if unknown:
        raise pytest.UsageError(f"GDFAST_BENCH_SIZES: unknown size(s) {sorted(unknown)}; "
                                f"choose from {list(SIZES)}")
    return names


@dataclass
class Dataset:
    size: str
    X: np.ndarray
    y: dict            # loss name -> targets suited to that loss
    floor_repeats: int

    def measure_floor(self, repeats=None):
        """Time X @ w again and keep the sample; see FLOOR_SAMPLES."""
        FLOOR_SAMPLES.setdefault(self.size, []).append(
            _floor_seconds(self.X, repeats or self.floor_repeats))


# The floor drifts by 10-50% over a run on a shared machine, so it is measured again after
# every case and the fastest sample is used: ratios are then, if anything, pessimistic.
FLOOR_SAMPLES = {}


def floor(size):
    return min(FLOOR_SAMPLES[size])


def _floor_seconds(X, repeats):
    """Best time of X @ w: one read of X, the least any epoch over all rows can cost."""
    w = np.ones(X.shape[1])
    X @ w  # warm-up: fault in the pages of X and load the BLAS
    times = []
    for _ in range(repeats):
        start = perf_counter()
        X @ w
        times.append(perf_counter() - start)
    return min(times)


@pytest.fixture(scope="session", params=_selected_sizes())
def dataset(request):
    size = request.param
    n_samples, floor_repeats = SIZES[size]
    rng = np.random.default_rng(list(SIZES).index(size))
    X = rng.standard_normal((n_samples, N_FEATURES))  # C-contiguous float64
    w_true = rng.standard_normal(N_FEATURES)
    signal = X @ w_true + 0.5
    y = {
        "squared_error": signal + 0.1 * rng.standard_normal(n_samples),
        # Noisy labels keep the logistic optimum finite, as on real data.
        "log_loss": (signal + rng.standard_normal(n_samples) > 0).astype(np.float64),
    }
    # Measured here, in the same process and right next to the cases, so that the ratios
    # compare like with like on whatever machine runs the suite.
    dataset = Dataset(size, X, y, floor_repeats)
    dataset.measure_floor()
    return dataset


# (size, engine, batch mode, loss, optimizer) -> benchmark fixture, filled by the tests.
RESULTS = {}


@pytest.fixture(scope="session")
def results():
    return RESULTS


def _min_seconds(benchmark):
    # No stats when timing is off (--benchmark-disable): nothing to report then.
    return benchmark.stats.stats.min if benchmark.stats else None


def _ratios():
    """(key, seconds, x_floor, x_numpy) for every measured case, in a stable order."""
    rows = []
    for key, benchmark in RESULTS.items():
        seconds = _min_seconds(benchmark)
        if seconds is None:
            continue
        size, engine, batch, loss, optimizer = key
        numpy_case = RESULTS.get((size, "numpy", batch, loss, optimizer))
        numpy_seconds = _min_seconds(numpy_case) if numpy_case else None
        x_numpy = numpy_seconds / seconds if engine == "cython" and numpy_seconds else None
        rows.append((key, seconds, seconds / floor(size), x_numpy))
    return sorted(rows, key=lambda row: (list(SIZES).index(row[0][0]), row[0][1],
                                         BATCH_ORDER.index(row[0][2]), row[0][3], row[0][4]))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    # x_numpy needs both engines' times, so the ratios are only known once every case has
    # run; they must be in extra_info before pytest-benchmark saves its JSON, which it does
    # in its own pytest_sessionfinish, inside this wrapper.
    for key, seconds, x_floor, x_numpy in _ratios():
        extra = RESULTS[key].extra_info
        extra["x_floor"] = x_floor
        if x_numpy is not None:
            extra["x_numpy"] = x_numpy
    yield


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own table
def pytest_terminal_summary(terminalreporter):
    rows = _ratios()
    if not rows:
        return
    tr = terminalreporter
    tr.section("gdfast: one epoch, against the X @ w floor and the NumPy reference")
    try:
        from threadpoolctl import threadpool_info
        # NumPy and SciPy may each bring a copy of the same BLAS: name it once.
        blas = ", ".join(dict.fromkeys(f"{i['internal_api']} {i['num_threads']} threads"
                                       for i in threadpool_info() if i["user_api"] == "blas"))
    except ImportError:
        blas = "unknown"
    for size in dict.fromkeys(key[0] for key, *_ in rows):
        n_samples, repeats = SIZES[size]
        samples = FLOOR_SAMPLES[size]
        tr.write_line(f"floor {size} ({n_samples} x {N_FEATURES}): X @ w = {floor(size):.3e} s "
                      f"(fastest of {len(samples)} measurements spread over the run; median "
                      f"{np.median(samples):.3e} s, slowest {max(samples):.3e} s; BLAS: {blas})")
    tr.write_line("")
    header = f"{'case':<52} {'s/epoch':>11} {'x floor':>9} {'vs numpy':>9}"
    tr.write_line(header)
    tr.write_line("-" * len(header))
    for (size, engine, batch, loss, optimizer), seconds, x_floor, x_numpy in rows:
        case = f"{size} {engine} {batch} {loss} {optimizer}"
        speedup = f"{x_numpy:.1f}x" if x_numpy is not None else "-"
        tr.write_line(f"{case:<52} {seconds:>11.4e} {x_floor:>9.1f} {speedup:>9}")
