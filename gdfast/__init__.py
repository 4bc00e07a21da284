"""gdfast: gradient descent for linear and logistic models, compiled, behind scikit-learn's API."""

try:
    from gdfast import _kernel  # noqa: F401  (the compiled core; there is no fallback)
except ImportError as exc:  # pragma: no cover - exercised only by a broken install
    raise ImportError(
        "gdfast's compiled kernel (gdfast._kernel) is missing or failed to load: "
        f"{exc}. gdfast has no pure-Python fallback; reinstall it with `pip install .` "
        "from the source tree (a C compiler is needed) or install a built wheel."
    ) from exc

__version__ = "0.1.0"

from gdfast._classifier import GDClassifier  # noqa: E402
from gdfast._regressor import GDRegressor  # noqa: E402
from gdfast import optim, schedules  # noqa: E402

__all__ = ["GDClassifier", "GDRegressor", "optim", "schedules"]
