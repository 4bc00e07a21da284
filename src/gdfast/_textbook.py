"""The textbook example of linear regression by gradient descent, the one data set the demo, `gdfast compare` and the plots share."""
import numpy as np


def textbook_data():
    """Five points to fit with y = m·x + b: X as a one-column matrix, and y."""
    return np.array([[1.0], [2.0], [3.0], [4.0], [5.0]]), np.array([2.0, 4.0, 5.0, 4.0, 5.0])
