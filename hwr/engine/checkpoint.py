"""Checkpoints: a model file plus what resuming needs (optimizer state, epoch, metric history).

Written atomically after every epoch, so a kill at any moment leaves the last
complete epoch's checkpoint loadable. Optimizer state goes in as tensors
(``optimizer.<param>.<key>``) and JSON, never as a pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hwr.engine.config import RunConfig, TrainConfig, network_fields
from hwr.errors import ModelFileError
from hwr.model_file import Model, read_model_file, save_model

OPTIMIZER_PREFIX = "optimizer."


@dataclass
class TrainingState:
    """Where a run stands after ``epoch`` completed epochs."""

    run: RunConfig
    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    """One row of metrics per epoch (see :mod:`hwr.engine.trainer`)."""
    best_cer: float = float("inf")
    best_epoch: int = 0
    seconds: float = 0.0
    """Training time so far, summed over resumed runs."""

    @property
    def config(self) -> TrainConfig:
        return self.run.training

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "epoch": self.epoch,
            "history": self.history,
            "best_cer": self.best_cer if self.best_cer != float("inf") else None,
            "best_epoch": self.best_epoch,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], model: Model) -> TrainingState:
        """The state saved with ``model``; records written before the run config
        (only ``config``, the training settings) take the rest from the model."""
        best = data["best_cer"]
        if "run" in data:
            run = RunConfig.from_dict(data["run"])
        else:
            run = RunConfig(
                network=network_fields(model.network.config),
                preprocessing=model.preprocessing,
                training=TrainConfig.from_dict(data["config"]),
            )
        return cls(
            run,
            int(data["epoch"]),
            list(data["history"]),
            float("inf") if best is None else float(best),
            int(data["best_epoch"]),
            float(data["seconds"]),
        )


def optimizer_to_file(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Any], dict[str, Tensor]]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, Tensor):
                tensors[f"{OPTIMIZER_PREFIX}{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return {"param_groups": state["param_groups"], "scalars": scalars}, tensors


def optimizer_from_file(header: dict[str, Any], tensors: dict[str, Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        index, key = name[len(OPTIMIZER_PREFIX) :].split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for name, value in header["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": header["param_groups"]}


def save_checkpoint(path: str | Path, model: Model, optimizer: torch.optim.Optimizer, state: TrainingState) -> None:
    optimizer_header, optimizer_tensors = optimizer_to_file(optimizer)
    header = {"training": state.to_dict(), "optimizer": optimizer_header}
    save_model(path, model, extra_header=header, extra_tensors=optimizer_tensors)


def load_checkpoint(path: str | Path) -> tuple[Model, dict[str, Any], TrainingState]:
    """The model, the optimizer's state dict and the training state of a checkpoint."""
    model, header, tensors = read_model_file(path)
    try:
        state = TrainingState.from_dict(header["training"], model)
        optimizer_state = optimizer_from_file(header["optimizer"], tensors)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a training checkpoint, cannot resume from it ({exc})") from None
    return model, optimizer_state, state
