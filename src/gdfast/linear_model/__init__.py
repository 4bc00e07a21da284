"""Linear and logistic models trained by gradient descent: the estimators, the training state
they carry between epochs, and the switch between the compiled kernel and its NumPy twin."""
from gdfast.linear_model._classifier import GDClassifier
from gdfast.linear_model._regressor import GDRegressor

__all__ = ["GDClassifier", "GDRegressor"]
