"""Pictures of training: loss curves side by side, and the paths that optimizers take over the
contour of a two-parameter loss.

Drawing needs matplotlib, an optional extra: ``pip install "gdfast[plot]"``. The figures are
built without pyplot (no global state, no GUI backend), returned, and written to ``path`` when
one is given; Jupyter shows a returned figure. The path data itself (`optimizer_paths`) and the
two problems (`PROBLEMS`) need only NumPy, so they work without the extra.
"""
from dataclasses import dataclass

import numpy as np

from gdfast.linear_model._regressor import GDRegressor
from gdfast._textbook import textbook_data

__all__ = ["PROBLEMS", "TwoParameterProblem", "optimizer_paths", "plot_loss_curves",
           "plot_optimizer_paths"]

INSTALL_HINT = ('plotting needs matplotlib, an optional extra of gdfast: '
                'pip install "gdfast[plot]"')


def _new_figure(figsize):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return Figure(figsize=figsize, dpi=100, layout="constrained")


def _figure_and_axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    figure = _new_figure(figsize)
    return figure, figure.add_subplot()


@dataclass(frozen=True)
class TwoParameterProblem:
    """A least-squares problem with exactly two trained parameters, so that its loss is a
    surface one can draw and every optimizer's path a line on it.

    With fit_intercept the parameters are (slope, intercept) of one feature, else the two
    weights of two features. Training starts from zero (the textbook start, center=False).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    fit_intercept: bool
    axis_labels: tuple
    learning_rates: dict    # a constant rate per optimizer that suits this problem

    def design(self):
        """The columns whose weights are the two parameters."""
        if self.fit_intercept:
            return np.column_stack([self.X[:, 0], np.ones(len(self.y))])
        return self.X

    def loss(self, first, second):
        """Mean squared error at parameters (first, second); arrays broadcast."""
        first, second = np.broadcast_arrays(np.asarray(first, float), np.asarray(second, float))
        A = self.design()
        residuals = (A[:, 0, None] * first.ravel() + A[:, 1, None] * second.ravel()
                     - self.y[:, None])
        return np.mean(residuals ** 2, axis=0).reshape(first.shape)

    def optimum(self):
        return np.linalg.lstsq(self.design(), self.y, rcond=None)[0]

    def estimator(self, optimizer, learning_rate):
        """Full-batch descent from zero with a constant rate: one step per partial_fit."""
        return GDRegressor(optimizer=optimizer, learning_rate=learning_rate,
                           lr_schedule="constant", batch_size=None, shuffle=False,
                           center=False, fit_intercept=self.fit_intercept, tol=None)

    def parameters(self, model):
        if self.fit_intercept:
            return np.array([model.coef_[0], model.intercept_[0]])
        return np.array(model.coef_, dtype=float)


def _textbook():
    """The textbook example: y = m·x + b through five points. The intercept and slope are
    coupled (x averages 3), so the loss is a long, tilted valley."""
    X, y = textbook_data()
    return TwoParameterProblem(
        name="textbook", X=X, y=y, fit_intercept=True,
        axis_labels=("slope m", "intercept b"),
        learning_rates={"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adagrad": 1.0,
                        "rmsprop": 0.05, "adadelta": 1.0, "adam": 0.2, "adamw": 0.2,
                        "nadam": 0.2, "adamax": 0.3})


def _ill_conditioned(n_samples=100, curvature_ratio=25.0, angle_degrees=30.0, seed=0):
    """Two features whose loss curves 25 times more steeply across the valley than along it,
    with the valley turned 30° from the axes: plain descent must take small steps for the
    steep direction and so crawls along the flat one; momentum gathers speed along it, and
    the adaptive rules rescale each coordinate separately."""
    rng = np.random.default_rng(seed)
    orthonormal, _ = np.linalg.qr(rng.standard_normal((n_samples, 2)))
    angle = np.radians(angle_degrees)
    rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    # X'X/n = R' diag(1, 1/ratio) R exactly: the two curvatures are known, not sampled.
    X = np.sqrt(n_samples) * orthonormal @ np.diag([1.0, curvature_ratio ** -0.5]) @ rotation
    noise = 0.1 * rng.standard_normal(n_samples)
    y = X @ np.array([3.0, 2.0]) + noise
    return TwoParameterProblem(
        name="valley", X=X, y=y, fit_intercept=False, axis_labels=("weight w₁", "weight w₂"),
        learning_rates={"sgd": 0.9, "momentum": 0.05, "nesterov": 0.05, "adagrad": 1.0,
                        "rmsprop": 0.05, "adadelta": 1.0, "adam": 0.3, "adamw": 0.3,
                        "nadam": 0.3, "adamax": 0.3})


PROBLEMS = {"textbook": _textbook(), "valley": _ill_conditioned()}
DEFAULT_PATH_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")


def _problem(problem):
    if isinstance(problem, TwoParameterProblem):
        return problem
    if problem not in PROBLEMS:
        raise ValueError(f"problem={problem!r} is not one of {sorted(PROBLEMS)} and not a "
                         "TwoParameterProblem.")
    return PROBLEMS[problem]


def _rates(problem, learning_rates):
    return dict(problem.learning_rates, **(learning_rates or {}))


def optimizer_paths(problem="valley", optimizers=DEFAULT_PATH_OPTIMIZERS, steps=50,
                    learning_rates=None):
    """The parameters after each of `steps` full-batch steps of every optimizer, from zero.

    Returns {optimizer name: array of shape (steps + 1, 2)}, row 0 being the start. The steps
    are the estimator's own (GDRegressor.partial_fit, one full batch each). learning_rates
    maps a name to a constant rate; otherwise the problem's suited rate is used.
    """
    problem = _problem(problem)
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps={steps!r} must be a positive integer.")
    rates = _rates(problem, learning_rates)
    paths = {}
    for name in optimizers:
        if name not in rates:
            raise ValueError(f"no learning rate for optimizer {name!r}: pass "
                             f"learning_rates={{{name!r}: ...}}.")
        model = problem.estimator(name, rates[name])
        points = [np.zeros(2)]
        for _ in range(steps):
            model.partial_fit(problem.X, problem.y)
            points.append(problem.parameters(model))
        paths[name] = np.array(points)
    return paths


def plot_optimizer_paths(problem="valley", optimizers=DEFAULT_PATH_OPTIMIZERS, steps=50,
                         learning_rates=None, *, ax=None, path=None, figsize=(6.4, 4.8)):
    """Draw the loss contour of a two-parameter problem ("textbook" or "valley") and the path
    each optimizer takes over it. Returns the figure; writes it to `path` if given."""
    problem = _problem(problem)
    paths = optimizer_paths(problem, optimizers, steps, learning_rates)
    figure, ax = _figure_and_axes(ax, figsize)
    optimum = problem.optimum()
    points = np.vstack([optimum[None, :], *paths.values()])
    points = points[np.all(np.isfinite(points), axis=1)]
    # A square window around every point: with equal axis scales the valley keeps its shape.
    low, high = points.min(axis=0), points.max(axis=0)
    centre, half_width = (low + high) / 2, 0.6 * max(float(np.max(high - low)), 1e-3)
    first = np.linspace(centre[0] - half_width, centre[0] + half_width, 240)
    second = np.linspace(centre[1] - half_width, centre[1] + half_width, 240)
    grid_first, grid_second = np.meshgrid(first, second)
    surface = problem.loss(grid_first, grid_second)
    best = float(problem.loss(*optimum))
    # Levels spaced geometrically above the optimum: the valley floor shows, not just its rim.
    rise = max(float(surface.max()) - best, 1e-12)
    levels = best + np.concatenate([[-1e-9 * rise], np.geomspace(1e-3 * rise, rise, 13)])
    ax.contourf(grid_first, grid_second, surface, levels=levels, cmap="Blues_r", alpha=0.45)
    ax.contour(grid_first, grid_second, surface, levels=levels, colors="0.55",
               linewidths=0.6)
    rates = _rates(problem, learning_rates)
    for name, trace in paths.items():
        ax.plot(trace[:, 0], trace[:, 1], marker="o", markersize=2.5, linewidth=1.2,
                label=f"{name} (lr {rates[name]:g})")
    ax.plot(*optimum, marker="*", markersize=12, color="black", linestyle="none",
            label="optimum")
    ax.set_aspect("equal")    # the valley's true shape
    ax.set_xlabel(problem.axis_labels[0])
    ax.set_ylabel(problem.axis_labels[1])
    ax.set_title(f"{steps} full-batch steps from zero on the {problem.name} problem")
    ax.legend(fontsize="small")
    if path is not None:
        figure.savefig(path)
    return figure


def _curve_label(model):
    optimizer = model.get_params().get("optimizer")
    return optimizer if isinstance(optimizer, str) else type(optimizer).__name__


def plot_loss_curves(models, *, ax=None, path=None, log_scale=True, title=None,
                     figsize=(6.4, 4.8)):
    """Draw the training loss of each epoch (`loss_curve_`) of fitted estimators side by side.

    models: {label: fitted estimator}, or a sequence of fitted estimators (labelled by their
    optimizer). Returns the figure; writes it to `path` if given.
    """
    if not hasattr(models, "items"):
        models = {f"{i}: {_curve_label(model)}": model for i, model in enumerate(models, 1)}
    if not models:
        raise ValueError("plot_loss_curves needs at least one fitted estimator.")
    for label, model in models.items():
        if not hasattr(model, "loss_curve_"):
            raise ValueError(f"{label!r} has no loss_curve_: fit it first.")
    figure, ax = _figure_and_axes(ax, figsize)
    for label, model in models.items():
        epochs = np.arange(1, len(model.loss_curve_) + 1)
        ax.plot(epochs, model.loss_curve_, marker="o" if len(epochs) < 30 else None,
                markersize=3, label=str(label))
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (mean over the epoch's batches)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    if path is not None:
        figure.savefig(path)
    return figure
