"""The PNG plots of a run's curves: training loss and validation scores per epoch."""

from __future__ import annotations

import io

import pandas as pd


def plot_history(table: pd.DataFrame) -> bytes:
    """PNG bytes of loss (left) and validation error rates in % (right) against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.5), dpi=100, layout="constrained")
    loss_axes, error_axes = figure.subplots(1, 2)
    loss_axes.plot(table["epoch"], table["train_loss"], marker=".")
    loss_axes.set(xlabel="epoch", ylabel="CTC loss per line", title="training loss", yscale="log")
    for column, label in (("valid_cer", "CER"), ("valid_wer", "WER")):
        error_axes.plot(table["epoch"], 100 * table[column], marker=".", label=label)
    error_axes.set(xlabel="epoch", ylabel="%", title="validation error rates")
    error_axes.legend()
    for axes in (loss_axes, error_axes):
        axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def plot_segmenter_history(table: pd.DataFrame) -> bytes:
    """PNG bytes of a segmenter's loss (left) and validation baseline F and line F (right) against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.5), dpi=100, layout="constrained")
    loss_axes, score_axes = figure.subplots(1, 2)
    loss_axes.plot(table["epoch"], table["train_loss"], marker=".")
    loss_axes.set(xlabel="epoch", ylabel="loss per crop", title="training loss", yscale="log")
    for column, label in (("valid_baseline_f", "baseline F"), ("valid_line_f", "line F (IoU >= 0.5)")):
        score_axes.plot(table["epoch"], table[column], marker=".", label=label)
    score_axes.set(xlabel="epoch", ylabel="F", title="validation scores", ylim=(0, 1))
    score_axes.legend()
    for axes in (loss_axes, score_axes):
        axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
