"""Which lines train and which validate, from one or two data sources."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hwr.data.readers import LineSet, read_lines
from hwr.errors import ConfigError, DatasetError


def split_sources(
    train_source: str | Path | Sequence[str | Path], valid_source: Path | None, partition: float, seed: int
) -> tuple[LineSet, LineSet]:
    """Training and validation lines.

    With ``valid_source``, each comes from its own source (a manifest's ``train``
    and ``valid`` splits are used when it has a split column). Without, a
    manifest with a split column gives both; otherwise a random ``partition``
    of the lines (by ``seed``) trains and the rest validates, as kraken does.
    """
    data = read_lines(train_source)
    if not isinstance(train_source, (str, Path)):  # layout files read as one set: named by the first
        train_source = f"{train_source[0]} (and {len(train_source) - 1} more)"
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
        raise ConfigError(f"--partition must be between 0 and 1, got {partition}")
    order = np.random.default_rng(seed).permutation(len(data.lines))
    cut = max(1, min(len(order) - 1, round(partition * len(order))))
    train = LineSet([data.lines[i] for i in order[:cut]], data.problems)
    return train, LineSet([data.lines[i] for i in order[cut:]])
