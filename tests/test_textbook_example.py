"""The textbook example: full-batch plain gradient descent on five points."""
import numpy as np
import pytest

from gdfast import GDRegressor


def textbook_loop(x, y, learning_rate=0.01, num_iterations=1000):
    """The textbook's from-scratch loop, restated: slope m and intercept b of the MSE fit."""
    m = b = 0.0
    for _ in range(num_iterations):
        residual = y - (m * x + b)
        m -= learning_rate * (-2 / x.size) * np.sum(x * residual)
        b -= learning_rate * (-2 / x.size) * np.sum(residual)
    return m, b


@pytest.mark.parametrize("engine", ["cython", "numpy"])
def test_full_batch_gd_reproduces_the_textbook_loop(engine):
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([2.0, 4.0, 5.0, 4.0, 5.0])
    m, b = textbook_loop(x, y)
    # center=False: the textbook starts from m = b = 0 on the raw x.
    model = GDRegressor(learning_rate=0.01, batch_size=None, max_iter=1000, tol=None,
                        shuffle=False, center=False, engine=engine).fit(x.reshape(-1, 1), y)
    assert abs(model.coef_[0] - m) < 1e-12
    assert abs(model.intercept_[0] - b) < 1e-12
    assert (round(m, 4), round(b, 4)) == (0.6177, 2.1361)  # the values docs/mathematics.md quotes
    assert model.n_iter_ == 1000 and model.t_ == 1000
    # The loss curve is the MSE before each step, so it falls throughout this run.
    assert np.all(np.diff(model.loss_curve_) < 0)
    first_mse = np.mean(y ** 2)
    assert model.loss_curve_[0] == pytest.approx(first_mse, rel=1e-15)
