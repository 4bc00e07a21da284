"""Type stubs for gdfast._kernels.statistics."""
import numpy as np
import numpy.typing as npt

_Floating = np.float32 | np.float64

def sample_statistics(
    X: npt.NDArray[_Floating], n_runs: int, run: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...

def shifted_moments(
    X: npt.NDArray[_Floating],
    sample_weight: npt.NDArray[_Floating] | None,
    shift: npt.NDArray[np.float64],
    distances: npt.NDArray[np.float32] | None = ...,
    n_threads: int = ...,
    distance_scale: npt.NDArray[np.float64] | None = ...,
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...

def row_norm_sums(
    X: npt.NDArray[_Floating],
    sample_weight: npt.NDArray[_Floating] | None,
    mean: npt.NDArray[np.float64],
    inv_scale: npt.NDArray[np.float64],
    intercept_term: float,
    rows: npt.NDArray[np.intp] | None = ...,
) -> tuple[float, float]: ...

def rows_at_least(
    distances: npt.NDArray[np.float32], threshold: float,
) -> npt.NDArray[np.intp]: ...

def farthest_rows(
    distances: npt.NDArray[np.float32], k: int,
) -> npt.NDArray[np.intp]: ...

def first_nonfinite(X: npt.NDArray[_Floating]) -> tuple[int, int] | None: ...

COLUMN_SUMS_BYTES: int

def csr_moments(
    data: npt.NDArray[_Floating],
    indices: npt.NDArray[np.int32],
    indptr: npt.NDArray[np.intp],
    sample_weight: npt.NDArray[np.float64],
    n_features: int,
    max_abs: npt.NDArray[np.float64] | None = ...,
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]] | None: ...

def csr_row_norm_sums(
    data: npt.NDArray[_Floating],
    indices: npt.NDArray[np.int32],
    indptr: npt.NDArray[np.intp],
    sample_weight: npt.NDArray[np.float64],
    inv_scale: npt.NDArray[np.float64],
    intercept_term: float,
) -> tuple[float, float] | None: ...

