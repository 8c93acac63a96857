"""Tiny training runs for tests: a small network on 16-pixel lines, trained in seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwr.data.images import Preprocessing
from hwr.engine.config import DataConfig, InitConfig, RunConfig, SourceConfig, TrainConfig, network_fields
from hwr.network_config import NetworkConfig

TINY = {"input_block": (2, 2), "hidden_sizes": (2, 6), "subsample_sizes": (6,), "subsample_blocks": ((4, 1),)}


def tiny_run(
    manifest: Path, training: TrainConfig, network: dict[str, Any] | None = None, init: InitConfig | None = None
) -> RunConfig:
    """A run of ``network`` (NetworkConfig fields; default :data:`TINY`) on ``manifest``'s lines, 16 pixels high."""
    fields = network_fields(NetworkConfig(1, **(network or TINY)))
    return RunConfig(
        DataConfig((SourceConfig(str(manifest)),)), fields, Preprocessing(16), training, init or InitConfig()
    )
