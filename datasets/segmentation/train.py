"""Experiment: train the segmenter (hwr.segmentation.network) on the shared sets' train pages and
score it on their valid pages after every epoch (cBAD baseline F, line F at IoU 0.5, per set).

    python datasets/segmentation/train.py -o runs/seg --epochs 20
    python datasets/segmentation/train.py --score runs/seg/best.safetensors   # all valid pages, 1 thread

Not yet ``hwr train-segmenter`` (issue 38): this measures what the design learns and how fast,
before the command is built around it. Writes OUT/last.safetensors after every epoch and
OUT/best.safetensors (the best mean of baseline F and line F over the sets), weights with the
config in their header.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hwr.segmentation.data import random_crop, training_page, vary_ink  # noqa: E402
from hwr.segmentation.lines import find_lines  # noqa: E402
from hwr.segmentation.metrics import baseline_scores, line_scores  # noqa: E402
from hwr.segmentation.network import Segmenter, SegmenterConfig, maps_of_input  # noqa: E402
from tests.shared_data import PAGE_SETS as SETS  # noqa: E402
from tests.shared_data import SHARED  # noqa: E402

POSITIVE_WEIGHT = 5.0
"""Baseline pixels are ~2% of a page's: their loss counts this many times a background pixel's."""


def loss_of(out: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    on = maps[:, 0]
    found = F.binary_cross_entropy_with_logits(out[:, 0], on, pos_weight=torch.tensor(POSITIVE_WEIGHT))
    heights = F.smooth_l1_loss(out[:, 1:], maps[:, 1:], reduction="none").sum(dim=1)
    return found + (heights * on).sum() / on.sum().clamp(min=1)


def score(model: Segmenter, pages: dict[str, list]) -> dict[str, tuple[float, float, float]]:
    """Per set: baseline F, line F, and seconds per page of the network and the post-processing."""
    model.eval()
    results = {}
    for name, group in pages.items():
        baselines = lines = None
        seconds = 0.0
        for page in group:
            start = time.perf_counter()
            probability, above, below = maps_of_input(model, page.image)
            found = find_lines(probability, above, below, model.config.map_scale(page.size))
            seconds += time.perf_counter() - start
            b = baseline_scores([f.baseline for f in found], [t.baseline for t in page.lines], page.size)
            p = line_scores([f.polygon for f in found], [t.polygon for t in page.lines])
            baselines, lines = (b, p) if baselines is None else (baselines + b, lines + p)
        results[name] = (baselines.f, lines.f, seconds / len(group))
    model.train()
    return results


def score_saved(path: Path) -> None:
    """A saved model's scores on every valid page of each set, and its seconds per page on one thread."""
    torch.set_num_threads(1)
    with safe_open(path, "pt") as saved:
        config = SegmenterConfig.from_dict(json.loads(saved.metadata()["segmenter"]))
        epoch = saved.metadata()["epoch"]
    model = Segmenter(config)
    model.load_state_dict(load_file(path))
    valid = {
        name: [training_page(xml, config) for xml in sorted((SHARED / name / "pages/valid").glob("*.xml"))]
        for name in SETS
    }
    print(f"{path} (epoch {epoch}), all valid pages, one thread\n")
    print("| set | valid pages | baseline F | line F (IoU >= 0.5) | s/page (network + lines) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (baseline_f, line_f, seconds) in score(model, valid).items():
        print(f"| {name} | {len(valid[name])} | {baseline_f:.4f} | {line_f:.4f} | {seconds:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument("--score", type=Path, help="only score this model on every valid page, on one thread")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--crop", type=int, default=384)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--valid-pages", type=int, default=10, help="valid pages per set scored each epoch")
    parser.add_argument("--zooms", type=float, nargs="+", default=[1.0], help="train pages at these scales too")
    arguments = parser.parse_args()
    if arguments.score is not None:
        score_saved(arguments.score)
        return
    if arguments.output is None:
        parser.error("give -o OUTPUT (or --score MODEL)")
    torch.set_num_threads(arguments.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    config = SegmenterConfig()

    def load(split: str, limit: int | None = None, zoom: float = 1.0) -> dict[str, list]:
        return {
            name: [
                training_page(xml, config, zoom)
                for xml in sorted((SHARED / name / "pages" / split).glob("*.xml"))[:limit]
            ]
            for name in SETS
        }

    zoomed = [[page for group in load("train", zoom=zoom).values() for page in group] for zoom in arguments.zooms]
    train = zoomed[0]
    valid = load("valid", arguments.valid_pages)
    print(f"{len(train)} train pages, {sum(map(len, valid.values()))} valid pages", flush=True)
    model = Segmenter(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=arguments.learning_rate, weight_decay=1e-4)
    steps = arguments.epochs * (len(train) // arguments.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, arguments.learning_rate, total_steps=steps)
    arguments.output.mkdir(parents=True, exist_ok=True)
    best = -1.0
    for epoch in range(1, arguments.epochs + 1):
        start, total = time.perf_counter(), 0.0
        order = rng.permutation(len(train))
        for first in range(0, len(order) - arguments.batch_size + 1, arguments.batch_size):
            crops = [
                random_crop(zoomed[rng.integers(len(zoomed))][k], arguments.crop, rng)
                for k in order[first : first + arguments.batch_size]
            ]
            images = np.stack([vary_ink(c[0], rng) if rng.random() < 0.5 else c[0] for c in crops])
            images = torch.from_numpy(images.astype(np.float32))[:, None]
            maps = torch.from_numpy(np.stack([c[1] for c in crops]))
            loss = loss_of(model(images), maps)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach())
        seconds = time.perf_counter() - start
        results = score(model, valid)
        mean_f = float(np.mean([(r[0] + r[1]) / 2 for r in results.values()]))  # baselines and polygons alike
        row = " | ".join(f"{name.split('_')[0]} {b:.3f}/{p:.3f} {s:.2f}s" for name, (b, p, s) in results.items())
        print(
            f"epoch {epoch} loss {total / (len(order) // arguments.batch_size):.4f} {seconds:.0f}s | {row}", flush=True
        )
        header = {"segmenter": json.dumps(config.to_dict()), "epoch": str(epoch)}
        weights = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(weights, arguments.output / "last.safetensors", header)
        if mean_f > best:
            best = mean_f
            save_file(weights, arguments.output / "best.safetensors", header)


if __name__ == "__main__":
    main()
