"""A run's data sets: each read with its own splits, drawn by its weight, scaled by its own factor.

A model that should read many hands learns from several collections at once, of unequal
size and resolution. Each source keeps its lines and validation lines apart, so that the
run can report (and select on) every collection's CER, not only their mixture's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hwr.data.images import Preprocessing
from hwr.data.readers import LineSet
from hwr.data.splits import split_sources
from hwr.engine.config import DataConfig
from hwr.errors import ConfigError


@dataclass
class Source:
    """One data set's training and validation lines, and how it is drawn and scaled."""

    name: str
    train: LineSet
    valid: LineSet
    weight: float
    preprocessing: Preprocessing


def read_sources(data: DataConfig, preprocessing: Preprocessing, seed: int) -> list[Source]:
    """Every source of ``data`` split into training and validation lines (see :func:`split_sources`)."""
    if not data.sources:
        raise ConfigError("no training data: give DATA, or [[data.sources]] in a config file")
    sources = []
    for name, config in zip(data.names(), data.sources):
        valid = None if config.valid is None else Path(config.valid)
        train, valid_lines = split_sources(config.train, valid, data.partition, seed)
        scaled = preprocessing if config.scale is None else replace(preprocessing, scale=config.scale)
        sources.append(Source(name, train, valid_lines, config.weight, scaled))
    return sources


def epoch_sample(sizes: list[int], weights: list[float], rng: np.random.Generator) -> np.ndarray:
    """The lines (indices into the sources' lines laid end to end) one epoch trains on: each source's
    lines ``int(weight)`` times, and a random share of them once more for the fraction of its weight.
    With every weight 1 that is each line once, in order, and ``rng`` is left untouched."""
    if all(weight == 1 for weight in weights):
        return np.arange(sum(sizes))
    drawn = []
    start = 0
    for size, weight in zip(sizes, weights):
        lines = np.arange(start, start + size)
        whole, fraction = divmod(weight, 1.0)
        drawn.extend([lines] * int(whole))
        drawn.append(np.sort(rng.choice(lines, round(fraction * size), replace=False)))
        start += size
    return np.concatenate(drawn)
