"""Choosing the torch device a command runs on: ``cpu`` (the default), ``cuda``, ``cuda:N`` or ``auto``.

On CUDA the MDLSTM levels use the wavefront backend (the C++ kernel is for CPUs); model
files are written from CPU copies, so they load on any device.
"""

from __future__ import annotations

import torch

from hwr.errors import ConfigError

CHOICES = "cpu, cuda, cuda:N or auto"


def resolve_device(name: str = "cpu", local_rank: int = 0) -> torch.device:
    """The device ``name`` stands for; ``cuda`` without an index is GPU ``local_rank`` (the
    process's rank on its machine), ``auto`` is that GPU where CUDA works and the CPU elsewhere."""
    name = name.strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name != "cuda" and not (name.startswith("cuda:") and name[5:].isdigit()):
        raise ConfigError(f"--device {name}: not a device; choose {CHOICES}")
    if not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available here (torch {torch.__version__}); use --device cpu")
    index = local_rank if name == "cuda" else int(name[5:])
    if index >= torch.cuda.device_count():
        raise ConfigError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return torch.device("cuda", index)


def device_of(module: torch.nn.Module) -> torch.device:
    """Where ``module``'s weights are."""
    return next(module.parameters()).device
