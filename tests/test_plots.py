"""gdfast.plots: the optimizer paths are the estimator's real steps, the figures are real PNGs
of the expected size (rendered with Agg), and without matplotlib a plot says how to get it."""
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gdfast import GDClassifier, GDRegressor, plots

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def png_size(path):
    """(width, height) from a PNG's header; fails unless the file is a PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def distinct_colours(path):
    from matplotlib.image import imread
    pixels = imread(path)
    return len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0))


def gradient_descent(problem, rate, steps):
    """Plain full-batch descent on the mean squared error, written out."""
    A = problem.design()
    theta, path = np.zeros(2), [np.zeros(2)]
    for _ in range(steps):
        theta = theta - rate * 2 * A.T @ (A @ theta - problem.y) / len(problem.y)
        path.append(theta)
    return np.array(path)


@pytest.mark.parametrize("name", ["textbook", "valley"])
def test_sgd_path_is_plain_gradient_descent(name):
    problem = plots.PROBLEMS[name]
    paths = plots.optimizer_paths(name, optimizers=["sgd"], steps=30)
    np.testing.assert_allclose(paths["sgd"],
                               gradient_descent(problem, problem.learning_rates["sgd"], 30),
                               rtol=1e-10, atol=1e-12)


def test_textbook_problem_is_the_seed_example():
    problem = plots.PROBLEMS["textbook"]
    np.testing.assert_allclose(problem.optimum(), [0.6, 2.2])
    # MSE at m = b = 0 is the mean of y²: 86 / 5.
    assert problem.loss(0.0, 0.0) == pytest.approx(17.2)


def test_valley_is_ill_conditioned_and_momentum_and_adam_take_other_paths():
    problem = plots.PROBLEMS["valley"]
    curvatures = np.linalg.eigvalsh(2 * problem.X.T @ problem.X / len(problem.y))
    assert curvatures[1] / curvatures[0] == pytest.approx(25)
    paths = plots.optimizer_paths("valley", optimizers=["sgd", "momentum", "adam"], steps=50)
    for name in ("momentum", "adam"):
        gap = np.max(np.linalg.norm(paths[name] - paths["sgd"], axis=1))
        assert gap > 0.5, f"{name} follows plain descent within {gap}"
    # Every path heads for the optimum.
    optimum = problem.optimum()
    for trace in paths.values():
        assert np.linalg.norm(trace[-1] - optimum) < 0.5 * np.linalg.norm(optimum)


def test_learning_rates_can_be_overridden_and_bad_arguments_are_named():
    slow = plots.optimizer_paths("valley", ["sgd"], steps=5, learning_rates={"sgd": 0.01})
    fast = plots.optimizer_paths("valley", ["sgd"], steps=5)
    assert np.linalg.norm(slow["sgd"][-1]) < np.linalg.norm(fast["sgd"][-1])
    with pytest.raises(ValueError, match="problem='ridge'"):
        plots.optimizer_paths("ridge")
    with pytest.raises(ValueError, match="steps=0"):
        plots.optimizer_paths("valley", steps=0)
    with pytest.raises(ValueError, match="no learning rate for optimizer 'lbfgs'"):
        plots.optimizer_paths("valley", ["lbfgs"])


@pytest.mark.parametrize("name", ["textbook", "valley"])
def test_optimizer_paths_figure_is_a_png_of_the_expected_size(tmp_path, name):
    target = tmp_path / f"{name}.png"
    figure = plots.plot_optimizer_paths(name, steps=20, path=target, figsize=(5, 4))
    assert png_size(target) == (500, 400)
    assert distinct_colours(target) > 50     # contours and paths, not a blank canvas
    axes = figure.axes[0]
    assert len(axes.get_legend().get_texts()) == len(plots.DEFAULT_PATH_OPTIMIZERS) + 1


def test_loss_curves_side_by_side(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * rng.standard_normal(300)
    models = {name: GDRegressor(optimizer=name, batch_size=16, max_iter=20, tol=None,
                                random_state=0).fit(X, y) for name in ("sgd", "adam")}
    target = tmp_path / "curves.png"
    figure = plots.plot_loss_curves(models, path=target, title="two optimizers")
    assert png_size(target) == (640, 480)
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["sgd", "adam"]
    for line, model in zip(lines, models.values()):
        np.testing.assert_array_equal(line.get_ydata(), model.loss_curve_)
    # A list is labelled by optimizer; drawing into given axes returns their figure.
    from matplotlib.figure import Figure
    axes = Figure().add_subplot()
    clf = GDClassifier(max_iter=5, tol=None, random_state=0).fit(X, y > 0)
    assert plots.plot_loss_curves([clf], ax=axes) is axes.figure
    assert axes.get_lines()[0].get_label() == "1: sgd"


def test_loss_curves_reject_unfitted_and_empty():
    with pytest.raises(ValueError, match="fit it first"):
        plots.plot_loss_curves({"new": GDRegressor()})
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_loss_curves({})


def test_without_matplotlib_paths_work_and_plots_say_how_to_install(tmp_path):
    script = textwrap.dedent("""
        import sys
        sys.modules["matplotlib"] = None        # as if it were not installed
        from gdfast import plots
        paths = plots.optimizer_paths("textbook", ["sgd"], steps=3)
        assert paths["sgd"].shape == (4, 2)
        try:
            plots.plot_optimizer_paths("textbook", steps=3)
        except ImportError as error:
            print(error)
        else:
            raise SystemExit("no ImportError")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'pip install "gdfast[plot]"' in done.stdout


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_loss_curves_of_networks():
    from gdfast import MLPClassifier, MLPRegressor
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    networks = [MLPRegressor((8,), optimizer="sgd", max_iter=12,
                             random_state=0).fit(X, X[:, 0] ** 2),
                MLPClassifier((8, 4), max_iter=7, random_state=0).fit(X, X[:, 1] > 0)]
    figure = plots.plot_loss_curves(networks)
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["1: sgd", "2: adam"]
    for line, network in zip(lines, networks):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, network.n_iter_ + 1))
        np.testing.assert_array_equal(line.get_ydata(), network.loss_curve_)
