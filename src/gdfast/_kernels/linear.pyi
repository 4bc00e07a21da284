"""Type stubs for gdfast._kernels.linear (and linear_avx2, the same module built for AVX2)."""
from typing import Any, Final

import numpy as np
import numpy.typing as npt

LOSSES: Final[dict[str, int]]
MULTICLASS: Final[dict[str, int]]
OPTIMIZERS: Final[dict[str, int]]
STEP_SCHEDULES: Final[dict[str, int]]
OPTIMIZER_STATE_ROWS: Final[dict[str, int]]
STATUS_OK: Final[int]
STATUS_NONFINITE: Final[int]
STATUS_INTERRUPTED: Final[int]
SCALAR_STATE_SIZE: Final[int]
SPARSE_STEP_KINDS: Final[dict[int, str]]
IDLE_TABLE_LIMIT: Final[int]

_Floating = np.float32 | np.float64

def run_epoch(
    X: npt.NDArray[_Floating],
    y: npt.NDArray[_Floating],
    sample_weight: npt.NDArray[_Floating] | None,
    mean: npt.NDArray[_Floating],
    coef: npt.NDArray[_Floating],
    state: npt.NDArray[_Floating],
    scalars: npt.NDArray[np.float64],
    order: npt.NDArray[np.intp],
    config: dict[str, int | float | bool],
    t: int,
    rng_state: int,
    inv_scale: npt.NDArray[_Floating] | None = None,
) -> tuple[int, float, int, int, float]:
    """One epoch in place on coef, state, scalars and order; returns
    (status, sum of weighted losses, updates taken, generator state, last learning rate)."""

def batch_gradient(
    X: npt.NDArray[_Floating],
    y: npt.NDArray[_Floating],
    sample_weight: npt.NDArray[_Floating] | None,
    mean: npt.NDArray[_Floating],
    coef: npt.NDArray[_Floating],
    rows: npt.NDArray[np.intp],
    config: dict[str, int | float | bool],
    inv_scale: npt.NDArray[_Floating] | None = None,
) -> tuple[npt.NDArray[_Floating], float]:
    """(Σ over rows of weight · dL/dp · (z, 1) per output, Σ of weighted losses), at coef,
    z = x − mean (with config["center"]) times inv_scale (with config["scale"]); no
    penalty, not divided by the number of rows."""

def optimizer_step(
    coef: npt.NDArray[_Floating],
    gradient: npt.NDArray[_Floating],
    state: npt.NDArray[_Floating],
    scalars: npt.NDArray[np.float64],
    decay_mask: npt.NDArray[np.uint8],
    config: dict[str, int | float | bool],
    t: int,
) -> tuple[int, float]:
    """Update t + 1 in place on coef, state and scalars, penalties and weight decay where
    decay_mask is non-zero; returns (t + 1, the update's learning rate)."""

def optimizer_steps(
    coef: npt.NDArray[_Floating],
    gradient: npt.NDArray[_Floating],
    state: npt.NDArray[_Floating],
    scalars: npt.NDArray[np.float64],
    config: dict[str, int | float | bool],
    t: int,
    n_steps: int,
) -> tuple[int, float]:
    """Updates t + 1 .. t + n_steps in place on one output's coef (weights, then intercept),
    state and scalars, each from the same gradient, no row read; returns (t + n_steps, the
    last update's learning rate)."""

def _split_batches_on_one_thread(seconds: float) -> None:
    """For tests: split batches run their chunks on one thread for the next `seconds`."""

def _threads_verdict(batch_ns: int, chunk_ns: npt.NDArray[np.int64], n_rows: int) -> int:
    """For tests: whether a split batch of n_rows rows whose chunks took chunk_ns and which
    took batch_ns paid against one thread (1), lost (-1) or neither (0)."""

def logistic_chain(scores: npt.NDArray[np.float64], coupling: float) -> float:
    """Σ a_i, a_i = sigmoid(scores[i] + coupling·a_(i-1)), each waiting on the last (the
    per-sample log loss's exp and division, timed alone as a benchmark bound)."""

def read_rows_in_order(
    X: npt.NDArray[_Floating], order: npt.NDArray[np.intp], w: npt.NDArray[_Floating],
    y: npt.NDArray[_Floating] | None = None,
) -> float:
    """Σ X[order[i]]·w (+ y[order[i]] with y) on one core with the epoch loop's
    prefetching (a benchmark bound)."""

def cpu_supports_avx2_fma() -> bool: ...

class CSRRows:
    """A CSR matrix's arrays (float data, int32 indices, intp indptr), checked once."""
    data: npt.NDArray[_Floating]
    indices: npt.NDArray[np.int32]
    indptr: npt.NDArray[np.intp]
    n_features: int
    max_row_nnz: int
    distinct: bool
    @property
    def n_samples(self) -> int: ...
    def __init__(
        self,
        data: npt.NDArray[_Floating],
        indices: npt.NDArray[np.int32],
        indptr: npt.NDArray[np.intp],
        n_features: int,
    ) -> None: ...

def run_epoch_csr(
    rows: CSRRows,
    y: npt.NDArray[_Floating],
    sample_weight: npt.NDArray[_Floating] | None,
    coef: npt.NDArray[_Floating],
    state: npt.NDArray[_Floating],
    scalars: npt.NDArray[np.float64],
    order: npt.NDArray[np.intp],
    config: dict[str, int | float | bool],
    t: int,
    rng_state: int,
    average: npt.NDArray[_Floating],
    average_start: int,
    inv_scale: npt.NDArray[_Floating] | None = None,
) -> tuple[int, float, int, int, float]:
    """run_epoch over CSR rows (trained uncentred; scaled with config["scale"])."""

def sparse_update_kind(config: dict[str, int | float | bool]) -> str:
    """'lazy sgd', 'lazy compact' or 'dense step': how run_epoch_csr updates under config."""

def read_csr_rows_in_order(
    rows: CSRRows, order: npt.NDArray[np.intp], w: npt.NDArray[np.float64]
) -> float:
    """Σ x_order[i]·w over float64 CSR rows with the CSR epochs' prefetching (a bound)."""
def update_csr_records_in_order(
    rows: CSRRows, order: npt.NDArray[np.intp], record_bytes: int
) -> float:
    """Each row's non-zeros' column records read and written, as a compact mini-batch (a bound)."""
def repeat_optimizer_steps(config: dict[str, Any], n: int, repeats: int) -> npt.NDArray[np.float64]:
    """`repeats` in-cache updates of a rule on n parameters (its arithmetic alone)."""
def csr_column_records(
    config: dict[str, Any], n_samples: int, n_features: int, nnz: int, n_outputs: int = ...,
    itemsize: int = ...,
) -> tuple[int, str | None]:
    """A compact mini-batch's column record size and how its idle state is caught up."""
