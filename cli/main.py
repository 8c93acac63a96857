"""``hwr``: train, transcribe and evaluate handwritten text recognizers.

This module only parses arguments, sets threads and malloc, prints, and maps the
library's errors to a one-line message and a non-zero exit.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: see hwr.threads
os.environ.setdefault("OMP_NUM_THREADS", "1")

import functools
import glob
import json
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from hwr.allocator import retain_freed_memory
from hwr.atomic import write_bytes_atomically
from hwr.data.augmentation import Augmentation
from hwr.data.images import ImageError, Preprocessing
from hwr.data.readers import IMAGE_SUFFIXES, DatasetError, read_lines
from hwr.demo import run_demo
from hwr.engine.config import TrainConfig
from hwr.engine.ensemble import combine
from hwr.engine.setup import DEFAULT_HEIGHT, DEFAULT_NETWORK
from hwr.engine.language_model import add_language_model
from hwr.engine.setup import split_sources
from hwr.engine.setup import train as run_training
from hwr.engine.trainer import TrainingError
from hwr.ensemble import RescoringEnsemble, networks_of
from hwr.evaluation import evaluate as run_evaluation
from hwr.decoders.beam import BeamSettings
from hwr.model_file import ModelFileError, load_model, read_model_file, save_model
from hwr.recognizer import transcribe_files
from hwr.shipped import DEFAULT_MODEL
from hwr.synth import generate_dataset
from hwr.threads import configure_threads

app = typer.Typer(
    help="Offline handwritten text recognition with multidimensional LSTMs (Graves & Schmidhuber 2009).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable)

Threads = Annotated[
    int | None,
    typer.Option(help="CPU threads for torch (default 1, or $HWR_THREADS); more only on an idle machine."),
]
BatchSize = Annotated[int, typer.Option(min=1, help="Lines per batch.")]


@app.callback()
def setup_process() -> None:
    """Before every command: malloc keeps freed memory (see hwr.allocator)."""
    retain_freed_memory()


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def reports_errors(command: F) -> F:
    """Turn the library's expected errors into ``error: <message>`` and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):

        try:
            return command(*args, **kwargs)
        except (DatasetError, ImageError, ModelFileError, TrainingError, ValueError, OSError) as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted (a training run keeps its last completed epoch: continue it with --resume)")

    return wrapper  # type: ignore[return-value]


def fail_unless_exist(*paths: Path | None) -> None:
    for path in paths:
        if path is not None and not path.exists():
            fail(f"{path}: no such file or folder")


def warn(message: str) -> None:
    typer.echo(message, err=True)


class ProgressBar:
    """A rich progress bar over the batches of an epoch; messages print above it."""

    def __init__(self) -> None:

        self.console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=self.console, transient=True, disable=not self.console.is_terminal,
        )
        self.task = self.bar.add_task("train", total=None, epoch=1)

    def __enter__(self) -> ProgressBar:  # noqa: PYI034
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def log(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False, soft_wrap=True)

    def update(self, epoch: int, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done, total=total, epoch=epoch)


def parse_list(text: str, option: str, kind: type[int | float] = int) -> tuple:
    """Comma-separated integers (or, with ``kind=float``, numbers) of an option."""
    try:
        return tuple(kind(v) for v in text.split(",") if v.strip())
    except ValueError:
        what = "integers" if kind is int else "numbers"
        raise typer.BadParameter(f"expected comma-separated {what}, got {text!r}", param_hint=option) from None


def parse_settings(text: str, option: str) -> dict[str, float]:
    """``name=number,...`` pairs of an option."""
    settings: dict[str, float] = {}
    for pair in (p for p in text.split(",") if p.strip()):
        name, _, value = pair.partition("=")
        try:
            settings[name.strip().replace("-", "_")] = float(value)
        except ValueError:
            raise typer.BadParameter(f"expected name=number pairs such as elastic=3,shift=0.1, got {text!r}",
                                     param_hint=option) from None
    return settings


def parse_blocks(text: str, option: str) -> tuple[tuple[int, int], ...]:
    try:
        blocks = tuple(tuple(int(v) for v in b.lower().split("x")) for b in text.split(","))
    except ValueError:
        blocks = ()
    if not blocks or any(len(b) != 2 for b in blocks):
        raise typer.BadParameter(f"expected HxW blocks such as 4x2,4x2, got {text!r}", param_hint=option)
    return blocks  # type: ignore[return-value]


@app.command()
@reports_errors
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder for images/ and the lines.tsv manifest.")],
    lines: Annotated[int, typer.Option(min=1, help="Number of distinct lines to render.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data set.")] = 0,
    valid: Annotated[float, typer.Option(min=0, max=0.9, help="Fraction of lines in the 'valid' split.")] = 0.05,
    test: Annotated[float, typer.Option(min=0, max=0.9, help="Fraction of lines in the 'test' split.")] = 0.05,
    font: Annotated[
        list[Path] | None, typer.Option(help="A TrueType/OpenType font to use (repeatable); default: the installed hand-drawn fonts.")
    ] = None,
) -> None:
    """Render synthetic handwriting lines (texts never repeat across splits) with a manifest."""

    for f in font or []:
        if not f.is_file():
            fail(f"{f}: font file not found")
    manifest = generate_dataset(out_dir, lines, seed, valid, test, list(font) if font else None)
    typer.echo(f"wrote {lines} lines and {manifest}")



DEFAULT_TRAINING = TrainConfig()


def sizes_text(key: str) -> str:
    return ",".join(map(str, DEFAULT_NETWORK[key]))


def blocks_text(blocks) -> str:
    return ",".join(f"{h}x{w}" for h, w in blocks)


class OptimizerChoice(str, Enum):
    adam = "adam"
    rmsprop = "rmsprop"


DEFAULT_OPTIMIZER = OptimizerChoice(DEFAULT_TRAINING.optimizer)


class ScheduleChoice(str, Enum):
    plateau = "plateau"
    cosine = "cosine"


DEFAULT_SCHEDULE = ScheduleChoice(DEFAULT_TRAINING.schedule)


@app.command()
@reports_errors
def train(
    data: Annotated[
        Path,
        typer.Argument(
            help="Training lines: a .tsv/.csv manifest (its 'train' and 'valid' splits are used when it has "
            "a split column), a folder of x.png + x.gt.txt pairs, or IAM's lines.txt."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for checkpoints, log.csv and curves.png.")] = Path("model"),
    valid: Annotated[Path | None, typer.Option(help="Validation lines (same formats); default: see DATA.")] = None,
    partition: Annotated[float, typer.Option(help="Without --valid or a split column: fraction of DATA to train on.")] = 0.9,
    height: Annotated[int, typer.Option(min=8, help="Line height in pixels after normalisation.")] = DEFAULT_HEIGHT,
    scale: Annotated[
        float | None,
        typer.Option(
            min=0.01, max=8,
            help="Resize every line by this fixed factor and cut HEIGHT rows around its writing, so letters keep "
            "one size across crops of one collection; default: fit each whole crop to HEIGHT.",
        ),
    ] = None,
    hidden: Annotated[str, typer.Option(help="Cells per direction of each MDLSTM level.")] = sizes_text("hidden_sizes"),
    subsample: Annotated[str, typer.Option(help="Units of the tanh layer between levels.")] = sizes_text("subsample_sizes"),
    input_block: Annotated[str, typer.Option(help="Input block, HxW pixels.")] = blocks_text([DEFAULT_NETWORK["input_block"]]),
    subsample_blocks: Annotated[str, typer.Option(help="Blocks of the tanh layers, HxW each.")] = blocks_text(DEFAULT_NETWORK["subsample_blocks"]),
    dropout: Annotated[
        str | None, typer.Option(help="Dropout on each MDLSTM level's output while training, e.g. 0,0.25,0.25; default: none.")
    ] = None,
    conv: Annotated[
        str | None, typer.Option(help="Channels of 3x3 convolutions (+ ReLU, max-pooling) before the first MDLSTM level, e.g. 16,32,48; default: none (Graves).")
    ] = None,
    conv_pools: Annotated[
        str | None, typer.Option(help="Max-pooling window after each convolution, HxW each (1x1: none), e.g. 2x2,2x2,2x1.")
    ] = None,
    conv_dropout: Annotated[
        str | None, typer.Option(help="Dropout on each convolution's pooled output while training, e.g. 0,0,0.2; default: none.")
    ] = None,
    sequence_lstm: Annotated[
        str | None, typer.Option(help="Cells per direction of bidirectional 1-D LSTM layers over the collapsed sequence, e.g. 128,128; default: none (Graves).")
    ] = None,
    sequence_dropout: Annotated[
        float, typer.Option(min=0, max=0.99, help="Dropout on the input of each 1-D LSTM layer and of the output layer.")
    ] = 0.0,
    sequence_residual: Annotated[
        bool, typer.Option(help="Add each 1-D LSTM layer's input to its output, from the second layer on (two or more, of equal width).")
    ] = False,
    epochs: Annotated[int, typer.Option(min=1, help="Most epochs to train.")] = DEFAULT_TRAINING.epochs,
    batch_size: BatchSize = DEFAULT_TRAINING.batch_size,
    optimizer: Annotated[OptimizerChoice, typer.Option(help="Optimizer.")] = DEFAULT_OPTIMIZER,
    learning_rate: Annotated[float, typer.Option(min=0, help="Learning rate.")] = DEFAULT_TRAINING.learning_rate,
    weight_decay: Annotated[
        float, typer.Option(min=0, help="Decoupled weight decay (AdamW; an L2 penalty with RMSprop).")
    ] = DEFAULT_TRAINING.weight_decay,
    clip_norm: Annotated[float, typer.Option(min=0, help="Clip gradients to this global L2 norm.")] = DEFAULT_TRAINING.clip_norm,
    patience: Annotated[int, typer.Option(min=1, help="Early stopping: epochs without a better validation CER.")] = DEFAULT_TRAINING.patience,
    lr_patience: Annotated[
        int | None, typer.Option(min=1, help="Multiply the learning rate by --lr-factor after this many epochs without a better validation CER; default: never.")
    ] = DEFAULT_TRAINING.lr_patience,
    lr_factor: Annotated[float, typer.Option(min=0, max=1, help="Factor for --lr-patience.")] = DEFAULT_TRAINING.lr_factor,
    schedule: Annotated[
        ScheduleChoice, typer.Option(help="Learning rate: plateau (fixed, or lowered by --lr-patience) or cosine (falls every batch to 0 at the end of --epochs).")
    ] = DEFAULT_SCHEDULE,
    warmup_epochs: Annotated[
        float, typer.Option(min=0, help="Ramp the learning rate up linearly from 0 over this many epochs first.")
    ] = DEFAULT_TRAINING.warmup_epochs,
    max_minutes: Annotated[float | None, typer.Option(help="Stop after the epoch that passes this much training time.")] = None,
    augment: Annotated[bool, typer.Option(help="Random affine, elastic, stroke-width and noise augmentation.")] = True,
    augment_probability: Annotated[
        float, typer.Option(min=0, max=1, help="Chance that each augmentation transform is applied to a line.")
    ] = Augmentation().probability,
    augment_settings: Annotated[
        str | None,
        typer.Option(help="Augmentation strengths as name=number pairs, e.g. elastic=3,vertical=0.1,shift=0.05,contrast=0.4,blur=1 "
                     "(fields of hwr.data.augmentation.Augmentation; the rest keep their defaults)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (initial weights, shuffling, augmentation).")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue from OUTPUT/last.safetensors with its settings.")] = False,
    threads: Threads = None,
) -> None:
    """Train a recognizer with CTC; the best model by validation CER is OUTPUT/best.safetensors."""

    augmentation = augmentation_from(augment_probability, augment_settings)
    configure_threads(threads)
    fail_unless_exist(data, valid)
    if resume and not (output / "last.safetensors").is_file():
        fail(f"{output / 'last.safetensors'}: no checkpoint to resume from")
    network = {
        "hidden_sizes": parse_list(hidden, "--hidden"),
        "subsample_sizes": parse_list(subsample, "--subsample"),
        "input_block": parse_blocks(input_block, "--input-block")[0],
        "subsample_blocks": parse_blocks(subsample_blocks, "--subsample-blocks"),
        "dropout": parse_list(dropout, "--dropout", float) if dropout is not None else None,
        "conv_channels": parse_list(conv, "--conv") if conv is not None else (),
        "conv_pools": parse_blocks(conv_pools, "--conv-pools") if conv_pools is not None else (),
        "conv_dropout": parse_list(conv_dropout, "--conv-dropout", float) if conv_dropout is not None else None,
        "sequence_lstm": parse_list(sequence_lstm, "--sequence-lstm") if sequence_lstm is not None else (),
        "sequence_dropout": sequence_dropout,
        "sequence_residual": sequence_residual,
    }
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer.value,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        clip_norm=clip_norm,
        patience=patience,
        lr_patience=lr_patience,
        lr_factor=lr_factor,
        schedule=schedule.value,
        warmup_epochs=warmup_epochs,
        max_minutes=max_minutes,
        seed=seed,
        augmentation=augmentation if augment else None,
    )
    with ProgressBar() as progress:
        state = run_training(
            data, output, valid, partition, network, Preprocessing(height, scale), config, resume,
            log=progress.log, progress=progress.update,
        )
    typer.echo(
        f"best validation CER {100 * state.best_cer:.2f}% at epoch {state.best_epoch}: {output / 'best.safetensors'}"
    )


def augmentation_from(probability: float, settings: str | None) -> Augmentation:
    values = parse_settings(settings, "--augment-settings") if settings else {}
    try:
        return Augmentation.from_dict({"probability": probability, **values})
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--augment-settings") from None


class OutputFormat(str, Enum):
    text = "text"
    tsv = "tsv"
    json = "json"


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files, folders (their images, sorted) and glob patterns -> image paths; a path that matches nothing fails."""

    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                fail(f"{path}: folder has no images ({', '.join(IMAGE_SUFFIXES)})")
            paths.extend(found)
        elif path.exists():
            paths.append(path)
        elif glob.has_magic(item):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                fail(f"{item}: pattern matches no files")
            paths.extend(matches)
        else:
            fail(f"{path}: no such file or folder")
    return paths


def load_model_or_fail(model: Path, use_language_model: bool = True):
    if not model.exists():
        if model == DEFAULT_MODEL:
            fail(f"{model}: the shipped default model is missing from this install; give one with --model")
        fail(f"{model}: model file not found")
    loaded = load_model(model)
    if not use_language_model:
        loaded.language_model = None
    return loaded


def record_of(header: dict) -> dict:
    """How a model was made (its training run, or an ensemble's members), kept when it is rewritten."""
    return {key: header[key] for key in ("training", "members") if key in header}


UseLanguageModel = Annotated[
    bool,
    typer.Option(help="Decode with the model's language model (beam search) where it has one; --no-lm: greedy best path."),
]

ModelOption = Annotated[
    Path,
    typer.Option(
        "--model", "-m",
        help="Model file (best.safetensors of a training run); default: the shipped Joseph Hooker model.",
    ),
]


@app.command()
@reports_errors
def transcribe(
    inputs: Annotated[list[str], typer.Argument(help="Line images, folders of line images, or glob patterns.")],
    model: ModelOption = DEFAULT_MODEL,
    format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="text: the text (prefixed by the path when several images); tsv: image, text, confidence; json: a list of those."),
    ] = OutputFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (atomically) instead of stdout.")] = None,
    batch_size: BatchSize = 16,
    lm: UseLanguageModel = True,
    threads: Threads = None,
) -> None:
    """Transcribe line images; unreadable images are reported and skipped."""

    configure_threads(threads)
    paths = expand_inputs(inputs)
    recognizer = load_model_or_fail(model, lm)
    results, problems = transcribe_files(recognizer, paths, batch_size)
    for problem in problems:
        warn(f"warning: {problem}, skipped")
    rows = [{"image": str(p), "text": results[p].text, "confidence": round(results[p].confidence, 4)} for p in paths if p in results]
    if format is OutputFormat.json:
        text = json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    elif format is OutputFormat.tsv:
        text = pd.DataFrame(rows, columns=["image", "text", "confidence"]).to_csv(sep="\t", index=False)
    elif len(paths) == 1:
        text = "".join(f"{row['text']}\n" for row in rows)
    else:
        text = "".join(f"{row['image']}\t{row['text']}\n" for row in rows)
    if output is None:
        sys.stdout.write(text)
    else:
        write_bytes_atomically(output, text.encode())
    if problems:
        warn(f"{len(problems)} of {len(paths)} images skipped")
        if not rows:
            raise typer.Exit(1)


@app.command()
@reports_errors
def evaluate(
    data: Annotated[Path, typer.Argument(help="Test lines: a manifest, a folder of x.png + x.gt.txt pairs, or IAM's lines.txt.")],
    model: ModelOption = DEFAULT_MODEL,
    split: Annotated[str | None, typer.Option(help="Only this split of a manifest with a split column (e.g. test).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write a per-line CSV report here.")] = None,
    batch_size: BatchSize = 16,
    lm: UseLanguageModel = True,
    threads: Threads = None,
) -> None:
    """CER and WER: total edits / total reference characters (words), after NFC and whitespace normalisation."""

    configure_threads(threads)
    fail_unless_exist(data)
    recognizer = load_model_or_fail(model, lm)
    lines = read_lines(data, split)
    if not lines.lines:
        fail(f"{data}: no usable lines" + (f" in split {split!r}" if split else ""))
    result = run_evaluation(recognizer, lines, batch_size)
    for problem in result.problems:
        warn(f"warning: {problem}")
    if result.unknown:
        listing = ", ".join(f"{c!r} x{n}" for c, n in result.unknown.most_common())
        warn(f"characters not in the model's alphabet (counted as errors): {listing}")
    if report is not None:
        write_bytes_atomically(report, result.report.to_csv(index=False).encode())
    totals = result.totals
    typer.echo(f"lines: {len(result.report)} evaluated, {len(result.problems)} skipped")
    typer.echo(f"CER: {100 * totals.cer:.2f}% ({totals.char_edits} edits / {totals.chars} characters)")
    typer.echo(f"WER: {100 * totals.wer:.2f}% ({totals.word_edits} edits / {totals.words} words)")
    typer.echo("normalisation: Unicode NFC, whitespace runs collapsed, ends stripped; case and punctuation kept")


@app.command(name="lm")
@reports_errors
def language_model(
    data: Annotated[Path, typer.Argument(help="The training lines, as given to hwr train: their texts are counted.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="The trained model (best.safetensors).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the model with its language model.")],
    valid: Annotated[Path | None, typer.Option(help="Validation lines to tune on, as for hwr train; default: see DATA.")] = None,
    partition: Annotated[float, typer.Option(help="As for hwr train.")] = 0.9,
    seed: Annotated[int, typer.Option(help="As for hwr train (it picks the partition).")] = 0,
    order: Annotated[int, typer.Option(min=1, help="Characters per n-gram (the context is one fewer).")] = 6,
    weights: Annotated[str, typer.Option(help="Language model weights to try.")] = "0.5,0.7,0.9",
    bonuses: Annotated[str, typer.Option(help="Insertion bonuses (log-probability per character) to try.")] = "1.5,2,2.5",
    word_bonuses: Annotated[str, typer.Option(help="Bonuses per known word (one of the training texts' words) to try at the best weight and insertion bonus; none (0) is always tried.")] = "1,2,3",
    beam_width: Annotated[int, typer.Option(min=1, help="Prefixes kept per frame.")] = BeamSettings().beam_width,
    threads: Threads = None,
) -> None:
    """Add a character n-gram language model and known-word bonus from the training texts, tuned on validation CER.

    --threads N runs the network on N threads and each trial's beam search in N processes.
    """

    workers = configure_threads(threads)
    fail_unless_exist(data, valid)
    recognizer = load_model_or_fail(model, use_language_model=False)
    train_lines, valid_lines = split_sources(data, valid, partition, seed)
    with ProgressBar() as progress:
        tuned, best, greedy = add_language_model(
            recognizer, train_lines, valid_lines, order,
            parse_list(weights, "--weights", float), parse_list(bonuses, "--bonuses", float),
            parse_list(word_bonuses, "--word-bonuses", float), BeamSettings(beam_width=beam_width), log=progress.log,
            workers=workers,
        )
    save_model(output, tuned, extra_header=record_of(read_model_file(model)[1]))
    typer.echo(
        f"valid CER {100 * greedy.cer:.2f}% (greedy) -> {100 * best.cer:.2f}% with lm weight "
        f"{best.settings.lm_weight:g}, insertion bonus {best.settings.insertion_bonus:g}, "
        f"word bonus {best.settings.word_bonus:g}: {output}"
    )


@app.command()
@reports_errors
def ensemble(
    models: Annotated[list[Path], typer.Argument(help="Trained models (best.safetensors) of one alphabet, height and width reduction: two or more, or one read at several shifts.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the ensemble model.")],
    shifts: Annotated[str, typer.Option(help="Rows (of the normalised line) by which each network also reads the line moved down, up where negative; e.g. -7,0,7.")] = "0",
) -> None:
    """Combine trained models into one that averages their outputs; add a language model with hwr lm.

    Networks with 1-D LSTM layers (--sequence-lstm) are not averaged: each proposes readings
    that all networks then score.
    """

    rows = parse_list(shifts, "--shifts")
    if len(models) * len(rows) < 2:
        fail("an ensemble needs at least two models, or one model read at two or more --shifts")
    fail_unless_exist(*models)
    loaded, members = [], []
    for path in models:
        model, header, _ = read_model_file(path)
        loaded.append(model)
        members.append({"model": path.as_posix(), "sha256": header["sha256"], **record_of(header)})
    combined = combine(loaded, [str(path) for path in models], rows)
    save_model(output, combined, extra_header={"members": members})
    network = combined.network
    groups = network.groups if isinstance(network, RescoringEnsemble) else [network]
    sizes = "+".join(str(len(networks_of(group))) for group in groups)
    typer.echo(f"{len(networks_of(network))} networks at shifts {', '.join(map(str, rows))}, "
               + (f"in {len(groups)} groups ({sizes}) that rescore each other's readings, " if len(groups) > 1 else "")
               + f"{network.num_parameters():,} weights: {output}")


@app.command()
@reports_errors
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the synthetic data and the trained model.")] = Path("hwr-demo"),
    lines: Annotated[int, typer.Option(min=100, help="Synthetic lines to render (5% valid, 5% test).")] = 4400,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs to train.")] = 40,
    seed: Annotated[int, typer.Option(help="Random seed for data and training.")] = 0,
    threads: Threads = None,
) -> None:
    """Render synthetic handwriting, train on it, then print the CER on test lines with unseen texts."""

    configure_threads(threads)
    with ProgressBar() as progress:
        result = run_demo(workdir, lines, epochs, seed, log=progress.log, progress=progress.update)
    totals = result.totals
    typer.echo(f"test CER: {100 * totals.cer:.2f}%  WER: {100 * totals.wer:.2f}%  ({len(result.report)} lines "
               f"whose texts were not in training; model: {workdir / 'model' / 'best.safetensors'})")
