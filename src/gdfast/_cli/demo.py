"""What `python -m gdfast demo` shows: the textbook example, one step of backpropagation on
a tiny network (gdfast._cli.demo_network), then each batch mode on a
synthetic regression and classification problem, through the compiled kernel and through
the NumPy reference, with the loss each reached and the time each took."""
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from gdfast import GDClassifier, GDRegressor
from gdfast._cli import demo_network
from gdfast.linear_model import _engine
from gdfast._textbook import textbook_data
from gdfast.optim import OPTIMIZER_CLASSES

ENGINES = ("cython", "numpy")
# Rows per update, and a constant learning rate that suits it on standardised data.
BATCH_MODES = {
    "regression": [("stochastic", 1, 0.005), ("mini-batch 32", 32, 0.05), ("full batch", None, 0.3)],
    "classification": [("stochastic", 1, 0.01), ("mini-batch 32", 32, 0.2), ("full batch", None, 2.0)],
}


def timed_fit(model, X, y):
    """Fit and time it. Fits that stop above their optimum warn of it; the tables here show
    their losses beside the optimum instead."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, time.perf_counter() - start


def textbook_steps(x, y, shown=(1, 2, 3, 4, 5, 10, 100, 1000)):
    """Full-batch descent one step at a time (partial_fit runs one epoch, here one step):
    forward (predictions and loss), backward (the gradient), update."""
    print("   Each step: predict p = m·x + b and the loss MSE = mean (p − y)² (forward), its")
    print("   gradient dMSE/dm = mean 2(p − y)·x, dMSE/db = mean 2(p − y) (backward), then")
    print("   m ← m − 0.01·dMSE/dm and b ← b − 0.01·dMSE/db (update).\n")
    print(f"   {'step':>5} {'MSE before':>11} {'dMSE/dm':>10} {'dMSE/db':>10} "
          f"{'m after':>10} {'b after':>10}")
    model = GDRegressor(learning_rate=0.01, batch_size=None, lr_schedule="constant",
                        shuffle=False, center=False)
    m = b = 0.0
    for step in range(1, max(shown) + 1):
        residual = m * x.ravel() + b - y
        gradient = (np.mean(2 * residual * x.ravel()), np.mean(2 * residual))
        model.partial_fit(x, y)
        m, b = model.coef_[0], model.intercept_[0]
        if step in shown:
            print(f"   {step:>5} {model.loss_curve_[-1]:>11.6f} {gradient[0]:>10.5f} "
                  f"{gradient[1]:>10.5f} {m:>10.6f} {b:>10.6f}")
    print()


def textbook_example():
    x, y = textbook_data()
    print("1. The textbook example: y = m·x + b on five points, full-batch gradient descent")
    print("   from m = b = 0, learning rate 0.01, 1000 steps, mean squared error.\n")
    textbook_steps(x, y)
    print(f"   {'engine':<8} {'m':>10} {'b':>10} {'final MSE':>11} {'steps':>6} {'time (s)':>9}")
    for engine in ENGINES:
        model, seconds = timed_fit(GDRegressor(learning_rate=0.01, batch_size=None, max_iter=1000,
                                               tol=None, shuffle=False, center=False,
                                               engine=engine), x, y)
        mse = np.mean((model.predict(x) - y) ** 2)
        print(f"   {engine:<8} {model.coef_[0]:>10.6f} {model.intercept_[0]:>10.6f} "
              f"{mse:>11.6f} {model.t_:>6} {seconds:>9.4f}")
    exact = np.polyfit(x.ravel(), y, 1)
    print(f"   least squares: m = {exact[0]:.6f}, b = {exact[1]:.6f} "
          "(1000 small steps are not yet all the way there)\n")


def synthetic_problems(n_samples, n_features=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal(n_features)
    y_reg = X @ w + 1.0 + 0.5 * rng.standard_normal(n_samples)
    y_clf = (X @ w + rng.standard_normal(n_samples) > 0).astype(int)
    return X, y_reg, y_clf


def batch_modes_table(n_samples):
    X, y_reg, y_clf = synthetic_problems(n_samples)
    Xb = np.column_stack([X, np.ones(n_samples)])
    best_mse = np.mean((Xb @ np.linalg.lstsq(Xb, y_reg, rcond=None)[0] - y_reg) ** 2)
    print(f"3. Batch modes on synthetic data ({n_samples} rows × {X.shape[1]} features), "
          "constant learning rates,\n   stopping when the epoch loss stops improving (tol=1e-4).")
    print(f"   Least-squares optimum of the regression: MSE {best_mse:.5f}.\n")
    header = (f"   {'problem':<15} {'batch mode':<14} {'engine':<7} {'epochs':>6} "
              f"{'final loss':>11} {'time (s)':>9} {'speed-up':>9}")
    print(header)
    print("   " + "-" * (len(header) - 3))
    for problem, Estimator, y in (("regression", GDRegressor, y_reg),
                                  ("classification", GDClassifier, y_clf)):
        for mode, batch_size, learning_rate in BATCH_MODES[problem]:
            fits = {engine: timed_fit(Estimator(learning_rate=learning_rate,
                                                batch_size=batch_size, lr_schedule="constant",
                                                max_iter=1000, tol=1e-4, random_state=0,
                                                engine=engine), X, y)
                    for engine in ENGINES}
            for engine, (model, seconds) in fits.items():
                speed_up = (f"{fits['numpy'][1] / seconds:>8.0f}×" if engine == "cython" else "")
                print(f"   {problem:<15} {mode:<14} {engine:<7} {model.n_iter_:>6} "
                      f"{model.loss_curve_[-1]:>11.5f} {seconds:>9.4f} {speed_up:>9}")
    print("\n   'final loss' is the mean training loss over the last epoch (squared error or "
          "log loss);\n   'speed-up' is how many times faster the compiled kernel took the "
          "same steps\n   as the NumPy reference. At a constant rate the stochastic steps' "
          "noise keeps the loss\n   above the optimum (the estimator warns of it; this table "
          "leaves the warnings out);\n   the default schedule lowers the rate instead.")


def optimizers_table(n_samples, epochs=10):
    X, y_reg, _ = synthetic_problems(n_samples, seed=1)
    X = X * np.linspace(0.1, 10, X.shape[1])       # features on different scales
    Xb = np.column_stack([X, np.ones(n_samples)])
    best_mse = np.mean((Xb @ np.linalg.lstsq(Xb, y_reg, rcond=None)[0] - y_reg) ** 2)
    print(f"\n4. Every optimizer, {epochs} epochs of mini-batch 32 on the regression with its "
          "features rescaled\n   from 0.1 to 10, trained on them as they are (scale=False): "
          "an ill-conditioned valley.\n   The adaptive rules at their standard learning "
          "rates, the plain-gradient family at\n   1e-3 (their steps must stay below 2/L "
          "here).")
    print(f"   Least-squares optimum: MSE {best_mse:.5f}.\n")
    print(f"   {'optimizer':<10} {'learning rate':>13} {'MSE after':>12} {'time (s)':>9}")
    for name in OPTIMIZER_CLASSES:
        # The plain-gradient family needs a rate below 2/L for this valley; the adaptive
        # rules rescale each coordinate and take their usual defaults.
        rate = 1e-3 if name in ("sgd", "momentum", "nesterov") else "auto"
        model, seconds = timed_fit(GDRegressor(optimizer=name, learning_rate=rate,
                                               batch_size=32, max_iter=epochs, tol=None,
                                               scale=False, random_state=0), X, y_reg)
        mse = np.mean((model.predict(X) - y_reg) ** 2)
        print(f"   {name:<10} {model.learning_rates_[0]:>13g} {mse:>12.5f} {seconds:>9.4f}")
    print("\n   An adaptive rule moves each coefficient by about its learning rate per update,"
          " whatever\n   the gradient (AdaGrad's steps also shrink as 1/√t): the features "
          "rescaled to 0.1 need\n   coefficients ten times as large, further than 10 epochs "
          "take AdaGrad and Adam at\n   their standard rates. The plain-gradient family's "
          "rate is bounded by the steepest\n   direction instead, and crawls along the "
          "flattest.")


def run(n_samples=10_000):
    print("gdfast demo: the same gradient descent, compiled (engine='cython') and in plain "
          "NumPy (engine='numpy').")
    print(f"Compiled kernel in use: {_engine.kernel.__name__}.\n")
    textbook_example()
    demo_network.walkthrough()
    batch_modes_table(n_samples)
    optimizers_table(n_samples)
