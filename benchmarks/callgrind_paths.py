"""A short fixed workload of the epoch loop's dense paths, for instruction counts.

Wall-clock on a shared machine is noisy; the instructions an epoch executes are not. Run
under callgrind, counting only inside the kernel's epoch loop; the script asks callgrind for
a profile after each path (callgrind_control), then sum them:

    python benchmarks/callgrind_paths.py --data /tmp/cg-data      # once: the arrays
    valgrind --tool=callgrind --toggle-collect='*epoch_loop*' \
        --callgrind-out-file=/tmp/cg python benchmarks/callgrind_paths.py --data /tmp/cg-data
    python benchmarks/callgrind_paths.py --sum /tmp/cg

The n-th profile (cg.n) is the n-th path of --list, EPOCHS epochs of it.
"""
import glob
import os
import re
import subprocess
import sys

import numpy as np

EPOCHS = 3
SHAPES = ((20_000, 100), (100_000, 10))
DTYPES = ("float64", "float32")
# (name, optimizer, batch size (None: full batch), centred)
PATHS = (("sgd-1", "sgd", 1, False), ("sgd-1-centred", "sgd", 1, True),
         ("adam-1", "adam", 1, False), ("sgd-32", "sgd", 32, False),
         ("adam-32-centred", "adam", 32, True), ("sgd-full", "sgd", None, False))


def cases():
    for n_samples, n_features in SHAPES:
        for dtype in DTYPES:
            for name, optimizer, batch, centred in PATHS:
                yield f"{n_samples}x{n_features} {dtype} {name}", (
                    n_samples, n_features, dtype, optimizer, batch, centred)


def data(directory, n_samples, n_features, dtype):
    """The arrays of a shape, made once and saved: drawing them under callgrind would take
    longer than the epochs."""
    path = os.path.join(directory, f"{n_samples}x{n_features}-{dtype}.npz")
    if not os.path.exists(path):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n_samples, n_features)).astype(dtype)
        np.savez(path, X=X, y=(X @ rng.standard_normal(n_features)).astype(dtype))
    arrays = np.load(path)
    return arrays["X"], arrays["y"]


def run(directory, n_samples, n_features, dtype, optimizer, batch, centred):
    from gdfast.linear_model import _engine
    X, y = data(directory, n_samples, n_features, dtype)
    config = dict(loss="squared_error", optimizer=optimizer, batch_size=batch or n_samples,
                  n_threads=1, shuffle=True, fit_intercept=True, learning_rate=1e-4,
                  unit_weights=True, center=centred)
    mean = X.mean(axis=0) if centred else np.zeros(n_features, dtype=dtype)
    coef = np.zeros(n_features + 1, dtype=dtype)
    state = np.zeros((_engine.state_rows(optimizer), n_features + 1), dtype=dtype)
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    order = np.arange(n_samples, dtype=np.intp)
    for _ in range(EPOCHS):
        status, *_ = _engine.run_epoch("cython", X, y, np.ones(n_samples, dtype=dtype), coef,
                                       state, scalars, order, config, 0, 12345, mean=mean)
        assert status == _engine.STATUS_OK


def sum_profiles(prefix):
    """Instructions per path from callgrind's per-dump files prefix.1, prefix.2, ..."""
    files = sorted(glob.glob(prefix + ".*"), key=lambda f: int(f.rsplit(".", 1)[1]))
    for path, (name, _) in zip(files, cases()):
        with open(path) as f:
            count = int(re.search(r"^summary: (\d+)", f.read(), re.M).group(1))
        print(f"{name:40s} {count:>14,d}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sum"]:
        sum_profiles(sys.argv[2])
    elif sys.argv[1:2] == ["--list"]:
        print("\n".join(name for name, _ in cases()))
    elif sys.argv[1:2] == ["--data"]:
        for _, args in cases():
            run(sys.argv[2], *args)
            # Under callgrind: a profile of this path alone (outside it, harmless).
            subprocess.run(["callgrind_control", "-d", str(os.getpid())],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
