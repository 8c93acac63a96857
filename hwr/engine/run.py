"""Starting or resuming a training run in a folder: what ``hwr train`` does.

A new run refuses a folder that already holds one (its files would be replaced) unless
told to overwrite it. A resumed run keeps what defines it (network, data, preprocessing,
optimizer, augmentation, seed) and refuses changes to those, naming them; the settings
of :data:`~hwr.engine.config.RESUMABLE` may change, and each change is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from hwr.data.alphabet import Alphabet
from hwr.data.readers import LineSet
from hwr.data.splits import split_sources
from hwr.engine.checkpoint import TrainingState, load_checkpoint
from hwr.engine.config import RESUMABLE, RunConfig, changed_settings, merge_settings
from hwr.engine.distributed import World
from hwr.engine.trainer import BEST, LAST, LOG, PEAK_LR, PLOT, Trainer
from hwr.engine.transfer import check_shape, fitted_alphabet, init_model, with_alphabet
from hwr.errors import ConfigError, DatasetError, TrainingError
from hwr.model_file import Model
from hwr.network import MDLSTMNetwork

Log = Callable[[str], None]
Progress = Callable[[int, int, int], None]
RUN_FILES = (BEST, LAST, LOG, PLOT)


def start_run(
    run: RunConfig,
    out_dir: str | Path,
    overwrite: bool = False,
    log: Log = print,
    progress: Progress | None = None,
    world: World | None = None,
    device: torch.device | None = None,
) -> TrainingState:
    """Train a new model by ``run`` into ``out_dir``; with ``overwrite``, replacing a run already there.
    ``world`` and ``device``: where this process trains (default: alone, on the CPU)."""
    world = world or World()
    log = world.main_only(log)
    out_dir = Path(out_dir)
    if run.data.train is None:
        raise ConfigError("no training data: give DATA, or data.train in a config file")
    existing = [name for name in RUN_FILES if (out_dir / name).exists()]
    if existing and not overwrite:
        raise TrainingError(
            f"{out_dir}: already holds a training run ({', '.join(existing)}); continue it with --resume, "
            "replace it with --overwrite, or choose another --output"
        )
    train_lines, valid_lines = split_sources(
        Path(run.data.train), _path(run.data.valid), run.data.partition, run.training.seed
    )
    if world.is_main:
        for name in existing:
            (out_dir / name).unlink(missing_ok=True)
    torch.manual_seed(run.training.seed)
    if run.init.model is None:
        alphabet = Alphabet.from_texts(line.text for line in train_lines.lines)
        model = Model(MDLSTMNetwork(run.network_config(len(alphabet))), alphabet, run.preprocessing)
    else:
        model = _from_model(run, train_lines, log)
    network = model.network
    log(
        f"training on {len(train_lines.lines)} lines, validating on {len(valid_lines.lines)}; "
        f"{len(model.alphabet)} characters, {network.num_parameters():,} weights" + _where(world, device)
    )
    trainer = Trainer(model, out_dir, log, world, device)
    return trainer.fit(train_lines, valid_lines, TrainingState(run), None, progress)


def resume_run(
    out_dir: str | Path,
    changes: dict[str, Any],
    log: Log = print,
    progress: Progress | None = None,
    world: World | None = None,
    device: torch.device | None = None,
) -> TrainingState:
    """Continue the run in ``out_dir`` from its last checkpoint, with ``changes`` (nested settings,
    as in a config file) applied where :data:`RESUMABLE` allows and refused elsewhere.

    Any number of processes may resume a run: each step trains the same global batch however
    it is shared (see :mod:`hwr.engine.distributed`), so a different number changes only float
    rounding; it is said in the log."""
    world = world or World()
    log = world.main_only(log)
    out_dir = Path(out_dir)
    checkpoint = out_dir / LAST
    if not checkpoint.is_file():
        raise TrainingError(f"{checkpoint}: no checkpoint to resume from")
    model, optimizer_state, state = load_checkpoint(checkpoint)
    saved = state.run.to_dict()
    run = RunConfig.from_dict(merge_settings(saved, changes))
    changed = {
        name: values
        for name, values in changed_settings(saved, run.to_dict()).items()
        if not (name in ("data.train", "data.valid") and _same_source(name, *values))
    }
    fixed = [name for name in changed if not (name.startswith("training.") and name[len("training.") :] in RESUMABLE)]
    if fixed:
        listing = ", ".join(f"{name} ({_text(changed[name][0])} -> {_text(changed[name][1])})" for name in fixed)
        raise ConfigError(
            f"{checkpoint}: --resume keeps the run's settings, and these differ: {listing}; only "
            f"{', '.join(RESUMABLE)} may change (start a new run with another --output for the rest)"
        )
    log(f"resuming {checkpoint} after epoch {state.epoch}" + _where(world, device))
    before = state.history[-1].get("processes", 1) if state.history else world.size
    if before != world.size:
        log(
            f"the run trained in {before} process(es) and goes on in {world.size}: the same batches, shared "
            "differently, so results differ from an unbroken run only by float rounding"
        )
    for name, (old, new) in changed.items():
        log(f"resuming with {name} {_text(old)} -> {_text(new)}")
    if run.data.train is None:
        raise ConfigError(f"{checkpoint}: the run recorded no training data (hwr 0.1); give DATA")
    # The run as it goes on: its new training settings; its data as first spelled (hwr 0.1 recorded none).
    state.run = replace(run, data=state.run.data if state.run.data.train is not None else run.data)
    if "training.learning_rate" in changed:  # a new peak rate replaces any plateau reductions
        for group in optimizer_state["param_groups"]:
            group[PEAK_LR] = group["lr"] = run.training.learning_rate
    train_lines, valid_lines = split_sources(
        Path(run.data.train), _path(run.data.valid), run.data.partition, run.training.seed
    )
    unknown = model.alphabet.unknown(line.text for line in train_lines.lines)
    if unknown:
        raise DatasetError(
            f"{run.data.train}: its training lines have characters the run's alphabet lacks "
            f"({''.join(sorted(unknown))!r}); resume with the run's own data"
        )
    return Trainer(model, out_dir, log, world, device).fit(train_lines, valid_lines, state, optimizer_state, progress)


def _from_model(run: RunConfig, train_lines: LineSet, log: Log) -> Model:
    """The model ``run.init`` names, checked against the run and fitted to its training lines' alphabet."""
    name = str(run.init.model)
    start = init_model(name)
    check_shape(run, start, name)
    alphabet = fitted_alphabet(start.alphabet, (line.text for line in train_lines.lines), run.init.alphabet)
    kept = sum(c in start.alphabet.characters for c in alphabet.characters)
    log(
        f"starting from {name}: {kept} of its {len(start.alphabet)} characters kept, "
        f"{len(alphabet) - kept} new; a fresh optimizer and schedule"
    )
    return with_alphabet(start, alphabet, run.network_config(len(alphabet)), run.training.seed)


def _path(text: str | None) -> Path | None:
    return None if text is None else Path(text)


def _same_source(name: str, saved: str | None, given: str | None) -> bool:
    """Whether two spellings of a data path name one source."""
    if saved is not None and given is not None:
        return Path(saved).resolve() == Path(given).resolve()
    return name == "data.train" and saved is None  # checkpoints of hwr 0.1 recorded no data


def _text(value: Any) -> str:
    return "none" if value is None else str(value)


def _where(world: World, device: torch.device | None) -> str:
    where = f" on {device}" if device is not None and device.type != "cpu" else ""
    return where + (f", in {world.size} processes" if world.size > 1 else "")
