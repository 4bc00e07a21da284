"""The parameter layout of a linear model, declared once for the Python side: one flat
vector holding, for each output, its n_features weights followed by its intercept (the
compiled kernel's gdfast/_kernels/layout.pxd is the same rule)."""
import numpy as np


def output_len(n_features):
    """Entries per output: the weights, then the intercept."""
    return n_features + 1


def n_outputs(n_params, n_features):
    """How many outputs a flat vector of n_params entries holds (check
    holds_whole_outputs first)."""
    return n_params // output_len(n_features)


def holds_whole_outputs(n_params, n_features):
    """Whether n_params entries are one or more whole outputs of n_features weights."""
    return n_params > 0 and n_params % output_len(n_features) == 0


def by_output(coef, n_features):
    """A view of flat parameters as one row per output: [:, :n_features] are the weights,
    [:, n_features] the intercepts."""
    return coef.reshape(-1, output_len(n_features))


def zeros(n_outputs, n_features, dtype):
    """Flat parameters of n_outputs outputs, all zero."""
    return np.zeros(n_outputs * output_len(n_features), dtype=dtype)


def is_weight(n_outputs, n_features):
    """True on each output's weights, False on the intercept that ends its row."""
    return np.arange(n_outputs * output_len(n_features)) % output_len(n_features) != n_features
