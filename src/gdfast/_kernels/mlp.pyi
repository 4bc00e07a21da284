"""Type stubs for gdfast._kernels.mlp, the network kernel."""
from typing import Final, Sequence

import numpy as np
import numpy.typing as npt

ACTIVATIONS: Final[dict[str, int]]
OUTPUTS: Final[dict[str, int]]
STATE_ROWS: Final[dict[int, int]]
STATUS_OK: Final[int]
STATUS_NONFINITE: Final[int]

_Floating = np.float32 | np.float64

def parameter_layout(layer_sizes: Sequence[int]) -> tuple[list[int], int]: ...
def run_epoch(
    X: npt.NDArray[_Floating],
    mean: npt.NDArray[_Floating],
    Y: npt.NDArray[_Floating],
    sample_weight: npt.NDArray[_Floating],
    coef: npt.NDArray[_Floating],
    state: npt.NDArray[_Floating],
    scalars: npt.NDArray[np.float64],
    order: npt.NDArray[np.intp],
    layer_sizes: npt.NDArray[np.intp],
    activation: int,
    output: int,
    config: dict[str, int | float | bool],
    t: int,
    rng_state: int,
) -> tuple[int, float, int, int, float]: ...
