"""Training a segmenter on pages with PAGE/ALTO layouts: what ``hwr train-segmenter`` does.

Each step learns from random crops of training pages (read at several zooms, some with fainter or
bolder ink) the maps of :mod:`hwr.segmentation.targets`: baseline pixels by a weighted binary
cross-entropy, the polygon's reach above and below the baseline by a smooth L1 loss along the
baselines. After each epoch the validation pages are segmented whole (at the input size alone) and
scored (cBAD baseline F and line F at IoU >= 0.5, :mod:`hwr.segmentation.metrics`); the best mean of
the two is kept. The run folder is the recognizer's: ``best.safetensors``, ``last.safetensors``
(resumable: weights, optimizer, schedule), ``log.csv`` and ``curves.png``. An epoch draws its
crops from ``(seed, epoch)``, so a resumed run continues as the uninterrupted run would have.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from hwr.atomic import write_bytes_atomically
from hwr.engine.checkpoint import optimizer_from_file, optimizer_to_file
from hwr.engine.plot import plot_segmenter_history
from hwr.engine.trainer import BEST, LAST, LOG, PLOT, rng_of
from hwr.errors import ConfigError, DatasetError, ModelFileError, TrainingError, failure
from hwr.segmentation.config import STRIDE, SegmenterConfig, SegmenterTraining
from hwr.segmentation.data import TrainingPage, random_crop, training_page, vary_ink
from hwr.segmentation.lines import find_lines
from hwr.segmentation.metrics import Scores, baseline_scores, line_scores
from hwr.segmentation.model import SegmentationModel, read_segmenter_file, save_segmenter
from hwr.segmentation.network import Segmenter, input_size, maps_of_input

POSITIVE_WEIGHT = 5.0
"""Baseline pixels are ~2% of a page's: their loss counts this many times a background pixel's."""
RUN_FILES = (BEST, LAST, LOG, PLOT)
Log = Callable[[str], None]
Progress = Callable[[int, int, int], None]


@dataclass
class SegmenterRun:
    """Where a segmenter's training stands after ``epoch`` completed epochs."""

    training: SegmenterTraining
    train: tuple[str, ...]
    """The training pages' layout files."""
    valid: tuple[str, ...]
    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best: float = -1.0
    """The best validation score so far: the mean of baseline F and line F."""
    best_epoch: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "training": self.training.to_dict(),
            "train": list(self.train),
            "valid": list(self.valid),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmenterRun:
        return cls(
            SegmenterTraining.from_dict(data["training"]),
            tuple(data["train"]),
            tuple(data["valid"]),
            int(data["epoch"]),
            list(data["history"]),
            float(data["best"]),
            int(data["best_epoch"]),
            float(data["seconds"]),
        )


def loss_of(out: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """The loss of the network's ``out`` against the target ``maps`` (both ``(B, 3, H, W)``)."""
    on = maps[:, 0]
    weight = torch.tensor(POSITIVE_WEIGHT, device=out.device)
    found = F.binary_cross_entropy_with_logits(out[:, 0], on, pos_weight=weight)
    heights = F.smooth_l1_loss(out[:, 1:], maps[:, 1:], reduction="none").sum(dim=1)
    return found + (heights * on).sum() / on.sum().clamp(min=1)


def read_pages(
    paths: Sequence[str | Path], config: SegmenterConfig, zoom: float = 1.0, log: Log = print
) -> list[TrainingPage]:
    """The training pages of these layout files; one that cannot be read is reported and left out."""
    pages = []
    for path in paths:
        try:
            page = training_page(Path(path), config, zoom)
        except Exception as exc:  # one bad page never stops the run
            log(f"warning: {failure(str(path), exc)}; page left out")
            continue
        if not page.lines:
            log(f"warning: {path}: no line with a baseline; page left out")
            continue
        pages.append(page)
    return pages


def score_pages(model: SegmentationModel, pages: Sequence[TrainingPage]) -> tuple[Scores, Scores, float]:
    """Baseline and line scores of ``model`` on whole ``pages``, and its seconds per page."""
    baselines, lines, seconds = Scores(0, 0, 0, 0), Scores(0, 0, 0, 0), 0.0
    for page in pages:
        start = time.perf_counter()
        width, height = input_size(page.size, model.config)
        rows, cols = -(-height // STRIDE), -(-width // STRIDE)  # the page, without the input's padding
        maps = maps_of_input(model.network, page.image.astype(np.float32))
        probability, above, below = (m[:rows, :cols] for m in maps)
        found = find_lines(probability, above, below, model.config.map_scale(page.size), model.threshold)
        seconds += time.perf_counter() - start
        baselines += baseline_scores([f.baseline for f in found], [t.baseline for t in page.lines], page.size)
        lines += line_scores([f.polygon for f in found], [t.polygon for t in page.lines])
    return baselines, lines, seconds / max(1, len(pages))


def start_segmenter_run(
    train: Sequence[Path],
    valid: Sequence[Path],
    out_dir: Path,
    training: SegmenterTraining,
    config: SegmenterConfig | None = None,
    init: Path | None = None,
    overwrite: bool = False,
    log: Log = print,
    progress: Progress | None = None,
    device: torch.device | None = None,
) -> SegmenterRun:
    """Train a new segmenter (of ``config``, or fine-tuned from the segmenter file ``init``) into ``out_dir``."""
    existing = [name for name in RUN_FILES if (out_dir / name).exists()]
    if existing and not overwrite:
        raise TrainingError(
            f"{out_dir}: already holds a training run ({', '.join(existing)}); continue it with --resume, "
            "replace it with --overwrite, or choose another --output"
        )
    for name in existing:
        (out_dir / name).unlink()
    torch.manual_seed(training.seed)
    if init is not None:
        model = read_segmenter_file(init)[0]
        if config is not None and config != model.config:
            raise ConfigError(
                f"{init}: a segmenter of {model.config}; fine-tuning keeps its shape, leave its options out"
            )
        log(f"fine-tuning {init}")
    else:
        model = SegmentationModel(Segmenter(config or SegmenterConfig()))
    run = SegmenterRun(training, tuple(map(str, train)), tuple(map(str, valid)))
    return _fit(model, run, None, out_dir, log, progress, device)


def resume_segmenter_run(
    out_dir: Path,
    epochs: int | None = None,
    log: Log = print,
    progress: Progress | None = None,
    device: torch.device | None = None,
) -> SegmenterRun:
    """Continue the run in ``out_dir`` from its last completed epoch (to ``epochs`` in all, if given)."""
    path = out_dir / LAST
    if not path.exists():
        raise TrainingError(f"{out_dir}: no {LAST} to resume from")
    model, header, tensors = read_segmenter_file(path)
    try:
        run = SegmenterRun.from_dict(header["segmenter_training"])
        optimizer_state = optimizer_from_file(header["optimizer"], tensors)
        schedule_state = header["schedule"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a segmenter's training checkpoint, cannot resume from it ({exc})") from None
    if epochs is not None and epochs != run.training.epochs:
        log(f"epochs: {run.training.epochs} -> {epochs} (the schedule is stretched to the new end)")
        run.training = replace(run.training, epochs=epochs)
        schedule_state = None
    log(f"resuming {out_dir} after epoch {run.epoch}")
    return _fit(model, run, (optimizer_state, schedule_state), out_dir, log, progress, device)


def _fit(
    model: SegmentationModel,
    run: SegmenterRun,
    saved: tuple[dict, dict | None] | None,
    out_dir: Path,
    log: Log,
    progress: Progress | None,
    device: torch.device | None,
) -> SegmenterRun:
    config, training = model.config, run.training
    device = device or torch.device("cpu")
    out_dir.mkdir(parents=True, exist_ok=True)
    zoomed = [read_pages(run.train, config, zoom, log if k == 0 else _quiet) for k, zoom in enumerate(training.zooms)]
    valid = read_pages(run.valid, config, 1.0, log)
    if not zoomed[0]:
        raise DatasetError("no training page with lines")
    if not valid:
        raise DatasetError("no validation page with lines")
    network = model.network.to(device)
    weights = sum(p.numel() for p in network.parameters())
    log(f"{len(zoomed[0])} training pages, {len(valid)} validation pages; {weights:,} weights")
    optimizer = torch.optim.AdamW(network.parameters(), lr=training.learning_rate, weight_decay=training.weight_decay)
    steps = len(zoomed[0]) // training.batch_size or 1
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, training.learning_rate, total_steps=training.epochs * steps
    )
    if saved is not None:
        optimizer.load_state_dict(saved[0])
        if saved[1] is not None:
            schedule.load_state_dict(saved[1])
        else:  # a stretched run: the new schedule, from the step reached
            with warnings.catch_warnings():  # stepped without optimizer steps, on purpose
                warnings.simplefilter("ignore", UserWarning)
                for _ in range(run.epoch * steps):
                    schedule.step()
    while run.epoch < training.epochs:
        epoch = run.epoch + 1
        start = time.perf_counter()
        network.train()
        rng = rng_of(training.seed, epoch)
        order = rng.permutation(len(zoomed[0]))
        total = 0.0
        for step in range(steps):
            chosen = order[step * training.batch_size : (step + 1) * training.batch_size]
            crops = [random_crop(zoomed[rng.integers(len(zoomed))][k], training.crop, rng) for k in chosen]
            images = np.stack([vary_ink(c[0], rng) if rng.random() < training.ink else c[0] for c in crops])
            inputs = torch.from_numpy(images.astype(np.float32))[:, None].to(device)
            maps = torch.from_numpy(np.stack([c[1] for c in crops]).astype(np.float32)).to(device)
            loss = loss_of(network(inputs), maps)
            if not torch.isfinite(loss):
                raise TrainingError(f"epoch {epoch}: the loss is not finite; lower --learning-rate")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach())
            if progress is not None:
                progress(epoch, step + 1, steps)
        network.eval()
        baselines, lines, page_seconds = score_pages(model, valid)
        score = (baselines.f + lines.f) / 2
        run.seconds += time.perf_counter() - start
        run.epoch = epoch
        run.history.append(
            {
                "epoch": epoch,
                "train_loss": total / steps,
                "valid_baseline_f": baselines.f,
                "valid_line_f": lines.f,
                "seconds_per_page": page_seconds,
                "minutes": run.seconds / 60,
            }
        )
        improved = score > run.best
        if improved:
            run.best, run.best_epoch = score, epoch
            save_segmenter(out_dir / BEST, model, {"segmenter_training": run.to_dict()})
        optimizer_header, optimizer_tensors = optimizer_to_file(optimizer)
        header = {"segmenter_training": run.to_dict(), "optimizer": optimizer_header, "schedule": schedule.state_dict()}
        save_segmenter(out_dir / LAST, model, header, optimizer_tensors)
        table = pd.DataFrame(run.history)
        write_bytes_atomically(out_dir / LOG, table.to_csv(index=False).encode())
        write_bytes_atomically(out_dir / PLOT, plot_segmenter_history(table))
        log(
            f"epoch {epoch}: loss {total / steps:.4f}, valid baseline F {baselines.f:.4f}, line F {lines.f:.4f}"
            f"{' (best)' if improved else ''}, {time.perf_counter() - start:.0f} s"
        )
    best = run.history[run.best_epoch - 1]
    log(
        f"best: epoch {run.best_epoch}, valid baseline F {best['valid_baseline_f']:.4f}, line F "
        f"{best['valid_line_f']:.4f} (mean {run.best:.4f}): {out_dir / BEST}"
    )
    return run


def _quiet(message: str) -> None:
    """The other zooms' reading of the same pages says nothing new."""
