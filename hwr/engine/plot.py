"""The PNG plots of a run's curves: training loss and validation scores per epoch."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pandas as pd


def plot_history(table: pd.DataFrame) -> bytes:
    """PNG bytes of loss (left) and validation error rates in % (right) against the epoch."""
    rates = [(100 * table["valid_cer"], "CER"), (100 * table["valid_wer"], "WER")]
    return _curves(table, "CTC loss per line", rates, {"ylabel": "%", "title": "validation error rates"})


def plot_segmenter_history(table: pd.DataFrame) -> bytes:
    """PNG bytes of a segmenter's loss (left) and validation baseline F and line F (right) against the epoch."""
    scores = [(table["valid_baseline_f"], "baseline F"), (table["valid_line_f"], "line F (IoU >= 0.5)")]
    return _curves(table, "loss per crop", scores, {"ylabel": "F", "title": "validation scores", "ylim": (0, 1)})


def _curves(table: pd.DataFrame, loss: str, validation: Sequence[tuple[pd.Series, str]], axes: dict[str, Any]) -> bytes:
    """The training loss (labelled ``loss``) on the left, the ``validation`` series (values, label) on
    the right with ``axes``' settings, against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.5), dpi=100, layout="constrained")
    loss_axes, validation_axes = figure.subplots(1, 2)
    loss_axes.plot(table["epoch"], table["train_loss"], marker=".")
    loss_axes.set(xlabel="epoch", ylabel=loss, title="training loss", yscale="log")
    for values, label in validation:
        validation_axes.plot(table["epoch"], values, marker=".", label=label)
    validation_axes.set(xlabel="epoch", **axes)
    validation_axes.legend()
    for each in (loss_axes, validation_axes):
        each.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
