"""Learning-rate schedules; they live in gdfast.optim.schedules, beside the optimizers."""
from gdfast.optim.schedules import *  # noqa: F401,F403
from gdfast.optim.schedules import __all__  # noqa: F401
