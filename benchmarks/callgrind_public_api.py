"""Three epochs of one training path through the public API only, so that any two builds of
gdfast, whatever their internal layout, can be compared by callgrind's instruction counts
inside the kernel's epoch loop (load-independent, unlike wall-clock time on a shared machine):

    python benchmarks/callgrind_public_api.py make DIR         # 20,000 x 100 float64 data
    PYTHONPATH=<build> valgrind --tool=callgrind --toggle-collect='*epoch_loop*' \
        --callgrind-out-file=out python benchmarks/callgrind_public_api.py PATH DIR
    callgrind_annotate out | grep "PROGRAM TOTALS"

PATH is one of PATHS' names."""
import sys
import warnings

import numpy as np

from gdfast import GDRegressor

PATHS = {
    "sgd-1": dict(batch_size=1),
    "sgd-1-elasticnet": dict(batch_size=1, penalty="elasticnet", alpha=1e-4),
    "sgd-1-l2": dict(batch_size=1, penalty="l2", alpha=1e-4),
    "adam-1": dict(batch_size=1, optimizer="adam"),
    "sgd-1-average": dict(batch_size=1, average=True),
    "sgd-32-average": dict(batch_size=32, average=True),
    "sgd-32": dict(batch_size=32),
    "adam-32-l2": dict(batch_size=32, optimizer="adam", penalty="l2", alpha=1e-4),
    "full": dict(batch_size=None),
}
if __name__ == "__main__":
    name, folder = sys.argv[1], sys.argv[2]
    if name == "make":
        rng = np.random.default_rng(0)
        X = rng.standard_normal((20000, 100))
        np.save(f"{folder}/X.npy", X)
        np.save(f"{folder}/y.npy", X @ rng.standard_normal(100) + rng.standard_normal(20000))
        sys.exit()
    X, y = np.load(f"{folder}/X.npy"), np.load(f"{folder}/y.npy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GDRegressor(max_iter=3, tol=None, learning_rate=1e-3, lr_schedule="constant",
                    random_state=0, n_jobs=1, **PATHS[name]).fit(X, y)
