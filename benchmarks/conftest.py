"""Data, the memory-bandwidth floor, and the ratio table for the epoch benchmarks.

The cases and the data are gdfast/_cli/bench.py's, the same as `python -m gdfast bench`.
Run with:  pytest benchmarks --benchmark-only
Quick run: GDFAST_BENCH_SIZES=small pytest benchmarks --benchmark-only
"""
import dataclasses
import os
from dataclasses import dataclass

import numpy as np
import pytest

from gdfast._cli import bench as _bench


def selected_sizes():
    names = [s.strip() for s in os.environ.get("GDFAST_BENCH_SIZES", "small,large").split(",")
             if s.strip()]
    unknown = set(names) - set(_bench.SIZES)
    if unknown:
        raise pytest.UsageError(f"GDFAST_BENCH_SIZES: unknown size(s) {sorted(unknown)}; "
                                f"choose from {list(_bench.SIZES)}")
    return names


def pytest_generate_tests(metafunc):
    """`case, engine`: each case with the compiled kernel; the NumPy reference once per
    piece of work (it has no threads, so not again for another thread count); scikit-learn
    where it has the same rule. Grouped by shape, so one X is in memory at a time."""
    if "memory_case" in metafunc.fixturenames:
        memory = _bench.memory_cases(selected_sizes())
        metafunc.parametrize("memory_case", memory, ids=[case.name for case in memory])
    if "case" not in metafunc.fixturenames:
        return
    params, referenced = [], set()
    for case in _bench.cases(selected_sizes()):
        params.append((case, "cython"))
        work = (case.shape, case.path, case.loss, case.optimizer, case.dtype)
        if case.has_reference and work not in referenced:
            referenced.add(work)
            params.append((case, "numpy"))
        if case.has_sklearn:
            params.append((case, "sklearn"))
    metafunc.parametrize("case, engine", params,
                         ids=[f"{case.name}-{engine}" for case, engine in params])


@dataclass
class Dataset:
    shape: str
    data: _bench.Data
    floor_repeats: int

    def measure_floor(self, repeats=None):
        """Time X @ w again and keep the sample; see FLOOR_SAMPLES."""
        FLOOR_SAMPLES.setdefault(self.shape, []).append(
            _bench.floor_seconds(self.data.X, repeats or self.floor_repeats))


# The floor drifts by 10-50% over a run on a shared machine, so it is measured again after
# every case and the fastest sample is used: ratios are then, if anything, pessimistic.
FLOOR_SAMPLES = {}


def floor(shape):
    return min(FLOOR_SAMPLES[shape])


_CURRENT = {}   # shape -> Dataset; only the shape being run, to hold one X in memory


@pytest.fixture(scope="session")
def datasets():
    """dataset(shape): the shape's data, made on first use, with the floor measured right
    next to the cases so that the ratios compare like with like on this machine."""
    def dataset(shape):
        if shape not in _CURRENT:
            _CURRENT.clear()
            size = next(s for s, shapes in _bench.SIZES.items() if shape in shapes)
            _CURRENT[shape] = Dataset(shape, _bench.make_data(shape), _bench.FLOOR_REPEATS[size])
            _CURRENT[shape].measure_floor()
        return _CURRENT[shape]
    return dataset


# (case, engine) -> benchmark fixture, filled by the tests.
RESULTS = {}


@pytest.fixture(scope="session")
def results():
    return RESULTS


def _min_seconds(benchmark):
    # No stats when timing is off (--benchmark-disable): nothing to report then.
    return benchmark.stats.stats.min if benchmark.stats else None


def _seconds(engine, case, **changes):
    """The seconds of `engine` on `case` with `changes` (e.g. dtype="float64"). The NumPy
    reference and scikit-learn have no threads: their one run serves every thread count."""
    def work(c):
        return c if engine == "cython" else dataclasses.replace(c, n_threads=0)
    want = work(dataclasses.replace(case, **changes))
    for (other, other_engine), benchmark in RESULTS.items():
        if other_engine == engine and work(other) == want:
            return _min_seconds(benchmark)
    return None


def _ratios():
    """(case, engine, seconds, x_floor, x_numpy, x_sklearn, x_float64) for every measured
    case, in the order they ran (gdfast/_cli/bench.py's table order)."""
    rows = []
    for (case, engine), benchmark in RESULTS.items():
        seconds = _min_seconds(benchmark)
        if seconds is None:
            continue
        x_numpy = x_sklearn = x_float64 = None
        if engine == "cython":
            numpy, sklearn = _seconds("numpy", case), _seconds("sklearn", case)
            x_numpy = numpy / seconds if numpy else None
            x_sklearn = sklearn / seconds if sklearn else None
            if case.dtype == "float32":
                float64 = _seconds("cython", case, dtype="float64")
                x_float64 = seconds / float64 if float64 else None
        rows.append((case, engine, seconds, seconds / floor(case.shape), x_numpy, x_sklearn,
                     x_float64))
    return rows


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    # x_numpy needs both engines' times, so the ratios are only known once every case has
    # run; they must be in extra_info before pytest-benchmark saves its JSON, which it does
    # in its own pytest_sessionfinish, inside this wrapper.
    for case, engine, seconds, x_floor, *others in _ratios():
        extra = RESULTS[(case, engine)].extra_info
        extra["x_floor"] = x_floor
        for name, value in zip(("x_numpy", "x_sklearn", "x_float64"), others):
            if value is not None:
                extra[name] = value
    yield


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own table
def pytest_terminal_summary(terminalreporter):
    rows = _ratios()
    if not rows:
        return
    tr = terminalreporter
    tr.section("gdfast: one epoch, against the X @ w floor, the NumPy reference and "
               "scikit-learn")
    blas = _bench.machine_info()["blas"]
    for shape in dict.fromkeys(row[0].shape for row in rows):
        n_samples, n_features = _bench.SHAPES[shape]
        samples = FLOOR_SAMPLES[shape]
        tr.write_line(f"floor {shape} ({n_samples} x {n_features}): X @ w = {floor(shape):.3e} s "
                      f"(fastest of {len(samples)} measurements spread over the run; median "
                      f"{np.median(samples):.3e} s, slowest {max(samples):.3e} s; BLAS: {blas})")
    tr.write_line("")
    width = max(len(row[0].name) for row in rows)
    header = (f"{'case':<{width}} {'engine':<8} {'s/epoch':>11} {'x floor':>9} {'vs numpy':>9} "
              f"{'vs sklearn':>10} {'f32/f64':>7}")
    tr.write_line(header)
    tr.write_line("-" * len(header))
    for case, engine, seconds, x_floor, x_numpy, x_sklearn, x_float64 in rows:
        vs_numpy = f"{x_numpy:.1f}x" if x_numpy is not None else "-"
        vs_sklearn = f"{x_sklearn:.1f}x" if x_sklearn is not None else "-"
        f32 = f"{x_float64:.2f}" if x_float64 is not None else "-"
        tr.write_line(f"{case.name:<{width}} {engine:<8} {seconds:>11.4e} {x_floor:>9.1f} "
                      f"{vs_numpy:>9} {vs_sklearn:>10} {f32:>7}")
    tr.write_line("vs numpy, vs sklearn: their s/epoch / gdfast's (how many times faster gdfast "
                  "is); x floor: s/epoch / X @ w;")
    tr.write_line("f32/f64: float32 s/epoch / float64 s/epoch of the same case.")
