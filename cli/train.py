"""``hwr train``, and the commands that make training data or run the demo: ``synth``, ``demo``.

A run's settings come in layers: hwr's defaults, then ``--preset``, then each ``--config``
file in order, then the options given on the command line (see hwr.engine.config).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import (
    ProgressBar,
    Threads,
    data_sources,
    device_for,
    existing,
    fail,
    parse_blocks,
    parse_list,
    parse_settings,
    reports_errors,
    set_threads,
    warn,
)
from hwr.data.augmentation import Augmentation
from hwr.data.images import Preprocessing
from hwr.engine.config import TrainConfig
from hwr.network_config import PRESETS, NetworkConfig

DATA, NET, OPTIM, AUGMENT, RUN = "Data", "Network", "Optimisation", "Augmentation", "Run"
TRAINING = TrainConfig()
NETWORK = NetworkConfig(num_classes=1)


def _sizes(values: tuple[int, ...]) -> str:
    return ",".join(map(str, values))


def _blocks(blocks: tuple[tuple[int, int], ...]) -> str:
    return ",".join(f"{h}x{w}" for h, w in blocks)


class OptimizerChoice(StrEnum):
    adam = "adam"
    rmsprop = "rmsprop"


class AlphabetChoice(StrEnum):
    keep = "keep"
    union = "union"
    new = "new"


class ScheduleChoice(StrEnum):
    plateau = "plateau"
    cosine = "cosine"


DEFAULT_OPTIMIZER = OptimizerChoice(TRAINING.optimizer)
DEFAULT_SCHEDULE = ScheduleChoice(TRAINING.schedule)
PresetChoice = StrEnum("PresetChoice", {name: name for name in PRESETS})  # type: ignore[misc]
DEFAULT_PRESET = PresetChoice("hwr")

SETTINGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "data": ("data.sources", lambda paths: [{"train": source} for source in data_sources(paths)]),
    "partition": ("data.partition", float),
    "select_on": ("data.select_on", str),
    "height": ("preprocessing.height", int),
    "scale": ("preprocessing.scale", float),
    "hidden": ("network.hidden_sizes", lambda t: parse_list(t, "--hidden")),
    "subsample": ("network.subsample_sizes", lambda t: parse_list(t, "--subsample")),
    "input_block": ("network.input_block", lambda t: parse_blocks(t, "--input-block")[0]),
    "subsample_blocks": ("network.subsample_blocks", lambda t: parse_blocks(t, "--subsample-blocks")),
    "dropout": ("network.dropout", lambda t: parse_list(t, "--dropout", float)),
    "conv": ("network.conv_channels", lambda t: parse_list(t, "--conv")),
    "conv_pools": ("network.conv_pools", lambda t: parse_blocks(t, "--conv-pools")),
    "conv_dropout": ("network.conv_dropout", lambda t: parse_list(t, "--conv-dropout", float)),
    "sequence_lstm": ("network.sequence_lstm", lambda t: parse_list(t, "--sequence-lstm")),
    "sequence_dropout": ("network.sequence_dropout", float),
    "sequence_residual": ("network.sequence_residual", bool),
    "epochs": ("training.epochs", int),
    "batch_size": ("training.batch_size", int),
    "optimizer": ("training.optimizer", lambda c: c.value),
    "learning_rate": ("training.learning_rate", float),
    "weight_decay": ("training.weight_decay", float),
    "clip_norm": ("training.clip_norm", float),
    "patience": ("training.patience", int),
    "lr_patience": ("training.lr_patience", int),
    "lr_factor": ("training.lr_factor", float),
    "schedule": ("training.schedule", lambda c: c.value),
    "warmup_epochs": ("training.warmup_epochs", float),
    "max_minutes": ("training.max_minutes", float),
    "seed": ("training.seed", int),
    "freeze": ("training.freeze", lambda t: tuple(part.strip() for part in t.split(",") if part.strip())),
    "freeze_epochs": ("training.freeze_epochs", int),
    "no_augment": ("training.augment", lambda off: not off),
    "augment_probability": ("training.augmentation.probability", float),
    "augment_settings": ("training.augmentation", lambda t: parse_settings(t, "--augment-settings")),
    "init": ("init.model", str),
    "alphabet": ("init.alphabet", lambda c: c.value),
}
"""Each run option: where its value goes in the run's settings, and how its text becomes that value."""


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the option ``name`` was given on the command line, rather than left at its default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def given_settings(ctx: typer.Context, values: dict[str, Any]) -> dict[str, Any]:
    """The nested settings of the options given on the command line (not those left at their default)."""
    changes: dict[str, Any] = {}
    for name, (path, convert) in SETTINGS.items():
        if not given(ctx, name):
            continue
        *tables, key = path.split(".")
        table = changes
        for part in tables:
            table = table.setdefault(part, {})
        value = values[name]
        converted = None if value is None else convert(value)
        if isinstance(converted, dict):
            table.setdefault(key, {}).update(converted)
        else:
            table[key] = converted
    return changes


@reports_errors
def train(
    ctx: typer.Context,
    data: Annotated[
        list[str] | None,
        typer.Argument(
            help="Training lines, one or more data sets: each a .tsv/.csv manifest (its train and valid "
            "splits where it has a split column), a folder of x.png + x.gt.txt pairs, IAM's lines.txt, or "
            "PAGE-XML/ALTO pages (a file, a folder, a glob; files given one by one are one set)."
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the run's models and logs.", rich_help_panel=RUN)
    ] = Path("model"),
    config: Annotated[
        list[Path] | None,
        typer.Option(help="A .toml/.json run config (repeatable; options override it).", rich_help_panel=RUN),
    ] = None,
    dump_config: Annotated[
        bool,
        typer.Option("--dump-config", help="Print the effective run config as TOML and stop.", rich_help_panel=RUN),
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue OUTPUT's run from its last checkpoint.", rich_help_panel=RUN)
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a run already in OUTPUT.", rich_help_panel=RUN)
    ] = False,
    threads: Threads = None,
    init: Annotated[
        str | None, typer.Option(help="Start from this model (a file or a shipped name).", rich_help_panel=RUN)
    ] = None,
    alphabet: Annotated[
        AlphabetChoice | None,
        typer.Option(help="With --init: the model's characters, plus the data's, or the data's.", rich_help_panel=RUN),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.", rich_help_panel=RUN)] = "cpu",
    processes: Annotated[
        int, typer.Option(min=1, help="Train in this many processes (one thread each).", rich_help_panel=RUN)
    ] = 1,
    valid: Annotated[
        str | None, typer.Option(help="Validation lines of a single DATA (same formats).", rich_help_panel=DATA)
    ] = None,
    partition: Annotated[
        float, typer.Option(help="Without --valid or splits: share of DATA to train on.", rich_help_panel=DATA)
    ] = 0.9,
    select_on: Annotated[
        str | None,
        typer.Option(help="Select the best model on this data set's CER (default: all).", rich_help_panel=DATA),
    ] = None,
    height: Annotated[
        int, typer.Option(min=8, help="Rows of a normalised line.", rich_help_panel=DATA)
    ] = Preprocessing().height,
    scale: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            max=8,
            help="Resize lines by this fixed factor and cut HEIGHT rows around the writing (default: fit each crop).",
            rich_help_panel=DATA,
        ),
    ] = None,
    preset: Annotated[
        PresetChoice, typer.Option(help="The network to start from.", rich_help_panel=NET)
    ] = DEFAULT_PRESET,
    hidden: Annotated[str, typer.Option(help="Cells per direction, each MDLSTM level.", rich_help_panel=NET)] = _sizes(
        NETWORK.hidden_sizes
    ),
    subsample: Annotated[
        str, typer.Option(help="Units of each tanh layer between levels.", rich_help_panel=NET)
    ] = _sizes(NETWORK.subsample_sizes),
    input_block: Annotated[str, typer.Option(help="Input block, HxW.", rich_help_panel=NET)] = _blocks(
        (NETWORK.input_block,)
    ),
    subsample_blocks: Annotated[
        str, typer.Option(help="Blocks of the tanh layers, HxW each.", rich_help_panel=NET)
    ] = _blocks(NETWORK.subsample_blocks),
    dropout: Annotated[
        str | None, typer.Option(help="Dropout after each MDLSTM level, e.g. 0,0.25.", rich_help_panel=NET)
    ] = None,
    conv: Annotated[
        str | None, typer.Option(help="Channels of 3x3 convolutions first, e.g. 16,32.", rich_help_panel=NET)
    ] = None,
    conv_pools: Annotated[
        str | None, typer.Option(help="Max-pooling after each, HxW, e.g. 2x2,2x1.", rich_help_panel=NET)
    ] = None,
    conv_dropout: Annotated[
        str | None, typer.Option(help="Dropout after each convolution.", rich_help_panel=NET)
    ] = None,
    sequence_lstm: Annotated[
        str | None, typer.Option(help="Cells of 1-D BLSTM layers last, e.g. 128.", rich_help_panel=NET)
    ] = None,
    sequence_dropout: Annotated[
        float, typer.Option(min=0, max=0.99, help="Dropout before each 1-D layer.", rich_help_panel=NET)
    ] = NETWORK.sequence_dropout,
    sequence_residual: Annotated[
        bool, typer.Option("--sequence-residual", help="Residual 1-D layers from the second on.", rich_help_panel=NET)
    ] = NETWORK.sequence_residual,
    epochs: Annotated[int, typer.Option(min=1, help="Most epochs.", rich_help_panel=OPTIM)] = TRAINING.epochs,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Lines per batch.", rich_help_panel=OPTIM)
    ] = TRAINING.batch_size,
    optimizer: Annotated[OptimizerChoice, typer.Option(help="Optimizer.", rich_help_panel=OPTIM)] = DEFAULT_OPTIMIZER,
    learning_rate: Annotated[
        float, typer.Option(min=0, help="Peak learning rate.", rich_help_panel=OPTIM)
    ] = TRAINING.learning_rate,
    weight_decay: Annotated[
        float, typer.Option(min=0, help="Decoupled weight decay (AdamW).", rich_help_panel=OPTIM)
    ] = TRAINING.weight_decay,
    clip_norm: Annotated[
        float, typer.Option(min=0, help="Clip gradients to this L2 norm.", rich_help_panel=OPTIM)
    ] = TRAINING.clip_norm,
    patience: Annotated[
        int, typer.Option(min=1, help="Stop after this many epochs without a better CER.", rich_help_panel=OPTIM)
    ] = TRAINING.patience,
    lr_patience: Annotated[
        int | None, typer.Option(min=1, help="Lower the rate after this many flat epochs.", rich_help_panel=OPTIM)
    ] = TRAINING.lr_patience,
    lr_factor: Annotated[
        float, typer.Option(min=0, max=1, help="... by this factor.", rich_help_panel=OPTIM)
    ] = TRAINING.lr_factor,
    schedule: Annotated[
        ScheduleChoice, typer.Option(help="plateau, or cosine to 0 at --epochs.", rich_help_panel=OPTIM)
    ] = DEFAULT_SCHEDULE,
    warmup_epochs: Annotated[
        float, typer.Option(min=0, help="Ramp the rate up over this many epochs.", rich_help_panel=OPTIM)
    ] = TRAINING.warmup_epochs,
    max_minutes: Annotated[
        float | None, typer.Option(help="Stop after the epoch that passes this time.", rich_help_panel=OPTIM)
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of weights, shuffling, augmentation.", rich_help_panel=OPTIM)
    ] = TRAINING.seed,
    freeze: Annotated[
        str | None,
        typer.Option(help="Parts that do not learn: conv, mdlstm, mdlstm1, ...", rich_help_panel=OPTIM),
    ] = None,
    freeze_epochs: Annotated[
        int | None, typer.Option(min=1, help="... for this many epochs (default: all).", rich_help_panel=OPTIM)
    ] = None,
    no_augment: Annotated[
        bool, typer.Option("--no-augment", help="Train on the lines as they are.", rich_help_panel=AUGMENT)
    ] = False,
    augment_probability: Annotated[
        float, typer.Option(min=0, max=1, help="Chance of each transform.", rich_help_panel=AUGMENT)
    ] = Augmentation().probability,
    augment_settings: Annotated[
        str | None, typer.Option(help="Strengths, e.g. elastic=3,blur=1.", rich_help_panel=AUGMENT)
    ] = None,
) -> None:
    """Train a recognizer with CTC; the best model by validation CER is OUTPUT/best.safetensors.

    --processes N (or torchrun --nproc-per-node N -m hwr train ...) shares every batch among N processes, for the same result as one process up to float rounding.
    """
    from hwr.engine.config import RunConfig, merge_settings, preset_network, read_config_file
    from hwr.engine.distributed import join_world, launch, leave_world
    from hwr.engine.run import resume_run, start_run
    from hwr.engine.transfer import init_model, model_settings

    changes: dict[str, Any] = {}
    if given(ctx, "preset"):
        changes["network"] = preset_network(preset.value)
    for path in config or []:
        changes = merge_settings(changes, read_config_file(path))
    changes = merge_settings(changes, given_settings(ctx, dict(ctx.params)))
    if valid is not None:
        sources = changes.get("data", {}).get("sources", [])
        if len(sources) != 1:
            fail(f"--valid goes with one data set, not {len(sources)}: give each its valid in a config file")
        changes["data"]["sources"] = [{**sources[0], "valid": valid}]
    if resume and (dump_config or overwrite or "init" in changes):
        fail("--resume continues a run as it is: it takes no --dump-config, --overwrite, --init or --alphabet")
    base = RunConfig().to_dict()
    start = changes.get("init", {}).get("model")
    if start is not None:  # the model fixes the network and preprocessing; options may change only dropout
        base = merge_settings(base, model_settings(init_model(start)))
    elif "alphabet" in changes.get("init", {}):
        fail("--alphabet says how a model's alphabet meets the data's: it needs --init MODEL")
    run = None if resume else RunConfig.from_dict(merge_settings(base, changes))
    if dump_config:
        typer.echo(run.to_toml(), nl=False)
        return
    if run is not None:
        paths = [(s.train,) if isinstance(s.train, str) else s.train for s in run.data.sources]
        existing(*(Path(p) for train in paths for p in train), *(Path(s.valid) for s in run.data.sources if s.valid))
    elif not (output / "last.safetensors").is_file():
        fail(f"{output / 'last.safetensors'}: no checkpoint to resume from")
    torch_device = device_for(device)
    if processes > 1 and torch_device.type == "cuda" and ":" not in device:  # cuda or auto: a GPU per process
        from torch.cuda import device_count

        if device_count() < processes:
            fail(f"--processes {processes} with --device cuda: one GPU each, and this machine has {device_count()}")
    if processes > 1:
        launch(processes, without_processes(sys.argv[1:]))
        return
    set_threads(threads)
    world = join_world(torch_device)
    try:
        with ProgressBar() as progress:
            log = progress.log
            if run is None:
                state = resume_run(output, changes, log, progress.update, world, torch_device)
            else:
                state = start_run(run, output, overwrite, log, progress.update, world, torch_device)
    finally:
        leave_world()
    if world.is_main:
        best = output / "best.safetensors"
        typer.echo(f"best validation CER {100 * state.best_cer:.2f}% at epoch {state.best_epoch}: {best}")


def without_processes(arguments: list[str]) -> list[str]:
    """The command line less its ``--processes N``: what each process of a run is started with."""
    kept: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--processes":
            skip = True
        elif not argument.startswith("--processes="):
            kept.append(argument)
    return kept


@reports_errors
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder for images/ and the lines.tsv manifest.")],
    lines: Annotated[int, typer.Option(min=1, help="Number of distinct lines to render.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data set.")] = 0,
    valid: Annotated[float, typer.Option(min=0, max=0.9, help="Share of lines in the 'valid' split.")] = 0.05,
    test: Annotated[float, typer.Option(min=0, max=0.9, help="Share of lines in the 'test' split.")] = 0.05,
    font: Annotated[
        list[Path] | None,
        typer.Option(help="A TrueType/OpenType font (repeatable); default: the installed hand-drawn fonts."),
    ] = None,
    text: Annotated[
        list[Path] | None,
        typer.Option(
            help="A plain-text file, a text a line (repeatable): the lines are runs of its words (a "
            "collection's own transcriptions: its language and characters); default: English words."
        ),
    ] = None,
) -> None:
    """Render synthetic handwriting lines (texts never repeat across splits) with a manifest."""
    from hwr.data.corpus import read_corpus
    from hwr.synth import available_fonts, generate_dataset
    from hwr.synth.render import undrawable

    for f in font or []:
        if not f.is_file():
            fail(f"{f}: font file not found")
    fonts = list(font) if font else available_fonts()
    corpus = read_corpus(text) if text else None
    if corpus is not None:
        missing = undrawable("".join(sorted(set("".join(corpus)) - {" "})), fonts)
        if missing:
            warn(f"no font draws {' '.join(missing)}: texts with them are left out")
    manifest = generate_dataset(out_dir, lines, seed, valid, test, fonts, corpus)
    typer.echo(f"wrote {lines} lines and {manifest}")


@reports_errors
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the synthetic data and the trained model.")] = Path(
        "hwr-demo"
    ),
    lines: Annotated[int, typer.Option(min=100, help="Synthetic lines to render (5% valid, 5% test).")] = 4400,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs to train.")] = 40,
    seed: Annotated[int, typer.Option(help="Random seed for data and training.")] = 0,
    threads: Threads = None,
) -> None:
    """Render synthetic handwriting, train on it, then print the CER on test lines with unseen texts."""
    from hwr.demo import run_demo

    set_threads(threads)
    with ProgressBar() as progress:
        result = run_demo(workdir, lines, epochs, seed, log=progress.log, progress=progress.update)
    totals = result.totals
    typer.echo(
        f"test CER: {100 * totals.cer:.2f}%  WER: {100 * totals.wer:.2f}%  ({len(result.report)} lines "
        f"whose texts were not in training; model: {workdir / 'model' / 'best.safetensors'})"
    )
