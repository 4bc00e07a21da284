"""AdamW: Adam with decoupled weight decay."""
from gdfast.optim.adam import Adam


class AdamW(Adam):
    """θ ← θ(1 − γλ) before the Adam step."""

    name = "adamw"

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False, weight_decay=1e-2,
                 lazy=False):
        super().__init__(beta1=beta1, beta2=beta2, eps=eps, amsgrad=amsgrad,
                         weight_decay=weight_decay, lazy=lazy)
