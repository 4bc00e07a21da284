"""scikit-learn's estimator checks for the networks."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from gdfast import MLPClassifier, MLPRegressor

PENALTY_PER_ROW = {
    check: ("the l2 penalty of a batch is divided by its row count (scikit-learn's MLP "
            "scaling), so a row of weight 2 and the same row repeated give different "
            "penalties; without the penalty, in full batches, the check passes")
    for check in ("check_sample_weight_equivalence_on_dense_data",
                  "check_sample_weight_equivalence_on_sparse_data")
}


def expected_failures(estimator):
    return {} if estimator.alpha == 0 and estimator.batch_size is None else PENALTY_PER_ROW


@parametrize_with_checks([MLPRegressor(), MLPClassifier(),
                          MLPRegressor(alpha=0.0, batch_size=None),
                          MLPClassifier(alpha=0.0, batch_size=None, activation="tanh")],
                         expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
