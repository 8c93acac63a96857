"""``hwr segment``, ``hwr train-segmenter`` and ``hwr evaluate-segmentation``: finding the text lines
of page images (written as PAGE-XML or ALTO layouts), training the segmenter that does, and scoring it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    Device,
    ModelOption,
    ProgressBar,
    ReadScale,
    SegmenterOption,
    Threads,
    device_for,
    fail,
    for_each_page,
    line_progress,
    parse_list,
    parse_scale,
    reports_errors,
    set_threads,
    warn,
)
from cli.read import load, load_segmenter_for
from hwr.segmentation.config import SegmenterConfig, SegmenterTraining

TRAINING = SegmenterTraining()
NETWORK = SegmenterConfig()

UNSURE = 0.7
"""Lines found with less confidence than this are counted apart in each page's summary."""


class LayoutFormat(StrEnum):
    page = "page"
    alto = "alto"


@reports_errors
def segment(
    inputs: Annotated[list[str], typer.Argument(help="Page images, folders or glob patterns of them.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="The folder to write the layouts into (default: beside each image, NAME.hwr.xml)."
        ),
    ] = None,
    format: Annotated[LayoutFormat, typer.Option("--format", "-f", help="PAGE-XML 2019 or ALTO v4.")] = (
        LayoutFormat.page
    ),
    segmenter: SegmenterOption = None,
    overwrite: Annotated[
        bool, typer.Option(help="Redo pages whose layout exists (by default they are skipped: a run resumes).")
    ] = False,
    threads: Threads = None,
    device: Device = "cpu",
) -> None:
    """Find the text lines of page images: baselines and polygons, columns and marginal notes as regions
    in reading order, each line with its confidence; read them with hwr transcribe LAYOUT.xml."""
    from hwr.atomic import write_bytes_atomically
    from hwr.data.readers import image_paths
    from hwr.page_output import clashing, output_path, render_layout
    from hwr.segmentation.layout import segmented_layout
    from hwr.segmentation.lines import columns

    paths = image_paths(inputs)
    model = load_segmenter_for(segmenter, device, threads)
    clash = clashing(paths, output)
    if clash:
        warn(f"{len(clash)} images share a name but for its suffix: their layouts keep it (NAME.jpg.xml)")

    def segment_page(path: Path) -> str | None:
        target = output_path(path, format.value, output, full_name=path in clash)
        if target.exists() and not overwrite:
            return None
        found = model.segment(path)
        layout = segmented_layout(found, format.value, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(target, render_layout(layout))
        unsure = sum(line.confidence < UNSURE for line in found.lines)
        return (
            f"{path}: {len(found.lines)} lines in {len(columns(found.lines))} columns"
            + (f" ({unsure} unsure: confidence < {UNSURE})" if unsure else "")
            + f" -> {target}"
        )

    for_each_page(paths, segment_page, lambda path: path, "layout")


@reports_errors
def train_segmenter(
    data: Annotated[
        list[str] | None,
        typer.Argument(
            help="Training pages: PAGE-XML/ALTO files, folders or glob patterns of them (not with --resume)."
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The run folder.")] = Path("runs/segmenter"),
    valid: Annotated[
        list[str] | None,
        typer.Option(help="Validation pages (repeatable); default: every tenth training page, held out."),
    ] = None,
    init: Annotated[
        str | None, typer.Option(help="Fine-tune this segmenter (a file or a shipped name) instead of starting anew.")
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help=f"Epochs in all (default {TRAINING.epochs}); with --resume, extends the run."),
    ] = None,
    crop: Annotated[int, typer.Option(min=16, help="Side of the square training crops, a multiple of 16.")] = (
        TRAINING.crop
    ),
    batch_size: Annotated[int, typer.Option(min=1, help="Crops per step.")] = TRAINING.batch_size,
    learning_rate: Annotated[float, typer.Option(help="Peak of the one-cycle schedule.")] = TRAINING.learning_rate,
    zooms: Annotated[str, typer.Option(help="Read the training pages at these zooms too.")] = ",".join(
        map(str, TRAINING.zooms)
    ),
    input_size: Annotated[int, typer.Option(help="New segmenter: the longer side pages are read at.")] = (
        NETWORK.input_size
    ),
    channels: Annotated[str, typer.Option(help="New segmenter: convolution channels at 1, 1/2, 1/4.")] = ",".join(
        map(str, NETWORK.channels)
    ),
    hidden: Annotated[int, typer.Option(help="New segmenter: MDLSTM cells per direction.")] = NETWORK.hidden_size,
    seed: Annotated[int, typer.Option(help="Seeds the weights and each epoch's crops.")] = TRAINING.seed,
    resume: Annotated[bool, typer.Option("--resume", help="Continue OUTPUT's run from its last epoch.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a run already in OUTPUT.")] = False,
    threads: Threads = None,
    device: Device = "cpu",
) -> None:
    """Train (or fine-tune) a line segmenter on pages with PAGE-XML/ALTO layouts; writes best.safetensors,
    last.safetensors (resumable), log.csv and curves.png into OUTPUT."""
    from hwr.data.readers import layout_paths
    from hwr.segmentation.training import resume_segmenter_run, start_segmenter_run
    from hwr.shipped import DEFAULT_SEGMENTER, resolve_model

    set_threads(threads)
    torch_device = device_for(device)
    with ProgressBar() as progress:
        if resume:
            if data or valid or init or overwrite:
                fail("--resume continues a run as it is: give only --output (and --epochs to extend it)")
            resume_segmenter_run(output, epochs, progress.log, progress.update, torch_device)
        else:
            if not data:
                fail("give the training pages (PAGE-XML/ALTO files, folders or globs), or --resume")
            train = layout_paths(data)
            held = layout_paths(valid) if valid else train[::10]
            if not valid:
                train = [path for path in train if path not in set(held)] or held
                progress.log(f"validation: {len(held)} of the training pages (every tenth), held out")
            training = SegmenterTraining(
                epochs or TRAINING.epochs,
                crop,
                batch_size,
                learning_rate,
                zooms=parse_list(zooms, "--zooms", float),
                seed=seed,
            )
            config = None if init else SegmenterConfig(input_size, parse_list(channels, "--channels"), hidden)
            start = resolve_model(init, DEFAULT_SEGMENTER) if init else None
            start_segmenter_run(
                train, held, output, training, config, start, overwrite, progress.log, progress.update, torch_device
            )


@reports_errors
def evaluate_segmentation(
    data: Annotated[list[str], typer.Argument(help="Test pages: PAGE-XML/ALTO files, folders or glob patterns.")],
    segmenter: SegmenterOption = None,
    model: ModelOption = None,
    text: Annotated[
        bool,
        typer.Option(
            "--text/--no-text", help="Also read the found lines and the layout's own, for the page CER of each."
        ),
    ] = False,
    regions: Annotated[
        bool, typer.Option(help="Count only found lines inside the layout's text regions (pages annotated in part).")
    ] = False,
    scale: ReadScale = None,
    threads: Threads = None,
    device: Device = "cpu",
) -> None:
    """Score a segmenter on pages with layouts: cBAD baseline P/R/F, line P/R/F at polygon IoU >= 0.5, and
    with --text the page CER of its lines against the layout's (in reading order, and in any order). A page
    that cannot be read is named and the others scored; the exit status is then 1."""
    from hwr.data.readers import layout_paths
    from hwr.segmentation.evaluation import evaluate_pages

    paths = layout_paths(data)
    found = load_segmenter_for(segmenter, device, threads)
    recognizer = load(model, True, device, threads) if text else None
    with line_progress(len(paths), "pages") as advance:
        report = evaluate_pages(found, paths, recognizer, regions, advance, warn, parse_scale(scale))
    for row in report.rows():
        typer.echo(row)
    if report.problems:  # named as they happened; the others are scored
        raise typer.Exit(1)
