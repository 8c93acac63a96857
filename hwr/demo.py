"""The built-in demo: synthetic handwriting -> train -> evaluate on unseen texts -> transcribe a few lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hwr.data.readers import read_lines
from hwr.engine.config import DataConfig, RunConfig, SourceConfig, TrainConfig
from hwr.engine.run import start_run
from hwr.engine.trainer import BEST
from hwr.evaluation import Evaluation, evaluate
from hwr.model_file import load_model
from hwr.synth import available_fonts, generate_dataset


def run_demo(
    workdir: Path,
    lines: int = 4400,
    epochs: int = 40,
    seed: int = 0,
    log: Callable[[str], None] = print,
    progress: Callable[[int, int, int], None] | None = None,
) -> Evaluation:
    """Run the whole demo in ``workdir`` and return the test-set evaluation."""
    manifest = workdir / "data" / "lines.tsv"
    if manifest.is_file():
        log(f"using the synthetic lines in {manifest}")
    else:
        log(f"rendering {lines} synthetic lines into {manifest.parent} ...")
        # Only the font pip installs, so every machine renders the same demo data.
        fonts = available_fonts()[:1]
        generate_dataset(manifest.parent, lines, seed, valid_fraction=0.05, test_fraction=0.05, fonts=fonts)
    # Budgeted in epochs, not minutes, so the result is the same on a slow machine.
    config = TrainConfig(epochs=epochs, patience=epochs, seed=seed)
    log(f"training for {epochs} epochs ...")
    run = RunConfig(data=DataConfig((SourceConfig(str(manifest)),)), training=config)
    start_run(run, workdir / "model", overwrite=True, log=log, progress=progress)
    model = load_model(workdir / "model" / BEST)
    result = evaluate(model, read_lines(manifest, "test"))
    for row in result.report.head(5).itertuples():
        log(f"{Path(row.image).name}: {row.hypothesis!r} (truth {row.reference!r})")
    return result
