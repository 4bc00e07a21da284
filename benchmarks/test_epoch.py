"""One training epoch of every case of gdfast/_cli/bench.py (`python -m gdfast bench`): the
compiled kernel, its NumPy reference for sgd and adam, and scikit-learn's per-sample SGD.
conftest.py parametrizes `case, engine` with the sizes chosen by GDFAST_BENCH_SIZES."""
from gdfast._cli import bench as _bench


def test_epoch(benchmark, datasets, results, case, engine):
    dataset = datasets(case.shape)
    if engine == "sklearn":
        epoch = _bench.sklearn_epoch_function(case, dataset.data)
    else:
        # Raises if the epoch reports a failure or leaves a non-finite coefficient.
        epoch = _bench.epoch_function(case, dataset.data, engine)
    if engine == "numpy" and case.path != "full-batch":
        # A Python step per row or batch: seconds per epoch on the large shapes, so a fixed,
        # small number of rounds rather than pytest-benchmark's calibration.
        rounds = 1 if case.shape not in _bench.SIZES["small"] else 3
        benchmark.pedantic(epoch, rounds=rounds, iterations=1, warmup_rounds=0)
    else:
        benchmark(epoch)
    results[(case, engine)] = benchmark
    dataset.measure_floor(repeats=5)
