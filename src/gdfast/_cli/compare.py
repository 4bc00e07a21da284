"""What `gdfast compare` does: train one estimator per optimizer on the same data, print a
table of how far and how fast each got, and draw their loss curves side by side. The model is
linear (GDRegressor/GDClassifier) or a network (MLPRegressor/MLPClassifier).

Data is a built-in set or the user's .csv/.npy file with a target column. Reading errors are
`DataError`s whose message is one line a user can act on.
"""
import csv
import os
import textwrap
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from gdfast.linear_model._classifier import GDClassifier
from gdfast.linear_model._regressor import GDRegressor
from gdfast.neural_network import MLPClassifier, MLPRegressor
from gdfast._textbook import textbook_data
from gdfast.optim import OPTIMIZER_CLASSES, get_optimizer

TASKS = ("auto", "regression", "classification")
MODELS = ("linear", "mlp")
# Epochs without an improvement of tol before a fit stops, for both kinds of model (the
# networks' own default is 10; one rule keeps the table's epochs comparable).
N_ITER_NO_CHANGE = 5
MAX_CLASSES_GUESSED = 20


class DataError(ValueError):
    """The data cannot be read or used; the message says why in one line."""


def _valley(n_samples=5_000, n_features=10, seed=0):
    """Regression whose features span scales 0.1 to 10: an ill-conditioned valley."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) * np.geomspace(0.1, 10, n_features)
    y = X @ rng.standard_normal(n_features) + 3.0 + 0.5 * rng.standard_normal(n_samples)
    return X, y


def _sklearn_set(loader):
    def load():
        bunch = loader()
        return bunch.data, bunch.target
    return load


def _builtin_sets():
    from sklearn import datasets    # bundled with scikit-learn: nothing is downloaded
    return {
        "valley": ("regression, 5,000 x 10, features scaled 0.1 to 10", _valley),
        "textbook": ("regression, the five points of the textbook example", textbook_data),
        "diabetes": ("regression, scikit-learn's 442 x 10 diabetes data",
                     _sklearn_set(datasets.load_diabetes)),
        "breast_cancer": ("classification, 2 classes, scikit-learn's 569 x 30 set",
                          _sklearn_set(datasets.load_breast_cancer)),
        "iris": ("classification, 3 classes, scikit-learn's 150 x 4 set",
                 _sklearn_set(datasets.load_iris)),
        "digits": ("classification, 10 classes, scikit-learn's 1,797 x 64 set",
                   _sklearn_set(datasets.load_digits)),
    }


BUILTIN_NAMES = ("valley", "textbook", "diabetes", "breast_cancer", "iris", "digits")


def load(source, target=None):
    """(X, y, description) from a built-in name or a .csv/.npy path; target names the column
    (a header name or an index, negative counting from the end; default the last)."""
    if source in BUILTIN_NAMES:
        if target is not None:
            raise DataError(f"--target applies to files; the built-in set {source!r} has its "
                            "own target")
        description, loader = _builtin_sets()[source]
        X, y = loader()
        return np.asarray(X, dtype=np.float64), y, f"{source} ({description})"
    extension = os.path.splitext(source)[1].lower()
    if extension not in (".csv", ".npy"):
        raise DataError(f"{source!r} is neither a built-in data set ({', '.join(BUILTIN_NAMES)}) "
                        "nor a .csv or .npy file")
    if not os.path.isfile(source):
        raise DataError(f"cannot read {source}: no such file")
    reader = _read_csv if extension == ".csv" else _read_npy
    columns, names = reader(source)
    column = _target_index(target, names, source)
    X = [values for i, values in enumerate(columns) if i != column]
    for i, values in enumerate(columns):
        if i != column and values.dtype.kind not in "fiu":
            raise DataError(f"{source}: feature column {names[i]!r} is not numeric")
    X = np.column_stack(X).astype(np.float64)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        row, feature = bad[0]
        feature_names = [n for i, n in enumerate(names) if i != column]
        raise DataError(f"{source}: missing or non-finite value in column "
                        f"{feature_names[feature]!r}, data row {row + 1}; "
                        f"{len(bad)} such value(s) in all")
    return X, columns[column], (f"{source} ({X.shape[0]:,} rows x {X.shape[1]} features, "
                                f"target column {names[column]!r})")


def _target_index(target, names, source):
    if target is None:
        return len(names) - 1
    if target in names:
        return names.index(target)
    try:
        index = int(target)
    except ValueError:
        raise DataError(f"{source}: no column named {target!r}; columns are "
                        f"{', '.join(map(repr, names[:12]))}"
                        + (" ..." if len(names) > 12 else "")) from None
    if not -len(names) <= index < len(names):
        raise DataError(f"{source}: --target {index} is out of range for "
                        f"{len(names)} columns")
    return index % len(names)


def _read_npy(path):
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} as a NumPy .npy file: {exc}") from None
    if data.ndim != 2 or data.shape[1] < 2 or data.shape[0] < 2:
        raise DataError(f"{path}: expected a 2-D array of at least 2 rows and 2 columns "
                        f"(features and a target), got shape {data.shape}")
    if data.dtype.kind not in "fiub":
        raise DataError(f"{path}: expected numbers, got an array of dtype {data.dtype}")
    return [data[:, i] for i in range(data.shape[1])], [str(i) for i in range(data.shape[1])]


def _as_number(text):
    try:
        return float(text)
    except ValueError:
        return None


def _read_csv(path):
    """Columns of a comma-separated file; a first row that is not all numbers is a header.
    A column with any non-number stays text (a class label column); empty cells are NaN."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path} as CSV: {exc}") from None
    if not rows:
        raise DataError(f"{path} is empty")
    has_header = any(_as_number(cell) is None for cell in rows[0] if cell.strip())
    names = ([cell.strip() for cell in rows[0]] if has_header
             else [str(i) for i in range(len(rows[0]))])
    body = rows[1:] if has_header else rows
    for line, row in enumerate(body, 2 if has_header else 1):
        if len(row) != len(names):
            raise DataError(f"{path}, line {line}: {len(row)} fields where the first row has "
                            f"{len(names)}")
    if len(body) < 2 or len(names) < 2:
        raise DataError(f"{path}: need at least 2 data rows and 2 columns (features and a "
                        "target)")
    columns = []
    for values in zip(*body):
        numbers = [np.nan if not cell.strip() else _as_number(cell) for cell in values]
        if any(number is None for number in numbers):
            columns.append(np.array([cell.strip() for cell in values]))
        else:
            columns.append(np.array(numbers, dtype=np.float64))
    return columns, names


def guess_task(y):
    """classification for text labels or a few integer values, else regression."""
    y = np.asarray(y)
    if y.dtype.kind not in "fiub":
        return "classification"
    if not np.all(np.isfinite(y)):
        raise DataError("the target column has missing or non-finite values")
    distinct = np.unique(y)
    if (np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_CLASSES_GUESSED
            and len(distinct) < 0.5 * len(y)):
        return "classification"
    return "regression"


def make_estimator(model, task, optimizer, *, batch_size, epochs, tol, learning_rate, seed,
                   hidden=(32,), scale=True):
    """The estimator `compare` trains for one optimizer: linear (scale: standardising the
    features itself) or a network (`hidden`, the units of each hidden layer; relu).
    tol=None runs every epoch."""
    common = dict(optimizer=optimizer, learning_rate=learning_rate, batch_size=batch_size,
                  max_iter=epochs, random_state=seed)
    if model == "linear":
        Estimator = GDClassifier if task == "classification" else GDRegressor
        return Estimator(tol=tol, n_iter_no_change=N_ITER_NO_CHANGE, scale=scale, **common)
    Estimator = MLPClassifier if task == "classification" else MLPRegressor
    # A network's tol is a number: "every epoch" is a patience longer than the fit.
    patience = N_ITER_NO_CHANGE if tol is not None else epochs + 1
    return Estimator(hidden_layer_sizes=tuple(hidden), tol=0.0 if tol is None else tol,
                     n_iter_no_change=patience, **common)


def learning_rate_of(model):
    """The base learning rate a fitted estimator used ('auto' resolved)."""
    if hasattr(model, "learning_rates_"):
        return model.learning_rates_[0]
    rate = model.learning_rate
    return get_optimizer(model.optimizer).default_learning_rate if rate == "auto" else rate


def model_phrase(model, hidden=(32,)):
    """How `compare` describes the model it trains, e.g. 'a network, hidden layers (32,)'."""
    if model == "linear":
        return "linear (GDRegressor / GDClassifier)"
    return (f"a network (MLPRegressor / MLPClassifier), hidden layers {tuple(hidden)}, relu, "
            "l2 alpha 1e-4")


def run(X, y, task, optimizers, *, batch_size, epochs, tol, learning_rate, seed, scale,
        model="linear", hidden=(32,), progress=lambda line: None):
    """Fit one estimator per optimizer on the same data; returns (results, X, y): a list of
    result dicts (model None if the fit failed, with the reason in 'error') and the X and y
    the models were trained on.

    scale standardises the features and, for regression, the target too: each optimizer's
    default learning rate assumes values of order one, and a target around 100 makes the
    first gradients 100 times larger, which the plain-gradient rules absorb (their step
    grows with the gradient) and the adaptive ones do not (their step is about the rate,
    whatever the gradient), so that Adam would still be far from the fit after 100 epochs.
    The linear estimators standardise the features themselves (scale=True, inside the
    kernel): X reaches them as given. The networks have no such option, so X is
    standardised for them here. R² is the same on either scale."""
    if scale and model != "linear":
        X = StandardScaler().fit_transform(X)
    if task == "regression":
        y = np.asarray(y, dtype=np.float64)
        if scale:
            y = StandardScaler().fit_transform(y.reshape(-1, 1)).ravel()
    results = []
    for number, name in enumerate(optimizers, 1):
        estimator = make_estimator(model, task, name, batch_size=batch_size, epochs=epochs,
                                   tol=tol, learning_rate=learning_rate, seed=seed,
                                   hidden=hidden, scale=scale)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                fitted = estimator.fit(X, y)
                error = None
            except ValueError as exc:
                fitted, error = None, str(exc).split(". ")[0]
        seconds = time.perf_counter() - start
        plateau = fitted is not None and not any(
            issubclass(w.category, ConvergenceWarning) for w in caught)
        results.append({"optimizer": name, "model": fitted, "seconds": seconds,
                        "error": error, "plateau": plateau})
        progress(f"[{number}/{len(optimizers)}] {name}: "
                 + (f"{fitted.n_iter_} epochs, {seconds:.2f} s" if fitted
                    else f"failed ({error})"))
    return results, X, y


def scaling_phrase(task, scale, model="linear"):
    """What `run` did to the data, e.g. 'features and target standardised'."""
    scaled = "features and target" if task == "regression" else "features"
    if not scale:
        return f"{scaled} as given"
    if model != "linear":
        return f"{scaled} standardised"
    phrase = "features standardised by the estimators (scale=True)"
    return phrase + ("; target standardised" if task == "regression" else "")


def format_table(results, X, y, task, scale=True, model_kind="linear"):
    """The table of `run`'s results; X and y are the data the models were trained on."""
    score_name = "accuracy" if task == "classification" else "R²"
    header = (f"{'optimizer':<10} {'learning rate':>13} {'epochs':>7} {'final loss':>12} "
              f"{score_name:>9} {'time (s)':>9}")
    lines = [header, "-" * len(header)]
    for r in results:
        model = r["model"]
        if model is None:
            lines.append(f"{r['optimizer']:<10} failed: {r['error']}")
            continue
        epochs = f"{model.n_iter_}" + ("" if r["plateau"] else "+")
        lines.append(f"{r['optimizer']:<10} {learning_rate_of(model):>13.4g} {epochs:>7} "
                     f"{model.loss_curve_[-1]:>12.6g} {model.score(X, y):>9.4f} "
                     f"{r['seconds']:>9.3f}")
    lines.append("")
    lines.append("epochs: until the loss stopped improving by tol for 5 epochs; '+' means "
                 "--epochs ran out first.")
    network = any(hasattr(r["model"], "coefs_") for r in results)
    lines += textwrap.wrap("final loss: the training loss of the last epoch (mean over its "
                           "batches" + ("; a network's includes its l2 penalty" if network
                                        else "") + f"); {score_name} on the training data.", 96)
    if scale:
        note = (f"{scaling_phrase(task, scale, model_kind)} (mean 0, variance 1), so that each "
                "optimizer's default learning rate suits the data")
        if task == "regression":
            note += f"; the loss is on that scale, {score_name} the same on either"
        note += ". --no-scale trains on the raw values."
    else:
        note = (f"{scaling_phrase(task, scale, model_kind)} (--no-scale): an optimizer's default learning "
                "rate may not suit values far from order one.")
    lines += textwrap.wrap("scaling: " + note, 96)
    return "\n".join(lines)


def all_optimizers():
    return tuple(OPTIMIZER_CLASSES)
