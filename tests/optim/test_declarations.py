"""Each option is declared once (its class); the kernel's tables, the NumPy twin's and the
engine's neutral config agree with those declarations."""
import inspect
import pathlib
import re

import pytest
from sklearn.utils.estimator_checks import check_param_validation

from gdfast import GDClassifier, GDRegressor
from gdfast._slow import linear as twin
from gdfast.linear_model import _engine
from gdfast.optim import OPTIMIZER_CLASSES
from gdfast.schedules import SCHEDULE_CLASSES

# The kernel's source: beside the package in a source checkout, else in the clone these tests
# came from (an installed package carries only the built modules).
CONFIG_PXD = next((path for path in (
    pathlib.Path(_engine.__file__).parents[1] / "_kernels" / "config.pxd",
    pathlib.Path(__file__).resolve().parents[2] / "src" / "gdfast" / "_kernels" / "config.pxd")
    if path.exists()), None)


def epoch_config_fields():
    """The field names of the kernel's EpochConfig struct, read from its source."""
    if CONFIG_PXD is None:
        pytest.skip("the kernel's source is not beside the tests (an installed-package run)")
    source = CONFIG_PXD.read_text()
    body = re.search(r"cdef struct EpochConfig:\n((?:    .*\n|\s*\n)+)", source).group(1)
    return {re.match(r"\s+\w+ (\w+)", line).group(1) for line in body.splitlines()
            if line.strip() and not line.strip().startswith("#")}


@pytest.mark.parametrize("build", _engine.available_kernels(), ids=lambda m: m.__name__)
def test_kernel_twin_and_classes_name_the_same_optimizers(build):
    assert list(build.OPTIMIZERS) == list(OPTIMIZER_CLASSES)
    assert list(twin.OPTIMIZERS) == list(OPTIMIZER_CLASSES)
    assert len(set(build.OPTIMIZERS.values())) == len(OPTIMIZER_CLASSES)      # distinct codes
    assert build.OPTIMIZER_STATE_ROWS == {name: cls.n_buffers
                                          for name, cls in OPTIMIZER_CLASSES.items()}


def test_kernel_step_schedules_are_the_schedules_per_update_rules():
    assert set(_engine.kernel.STEP_SCHEDULES) == {cls.step_schedule
                                                  for cls in SCHEDULE_CLASSES.values()}


def test_neutral_config_holds_every_epoch_config_field_and_nothing_else():
    assert set(_engine.NEUTRAL_CONFIG) == epoch_config_fields()


@pytest.mark.parametrize("name", OPTIMIZER_CLASSES)
def test_each_optimizer_declares_every_field_it_fills_and_every_parameter(name):
    cls = OPTIMIZER_CLASSES[name]
    optimizer = cls()
    config = optimizer.kernel_config()
    assert config.pop("optimizer") == name == cls.name
    assert set(config) == set(cls.neutral_config) == set(cls.config_fields.values())
    assert set(config) <= epoch_config_fields()
    for field, value in cls.neutral_config.items():
        assert _engine.NEUTRAL_CONFIG[field] == value          # shared fields agree
    parameters = set(inspect.signature(cls).parameters)
    assert set(cls._parameter_constraints) == parameters
    assert set(cls.config_fields) <= parameters
    assert len(optimizer.initial_buffer_values()) <= cls.n_buffers
    assert len(cls.buffer_units) == cls.n_buffers                # one unit per buffer
    assert cls.default_learning_rate > 0
    optimizer._validate_params()                                 # the defaults are valid


@pytest.mark.parametrize("name", SCHEDULE_CLASSES)
def test_each_schedule_constrains_every_parameter_and_declares_its_fields(name):
    cls = SCHEDULE_CLASSES[name]
    assert set(cls._parameter_constraints) == set(inspect.signature(cls).parameters)
    schedule = cls()
    schedule.validate(alpha=1e-4)
    config = schedule.kernel_config(1e-4)
    assert config.pop("schedule") == cls.step_schedule
    assert set(config) == set(cls.neutral_config) <= epoch_config_fields()
    for field, value in cls.neutral_config.items():
        assert _engine.NEUTRAL_CONFIG[field] == value


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_estimators_declare_a_constraint_per_parameter_and_raise_scikit_learns_error(Estimator):
    # scikit-learn's own check: one constraint per parameter, and for each a value of a wrong
    # type or out of range raises InvalidParameterError naming it, in fit and partial_fit.
    check_param_validation(Estimator.__name__, Estimator())
