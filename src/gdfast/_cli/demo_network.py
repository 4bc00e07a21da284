"""The demo's backpropagation walk-through: one full-batch step of plain gradient descent on
a tiny network (2 inputs, 2 tanh hidden units, 1 output) over the four XOR points, written
out in NumPy beside MLPRegressor and checked against the estimator's own step."""
import numpy as np

from gdfast.neural_network import MLPRegressor

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])
LEARNING_RATE = 0.5


def _matrix(values):
    """A vector or matrix as a Python literal with six decimals, e.g. [[0.1, -0.2]]."""
    values = np.asarray(values)
    if values.ndim == 1:
        return "[" + ", ".join(f"{v:.6f}" for v in values) + "]"
    return "[" + ", ".join(_matrix(row) for row in values) + "]"


def backpropagation(X, y, W1, b1, W2, b2):
    """Forward and backward pass of the mean loss ½(p − y)² of a 2-layer tanh network.
    Returns a dict of the forward values and the gradient of each layer."""
    z = X @ W1 + b1                     # hidden pre-activations
    h = np.tanh(z)                      # hidden activations
    p = h @ W2 + b2                     # output (identity)
    residual = p[:, 0] - y
    loss = float(np.mean(0.5 * residual ** 2))
    delta_out = residual[:, None] / len(y)             # dLoss/dp, one row per point
    grad_W2, grad_b2 = h.T @ delta_out, delta_out.sum(axis=0)
    delta_hidden = (delta_out @ W2.T) * (1.0 - h ** 2)  # back through W2, then tanh' = 1 − h²
    grad_W1, grad_b1 = X.T @ delta_hidden, delta_hidden.sum(axis=0)
    return {"z": z, "h": h, "p": p[:, 0], "loss": loss, "delta_out": delta_out[:, 0],
            "delta_hidden": delta_hidden, "grad_W1": grad_W1, "grad_b1": grad_b1,
            "grad_W2": grad_W2, "grad_b2": grad_b2}


def walkthrough():
    """Print one step of backpropagation in detail; return the largest difference between
    the NumPy update and the estimator's (float64 rounding, ~1e-16)."""
    model = MLPRegressor(hidden_layer_sizes=(2,), activation="tanh", optimizer="sgd",
                         learning_rate=LEARNING_RATE, batch_size=None, alpha=0.0,
                         shuffle=False, center=False, random_state=0)
    # The first partial_fit draws the random starting weights (and takes a step); the
    # step after it is the one written out.
    model.partial_fit(XOR_X, XOR_Y)
    W1, W2 = (W.copy() for W in model.coefs_)
    b1, b2 = (b.copy() for b in model.intercepts_)
    values = backpropagation(XOR_X, XOR_Y, W1, b1, W2, b2)
    print("2. Backpropagation on a tiny network: 2 inputs → 2 tanh hidden units → 1 output,")
    print("   the four XOR points, loss L = mean ½(p − y)², full-batch gradient descent with")
    print(f"   learning rate {LEARNING_RATE} (MLPRegressor, optimizer='sgd', alpha=0). From the "
          "weights after one")
    print("   step from a random start, the next step written out in NumPy:\n")
    print(f"   X = {_matrix(XOR_X)}")
    print(f"   y = {_matrix(XOR_Y)}")
    print(f"   W1 = {_matrix(W1)}")
    print(f"   b1 = {_matrix(b1)}")
    print(f"   W2 = {_matrix(W2)}")
    print(f"   b2 = {_matrix(b2)}\n")
    print("   Forward: z = X·W1 + b1, h = tanh z, p = h·W2 + b2")
    print(f"   z = {_matrix(values['z'])}")
    print(f"   h = {_matrix(values['h'])}")
    print(f"   p = {_matrix(values['p'])}")
    print(f"   L = {values['loss']:.6f}\n")
    print("   Backward: δ₂ = (p − y)/n, dL/dW2 = hᵀ·δ₂, dL/db2 = Σ δ₂;")
    print("   δ₁ = (δ₂·W2ᵀ) ⊙ (1 − h²), dL/dW1 = Xᵀ·δ₁, dL/db1 = Σ δ₁")
    print(f"   delta2 = {_matrix(values['delta_out'])}")
    print(f"   dL/dW2 = {_matrix(values['grad_W2'])}")
    print(f"   dL/db2 = {_matrix(values['grad_b2'])}")
    print(f"   delta1 = {_matrix(values['delta_hidden'])}")
    print(f"   dL/dW1 = {_matrix(values['grad_W1'])}")
    print(f"   dL/db1 = {_matrix(values['grad_b1'])}\n")
    expected = [W1 - LEARNING_RATE * values["grad_W1"], b1 - LEARNING_RATE * values["grad_b1"],
                W2 - LEARNING_RATE * values["grad_W2"], b2 - LEARNING_RATE * values["grad_b2"]]
    model.partial_fit(XOR_X, XOR_Y)
    found = [model.coefs_[0], model.intercepts_[0], model.coefs_[1], model.intercepts_[1]]
    difference = max(float(np.max(np.abs(a - b))) for a, b in zip(expected, found))
    after = backpropagation(XOR_X, XOR_Y, *found)["loss"]
    print(f"   Update: θ ← θ − {LEARNING_RATE}·dL/dθ")
    for name, value in zip(("W1", "b1", "W2", "b2"), expected):
        print(f"   {name} = {_matrix(value)}")
    print(f"   L after the step = {after:.6f}")
    print(f"   The estimator's own step (partial_fit) gives the same weights: largest "
          f"difference {difference:.1e}.\n")
    return difference
