"""Starting or resuming a training run from data sources: what ``hwr train`` does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.data.readers import DatasetError, LineSet, read_lines
from hwr.engine.checkpoint import TrainingState, load_checkpoint
from hwr.engine.config import TrainConfig
from hwr.engine.trainer import LAST, Trainer
from hwr.model_file import Model
from hwr.network import MDLSTMNetwork, NetworkConfig

DEFAULT_HEIGHT = 32
DEFAULT_NETWORK = {
    "input_block": (2, 2),
    "hidden_sizes": (2, 10, 50),
    "subsample_sizes": (6, 20),
    "subsample_blocks": ((4, 2), (4, 1)),
}
"""The Graves 2009 layer sizes with blocks for 32-pixel lines: the width shrinks 4x (not
18x), which leaves ~2.5 CTC frames per character of typical handwriting."""


def split_sources(
    train_source: Path, valid_source: Path | None, partition: float, seed: int
) -> tuple[LineSet, LineSet]:
    """Training and validation lines.

    With ``valid_source``, each comes from its own source (a manifest's ``train``
    and ``valid`` splits are used when it has a split column). Without, a
    manifest with a split column gives both; otherwise a random ``partition``
    of the lines (by ``seed``) trains and the rest validates, as kraken does.
    """
    data = read_lines(train_source)
    if not data.lines:
        skipped = f" ({len(data.problems)} rows skipped; first: {data.problems[0]})" if data.problems else ""
        raise DatasetError(f"{train_source}: no usable lines{skipped}")
    has_splits = any(line.split is not None for line in data.lines)
    if valid_source is not None:
        valid = read_lines(valid_source)
        if not valid.lines:
            raise DatasetError(f"{valid_source}: no usable lines")
        if any(line.split is not None for line in valid.lines):
            valid = valid.split("valid")
        return (data.split("train") if has_splits else data), valid
    if has_splits:
        train, valid = data.split("train"), data.split("valid")
        valid.problems = []  # already reported with the training lines
        if not valid.lines:
            raise DatasetError(f"{train_source}: has no 'valid' split; give --valid or another manifest")
        return train, valid
    if not 0 < partition < 1:
        raise ValueError(f"--partition must be between 0 and 1, got {partition}")
    order = np.random.default_rng(seed).permutation(len(data.lines))
    cut = max(1, min(len(order) - 1, round(partition * len(order))))
    train = LineSet([data.lines[i] for i in order[:cut]], data.problems)
    return train, LineSet([data.lines[i] for i in order[cut:]])


def train(
    train_source: Path,
    out_dir: Path,
    valid_source: Path | None = None,
    partition: float = 0.9,
    network: dict | None = None,
    preprocessing: Preprocessing | None = None,
    config: TrainConfig | None = None,
    resume: bool = False,
    log: Callable[[str], None] = print,
    progress: Callable[[int, int, int], None] | None = None,
) -> TrainingState:
    """Train a new model into ``out_dir``, or with ``resume`` continue its ``last`` checkpoint.

    ``network`` holds :class:`NetworkConfig` fields other than ``num_classes``
    (default :data:`DEFAULT_NETWORK`).
    When resuming, the checkpoint's model and settings are used, except that
    ``config.epochs`` and ``config.max_minutes`` may extend the run.
    """
    preprocessing = preprocessing or Preprocessing(DEFAULT_HEIGHT)
    config = config or TrainConfig()
    optimizer_state = None
    if resume:
        model, optimizer_state, state = load_checkpoint(out_dir / LAST)
        state.config = TrainConfig.from_dict(
            {**state.config.to_dict(), "epochs": config.epochs, "max_minutes": config.max_minutes}
        )
        log(f"resuming {out_dir / LAST} after epoch {state.epoch}")
        train_lines, valid_lines = split_sources(train_source, valid_source, partition, state.config.seed)
    else:
        train_lines, valid_lines = split_sources(train_source, valid_source, partition, config.seed)
        alphabet = Alphabet.from_texts(line.text for line in train_lines.lines)
        torch.manual_seed(config.seed)
        net = MDLSTMNetwork(NetworkConfig(num_classes=len(alphabet), **(network or DEFAULT_NETWORK)))
        model = Model(net, alphabet, preprocessing)
        state = TrainingState(config)
        log(
            f"training on {len(train_lines.lines)} lines, validating on {len(valid_lines.lines)}; "
            f"{len(alphabet)} characters, {net.num_parameters():,} weights"
        )
    return Trainer(model, out_dir, log).fit(train_lines, valid_lines, state, optimizer_state, progress)
