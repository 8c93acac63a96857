"""Ragged tables as flat arrays cut by offsets: how a language model's counts and words are stored
in a model file (plain integer tensors, each of the smallest type that holds it) and handed to the
compiled search."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np


def offsets(lengths: Iterable[int]) -> list[int]:
    """Where each part of a flat array starts, then its end: 0 and the running sum of ``lengths``."""
    return [0, *itertools.accumulate(lengths)]


def check_offsets(cuts: np.ndarray, size: int, what: str) -> None:
    """Raise ValueError unless ``cuts`` cut an array of ``size``: from 0 to ``size``, never decreasing
    (the compiled search reads by them, so a bad table must not reach it)."""
    if cuts.ndim != 1 or len(cuts) < 1 or cuts[0] != 0 or cuts[-1] != size or (np.diff(cuts) < 0).any():
        raise ValueError(f"language model tables: the offsets of {what} do not cut their array")


def compact(values: np.ndarray) -> np.ndarray:
    """Non-negative integers as the smallest of uint8, int16 and int32 that holds them (a 6-gram's
    symbols fit a byte: the base model's file is 4 MB smaller than with int32)."""
    top = int(values.max()) if len(values) else 0
    for kind in (np.uint8, np.int16, np.int32):
        if top <= np.iinfo(kind).max:
            return values.astype(kind)
    raise ValueError(f"language model tables: {top} does not fit an int32")
