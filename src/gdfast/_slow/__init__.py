"""The NumPy twin of gdfast._kernels: the same mathematics written slowly and obviously, the
tests' oracle and the benchmarks' baseline. `engine="numpy"` runs it behind the estimators."""
