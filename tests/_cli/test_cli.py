"""The command line: `--version`, `demo`, `compare` on built-in sets and on the user's
.csv/.npy files, the `gdfast` console script, and one clear line with exit code 2 for bad
arguments or files."""
import importlib.metadata
import os
import re
import shutil
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gdfast
from gdfast._cli import main

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_main(monkeypatch, tmp_path, capsys, *args):
    monkeypatch.chdir(tmp_path)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def fails_with_one_line(monkeypatch, tmp_path, capsys, *args):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert len(err.strip().splitlines()) == 1, err
    return err


def assert_speaks_to_a_user(text):
    """No words about how the project is made, and no unformatted '%%'."""
    assert not re.search(r"\b(issues?|sessions?|the seed)\b", text, re.IGNORECASE), text
    assert "%%" not in text


def table_rows(out, optimizers):
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in optimizers}
    assert set(rows) == set(optimizers), out
    return rows


SOURCE_TREE = pathlib.Path(__file__).resolve().parents[2]


def test_version_prints_the_name_and_the_packages_version(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out == f"gdfast {gdfast.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", gdfast.__version__)


def test_the_installed_metadata_has_the_same_version():
    try:
        installed = importlib.metadata.version("gdfast")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("gdfast is not installed here (imported from its source tree)")
    assert installed == gdfast.__version__


@pytest.mark.skipif(not (SOURCE_TREE / "pyproject.toml").exists(),
                    reason="needs the source checkout's pyproject.toml")
def test_the_build_reads_the_version_without_importing_gdfast(tmp_path):
    """pyproject.toml takes the version from gdfast.__version__, read from the source file:
    here only pyproject.toml, the README and gdfast/__init__.py are copied, so importing
    gdfast (it has no kernel there) would fail."""
    # The build runs with the setuptools pyproject.toml requires, not whatever this venv has
    # (Python 3.11's venv comes with 65.5, which predates the license field's syntax).
    pytest.importorskip("setuptools", minversion="77")
    pyproject = (SOURCE_TREE / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert re.search(r"^version\s*=\s*\"", pyproject, re.MULTILINE) is None   # no second copy
    shutil.copy(SOURCE_TREE / "pyproject.toml", tmp_path)
    shutil.copy(SOURCE_TREE / "README.md", tmp_path)
    (tmp_path / "src" / "gdfast").mkdir(parents=True)
    shutil.copy(SOURCE_TREE / "src" / "gdfast" / "__init__.py", tmp_path / "src" / "gdfast")
    read = ("from setuptools.config.pyprojecttoml import read_configuration; "
            "print(read_configuration('pyproject.toml')['project']['version'])")
    done = subprocess.run([sys.executable, "-c", read], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == gdfast.__version__


def test_demo_runs_the_textbook_example_step_by_step(monkeypatch, tmp_path, capsys):
    code, out, _ = run_main(monkeypatch, tmp_path, capsys, "demo", "--rows", "200")
    assert code == 0
    # Step 1 from m = b = 0 with rate 0.01: gradient (-26.4, -8), so m = 0.264, b = 0.08.
    assert "       1   17.200000  -26.40000   -8.00000   0.264000   0.080000" in out
    assert "   1000    0.480748" in out
    for section in ("Batch modes", "Every optimizer"):
        assert section in out
    for name in ("adam", "adadelta", "nadam", "stochastic", "mini-batch 32", "full batch"):
        assert name in out
    assert_speaks_to_a_user(out)


def test_compare_on_a_builtin_set_prints_a_table_and_writes_curves(monkeypatch, tmp_path,
                                                                   capsys):
    code, out, err = run_main(monkeypatch, tmp_path, capsys, "compare", "diabetes",
                              "--optimizers", "sgd,momentum,adam", "--epochs", "30")
    assert code == 0
    assert "task: regression (guessed; --task to choose); batch size 32; features " \
           "standardised by the estimators (scale=True); target standardised" in out
    rows = table_rows(out, ["sgd", "momentum", "adam"])
    for row in rows.values():
        assert 0 < float(row[4]) <= 1      # R² on the training data
    # Progress: one line per optimizer on stderr.
    assert "[1/3] sgd" in err and "[3/3] adam" in err
    assert_speaks_to_a_user(out + err)
    image = tmp_path / "gdfast-compare.png"
    assert image.read_bytes()[:8] == PNG_SIGNATURE


def test_compare_standardises_a_regression_target_so_that_default_rates_compare(
        monkeypatch, tmp_path, capsys):
    """diabetes' target is about 150 (standard deviation 77). Each optimizer at its default
    rate: on the standardised target Adam's R² is close to SGD's (within 0.01 of it, near
    the least-squares 0.518); on the raw target Adam's steps of about its rate leave it far
    behind after the same epochs. The loss is on the standardised scale: 1 - R²."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression
    X, y = load_diabetes(return_X_y=True)
    best = LinearRegression().fit(X, y).score(X, y)
    assert 140 < y.mean() < 160

    def scores(*options):
        code, out, _ = run_main(monkeypatch, tmp_path, capsys, "compare", "diabetes",
                                "--optimizers", "sgd,adam", "--no-plot", *options)
        assert code == 0
        rows = table_rows(out, ["sgd", "adam"])
        return out, {name: (float(row[3]), float(row[4])) for name, row in rows.items()}

    out, standardised = scores()
    assert "features standardised by the estimators (scale=True); target standardised" in \
        out.splitlines()[1]
    assert "scaling: features standardised by the estimators (scale=True); target " \
           "standardised (mean 0, variance 1)" in " ".join(out.split())
    for loss, r2 in standardised.values():
        assert best - 0.01 < r2 <= best
        assert abs(loss - (1 - r2)) < 0.01       # mean squared error of a variance-1 target
    assert abs(standardised["adam"][1] - standardised["sgd"][1]) < 0.01

    out, raw = scores("--no-scale")
    assert "features and target as given" in out.splitlines()[1]
    assert raw["adam"][1] < 0.1 < best - 0.1 < raw["sgd"][1]
    assert raw["adam"][0] > 1000                  # the squared error in the target's units


def test_compare_every_optimizer_on_a_classification_set(monkeypatch, tmp_path, capsys):
    code, out, _ = run_main(monkeypatch, tmp_path, capsys, "compare", "iris", "--no-plot",
                            "--epochs", "20", "--batch-size", "full")
    assert code == 0
    assert "classification" in out and "accuracy" in out
    assert "; features standardised" in out and "target standardised" not in out
    from gdfast.optim import OPTIMIZER_CLASSES
    rows = table_rows(out, list(OPTIMIZER_CLASSES))
    assert all(0 <= float(row[4]) <= 1 for row in rows.values())
    assert not (tmp_path / "gdfast-compare.png").exists()


def test_compare_reads_a_csv_with_header_and_text_labels(monkeypatch, tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    labels = np.where(X[:, 0] - X[:, 2] > 0, "spam", "ham")
    lines = ["a,label,b,c"] + [f"{x[0]:.6f},{lab},{x[1]:.6f},{x[2]:.6f}"
                               for x, lab in zip(X, labels)]
    (tmp_path / "mail.csv").write_text("\n".join(lines) + "\n")
    code, out, _ = run_main(monkeypatch, tmp_path, capsys, "compare", "mail.csv", "--target",
                            "label", "--optimizers", "sgd,adam", "--png", "out.png")
    assert code == 0
    assert "120 rows x 3 features, target column 'label'" in out
    assert "task: classification" in out
    assert float(table_rows(out, ["sgd"])["sgd"][4]) > 0.9
    assert (tmp_path / "out.png").read_bytes()[:8] == PNG_SIGNATURE


def test_compare_reads_a_csv_with_windows_line_endings_and_quoted_fields(monkeypatch,
                                                                           tmp_path, capsys):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 2))
    labels = np.where(X[:, 0] + X[:, 1] > 0, '"yes, spam"', "ham")
    lines = ['"size, in cm",weight,"label"'] + [f'"{a:.6f}",{b:.6f},{lab}'
                                                 for (a, b), lab in zip(X, labels)]
    (tmp_path / "q.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    code, out, _ = run_main(monkeypatch, tmp_path, capsys, "compare", "q.csv", "--optimizers",
                            "sgd", "--no-plot")
    assert code == 0
    assert "80 rows x 2 features, target column 'label'" in out
    assert "task: classification" in out
    assert float(table_rows(out, ["sgd"])["sgd"][4]) > 0.9
    from gdfast._cli.compare import load
    X_read, y_read, _ = load(str(tmp_path / "q.csv"))
    np.testing.assert_allclose(X_read, np.round(X, 6))
    assert set(y_read) == {"yes, spam", "ham"}


def test_compare_reads_npy_and_a_headerless_csv_by_index(monkeypatch, tmp_path, capsys):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((200, 4))
    data[:, 1] = data[:, 0] * 2 - data[:, 3] + 0.01 * rng.standard_normal(200)
    np.save(tmp_path / "d.npy", data)
    np.savetxt(tmp_path / "d.csv", data, delimiter=",")
    for source in ("d.npy", "d.csv"):
        code, out, _ = run_main(monkeypatch, tmp_path, capsys, "compare", source, "--target",
                                "1", "--optimizers", "sgd", "--no-plot", "--task",
                                "regression")
        assert code == 0
        assert "target column '1'" in out
        assert float(table_rows(out, ["sgd"])["sgd"][4]) > 0.99


@pytest.mark.parametrize("content, args, message", [
    (None, ["missing.csv"], "cannot read missing.csv: no such file"),
    ("", ["f.csv"], "f.csv is empty"),
    ("a,b\n1,2\n3\n", ["f.csv"], "line 3: 1 fields where the first row has 2"),
    ("a,b,y\n1,x,0\n2,3,1\n4,5,0\n", ["f.csv"], "feature column 'b' is not numeric"),
    ("a,b,y\n1,,0\n2,3,1\n4,5,0\n", ["f.csv"], "missing or non-finite value in column 'b'"),
    ("a,y\n1,0\n2,1\n", ["f.csv", "--target", "z"], "no column named 'z'"),
    ("a,y\n1,0\n2,1\n", ["f.csv", "--target", "5"], "--target 5 is out of range"),
    ("a,y\n1,u\n2,v\n", ["f.csv", "--task", "regression"], "needs a numeric target"),
    ("x", ["f.txt"], "neither a built-in data set"),
    (None, ["iris", "--target", "0"], "--target applies to files"),
    (None, ["--optimizers", "sgd,lbfgs"], "unknown lbfgs"),
    (None, ["--batch-size", "0"], "--batch-size 0"),
    (None, ["--epochs", "0"], "--epochs must be at least 1"),
    (None, ["--tol", "-1"], "--tol -1"),
    (None, ["--learning-rate", "fast"], "--learning-rate fast"),
    (None, ["--png", "no-such-folder/c.png"], "cannot write in"),
    (None, ["--bogus"], "unrecognized arguments"),
])
def test_compare_bad_input_exits_2_with_one_line(monkeypatch, tmp_path, capsys, content, args,
                                                 message):
    if content is not None:
        name = args[0]
        (tmp_path / name).write_text(content)
    err = fails_with_one_line(monkeypatch, tmp_path, capsys, "compare", *args)
    assert message in err


def test_compare_bad_npy_exits_2(monkeypatch, tmp_path, capsys):
    np.save(tmp_path / "flat.npy", np.arange(5.0))
    assert "expected a 2-D array" in fails_with_one_line(monkeypatch, tmp_path, capsys,
                                                         "compare", "flat.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    assert "cannot read junk.npy" in fails_with_one_line(monkeypatch, tmp_path, capsys,
                                                         "compare", "junk.npy")


def test_compare_without_matplotlib_prints_the_table_and_says_how_to_get_the_curves(
        tmp_path):
    script = textwrap.dedent("""
        import sys
        sys.modules["matplotlib"] = None        # as if it were not installed
        from gdfast._cli import main
        sys.exit(main(sys.argv[1:]))
    """)

    def compare(*args):
        return subprocess.run([sys.executable, "-c", script, "compare", "textbook",
                               "--optimizers", "sgd,adam", *args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)

    hint = 'loss curves not drawn: they need matplotlib, an optional extra (pip install ' \
           '"gdfast[plot]"); --no-plot leaves them out without this note'
    for args in ((), ("--png", "no-such-folder/c.png")):      # nothing is written anyway
        done = compare(*args)
        assert done.returncode == 0, done.stderr
        table_rows(done.stdout, ["sgd", "adam"])
        assert done.stderr.strip().splitlines()[-1] == hint
        assert "written to" not in done.stdout
        assert not list(tmp_path.iterdir())
    table_only = compare("--no-plot")
    assert table_only.returncode == 0, table_only.stderr
    table_rows(table_only.stdout, ["sgd", "adam"])
    assert "matplotlib" not in table_only.stderr


def test_help_speaks_to_a_user(capsys):
    for command in ([], ["demo"], ["compare"], ["bench"]):
        with pytest.raises(SystemExit) as exit_:
            main([*command, "--help"])
        assert exit_.value.code == 0
        help_text = capsys.readouterr().out
        assert help_text.startswith("usage:")
        assert_speaks_to_a_user(help_text)


def console_script():
    return pathlib.Path(sys.executable).with_name("gdfast")


@pytest.mark.skipif(not console_script().exists() and os.environ.get("GDFAST_TEST_INSTALLED")
                    != "1", reason="the package is not installed with its scripts here")
def test_gdfast_console_script(tmp_path):
    done = subprocess.run([str(console_script()), "compare", "textbook", "--no-plot",
                           "--optimizers", "adam"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "adam" in done.stdout
    version = subprocess.run([str(console_script()), "--version"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout == f"gdfast {gdfast.__version__}\n"
    bad = subprocess.run([str(console_script()), "nonsense"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.startswith("gdfast: error:")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_compare_networks_per_optimizer_matches_the_estimators_and_draws_curves(
        monkeypatch, tmp_path, capsys):
    code, out, err = run_main(monkeypatch, tmp_path, capsys, "compare", "iris", "--model",
                              "mlp", "--hidden", "16,8", "--optimizers", "sgd,adam",
                              "--epochs", "30")
    assert code == 0
    assert "model: a network (MLPRegressor / MLPClassifier), hidden layers (16, 8)" in out
    rows = table_rows(out, ["sgd", "adam"])
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler
    from gdfast import MLPClassifier
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for name, rate in (("sgd", 0.01), ("adam", 0.001)):
        model = MLPClassifier((16, 8), optimizer=name, batch_size=32, max_iter=30, tol=1e-4,
                              n_iter_no_change=5, random_state=0).fit(X, y)
        row = rows[name]
        assert float(row[1]) == rate
        assert row[2].rstrip("+") == str(model.n_iter_)
        assert float(row[3]) == pytest.approx(model.loss_curve_[-1], rel=1e-5)
        assert float(row[4]) == pytest.approx(model.score(X, y), abs=1e-4)
    assert "[2/2] adam" in err
    assert_speaks_to_a_user(out + err)
    assert (tmp_path / "gdfast-compare.png").read_bytes()[:8] == PNG_SIGNATURE


def test_compare_network_regression_runs_every_epoch_with_tol_none(monkeypatch, tmp_path,
                                                                   capsys):
    code, out, _ = run_main(monkeypatch, tmp_path, capsys, "compare", "diabetes", "--model",
                            "mlp", "--optimizers", "adam", "--epochs", "12", "--tol", "none",
                            "--no-plot")
    assert code == 0
    assert "hidden layers (32,)" in out
    row = table_rows(out, ["adam"])["adam"]
    assert row[2] == "12+"
    assert 0 < float(row[4]) <= 1          # R² on the training data


@pytest.mark.parametrize("args, message", [
    (["--model", "mlp", "--hidden", "32,0"], "--hidden 32,0: expected positive whole numbers"),
    (["--model", "mlp", "--hidden", "a"], "--hidden a: expected positive whole numbers"),
    (["--hidden", "16"], "--hidden applies to --model mlp only"),
    (["--model", "tree"], "argument --model: invalid choice"),
])
def test_compare_bad_network_options_exit_2_with_one_line(monkeypatch, tmp_path, capsys, args,
                                                          message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "iris", "--no-plot", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def _demo_values(out):
    """The 'name = literal' lines of the demo's backpropagation section, in order (a name
    printed twice, before and after the update, gives a list of two)."""
    import ast
    section = out[out.index("2. Backpropagation"):out.index("3. Batch modes")]
    values = {}
    for line in section.splitlines():
        name, equals, literal = line.strip().partition(" = ")
        if equals and literal[:1] in "[-0123456789":
            values.setdefault(name, []).append(np.array(ast.literal_eval(literal), dtype=float))
    return section, values


def test_demo_backpropagation_numbers_are_consistent(monkeypatch, tmp_path, capsys):
    code, out, _ = run_main(monkeypatch, tmp_path, capsys, "demo", "--rows", "100")
    assert code == 0
    section, v = _demo_values(out)
    X, y = v["X"][0], v["y"][0]
    (W1, W1_new), (b1, b1_new), (W2, W2_new), (b2, b2_new) = v["W1"], v["b1"], v["W2"], v["b2"]
    # Forward, from the printed weights (six decimals: agreement to ~1e-5).
    z = X @ W1 + b1
    h = np.tanh(z)
    p = (h @ W2 + b2)[:, 0]
    close = dict(abs=2e-5)
    assert v["z"][0] == pytest.approx(z, **close) and v["h"][0] == pytest.approx(h, **close)
    assert v["p"][0] == pytest.approx(p, **close)
    assert v["L"][0] == pytest.approx(np.mean(0.5 * (p - y) ** 2), **close)
    # Backward: the gradient of each layer, here by finite differences of the loss.
    def loss(W1, b1, W2, b2):
        return np.mean(0.5 * ((np.tanh(X @ W1 + b1) @ W2 + b2)[:, 0] - y) ** 2)
    params = [W1, b1, W2, b2]
    for index, name in enumerate(("dL/dW1", "dL/db1", "dL/dW2", "dL/db2")):
        numeric = np.zeros_like(params[index])
        for position in np.ndindex(numeric.shape):
            shifted = [q.copy() for q in params], [q.copy() for q in params]
            shifted[0][index][position] += 1e-6
            shifted[1][index][position] -= 1e-6
            numeric[position] = (loss(*shifted[0]) - loss(*shifted[1])) / 2e-6
        assert v[name][0] == pytest.approx(numeric, abs=1e-5), name
    # Update: θ − 0.5·dL/dθ, and the estimator's own second step from the same start.
    for old, new, grad in ((W1, W1_new, "dL/dW1"), (b1, b1_new, "dL/db1"),
                           (W2, W2_new, "dL/dW2"), (b2, b2_new, "dL/db2")):
        assert new == pytest.approx(old - 0.5 * v[grad][0], abs=2e-6)
    from gdfast import MLPRegressor
    model = MLPRegressor((2,), activation="tanh", optimizer="sgd", learning_rate=0.5,
                         batch_size=None, alpha=0.0, shuffle=False, center=False,
                         random_state=0)
    model.partial_fit(X, y)
    assert model.coefs_[0] == pytest.approx(W1, abs=1e-6)
    model.partial_fit(X, y)
    assert model.coefs_[0] == pytest.approx(W1_new, abs=1e-6)
    assert model.intercepts_[1] == pytest.approx(b2_new, abs=1e-6)
    assert v["L after the step"][0] == pytest.approx(loss(*[model.coefs_[0],
                                                           model.intercepts_[0],
                                                           model.coefs_[1],
                                                           model.intercepts_[1]]), **close)
    difference = float(section.split("largest difference ")[1].split(".\n")[0].rstrip("."))
    assert difference < 1e-12
    assert_speaks_to_a_user(section)
