"""gdfast: gradient descent for linear and logistic models and multilayer perceptrons, compiled,
behind scikit-learn's API."""
import pathlib as _pathlib

# The one declaration of the version: pyproject.toml reads this line (without importing).
__version__ = "0.1.0"

try:
    from gdfast._kernels import linear as _kernel  # noqa: F401  (no pure-Python fallback)
except ImportError as _exc:
    _here = _pathlib.Path(__file__).resolve().parent
    _root = _here.parent.parent
    if _here.parent.name == "src" and (_root / "pyproject.toml").exists():
        # A source checkout on the import path (PYTHONPATH=src, or Python started in src/).
        raise ImportError(
            f"gdfast was imported from its source tree ({_here}), which holds no compiled "
            f"kernel. Install it with `pip install .` in {_root} and import the installed "
            "copy (leave src/ off PYTHONPATH and start Python outside src/), or build it in "
            "place for development with `pip install -e .`.") from _exc
    raise ImportError(
        f"gdfast's compiled kernel (gdfast._kernels.linear) failed to load: {_exc}. gdfast has "
        "no pure-Python fallback; reinstall it (`pip install gdfast`, or `pip install .` from "
        "a source checkout, which needs a C compiler).") from _exc

from gdfast.linear_model import GDClassifier, GDRegressor  # noqa: E402
from gdfast.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from gdfast import optim, schedules  # noqa: E402

__all__ = ["GDClassifier", "GDRegressor", "MLPClassifier", "MLPRegressor", "optim",
           "schedules"]
