"""The typed config of a training run, saved in every checkpoint it writes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from hwr.data.augmentation import Augmentation
from hwr.settings import checked_fields

Optimizer = Literal["adam", "rmsprop"]
Schedule = Literal["plateau", "cosine"]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 50
    """Upper bound on epochs; early stopping or ``max_minutes`` may end the run sooner."""
    batch_size: int = 4
    """Small batches: more updates per second of training, and the MDLSTM kernel is as fast per line at 4 as at 16."""
    optimizer: Optimizer = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    """Adam: each step also shrinks every weight by ``learning_rate * weight_decay`` of itself
    (AdamW, Loshchilov & Hutter 2019: decoupled from the gradient scaling); RMSprop: an L2
    penalty of this weight. 0 is plain Adam / RMSprop."""
    clip_norm: float = 5.0
    """Gradients are rescaled to at most this global L2 norm."""
    patience: int = 10
    """Stop after this many epochs without a better validation CER."""
    lr_patience: int | None = None
    """Multiply the learning rate by ``lr_factor`` after each run of this many epochs
    without a better validation CER (PyLaia's reduce-on-plateau); None keeps it fixed."""
    lr_factor: float = 0.5
    schedule: Schedule = "plateau"
    """``plateau``: the learning rate stays, or falls by ``lr_factor`` after ``lr_patience``
    flat epochs; ``cosine``: it falls every batch along a half cosine to 0 at the end of
    ``epochs`` (Loshchilov & Hutter 2017), so a run budgeted in epochs ends annealed
    rather than waiting for a plateau that comes late."""
    warmup_epochs: float = 0.0
    """Ramp the learning rate linearly from 0 over this many epochs first (Goyal et al.
    2017): a fresh network's first steps at the full rate can stall it on the all-blank output."""
    max_minutes: float | None = None
    """Stop (after the epoch that crosses it) once training has taken this long in total."""
    seed: int = 0
    augmentation: Augmentation | None = field(default_factory=Augmentation)
    """None turns augmentation off."""

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer must be adam or rmsprop, got {self.optimizer!r}")
        for name in ("epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0 or self.clip_norm <= 0:
            raise ValueError("learning rate and clip norm must be positive")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.lr_patience is not None and self.lr_patience < 1:
            raise ValueError(f"lr_patience must be at least 1, got {self.lr_patience}")
        if not 0 < self.lr_factor < 1:
            raise ValueError(f"lr_factor must be between 0 and 1, got {self.lr_factor}")
        if self.schedule not in ("plateau", "cosine"):
            raise ValueError(f"schedule must be plateau or cosine, got {self.schedule!r}")
        if self.schedule == "cosine" and self.lr_patience is not None:
            raise ValueError("lr_patience only applies to the plateau schedule, not to cosine")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError(f"warmup_epochs must be in [0, epochs), got {self.warmup_epochs}")

    def learning_rate_factor(self, epochs_done: float) -> float:
        """The scheduled fraction of the peak learning rate after ``epochs_done`` (fractional) epochs."""
        factor = 1.0
        if self.warmup_epochs > 0:
            factor = min(1.0, epochs_done / self.warmup_epochs)
        if self.schedule == "cosine":
            factor *= 0.5 * (1 + math.cos(math.pi * min(1.0, epochs_done / self.epochs)))
        return factor

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        values = checked_fields(cls, data, "training")
        if values.get("augmentation") is not None:
            values["augmentation"] = Augmentation.from_dict(values["augmentation"])
        return cls(**values)
