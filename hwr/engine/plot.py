"""The PNG plot of a run's curves: training loss and validation CER/WER per epoch."""

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
