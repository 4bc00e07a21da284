"""Multilayer perceptrons trained by gradient descent: a compiled epoch loop (forward pass,
backpropagation, the optimizer step) behind the scikit-learn API."""
from gdfast.neural_network._multilayer_perceptron import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
