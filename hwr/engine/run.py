"""Starting or resuming a training run in a folder: what ``hwr train`` does.

A new run refuses a folder that already holds one (its files would be replaced) unless
told to overwrite it. A resumed run keeps what defines it (network, data, preprocessing,
optimizer, augmentation, seed) and refuses changes to those, naming them; the settings
of :data:`~hwr.engine.config.RESUMABLE` may change, and each change is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from hwr.data.alphabet import Alphabet
from hwr.engine.checkpoint import TrainingState, load_checkpoint
from hwr.engine.config import RESUMABLE, DataConfig, RunConfig, SourceConfig, changed_settings, merge_settings
from hwr.engine.distributed import World
from hwr.engine.sources import Source, read_sources
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
    existing = [name for name in RUN_FILES if (out_dir / name).exists()]
    if existing and not overwrite:
        raise TrainingError(
            f"{out_dir}: already holds a training run ({', '.join(existing)}); continue it with --resume, "
            "replace it with --overwrite, or choose another --output"
        )
    sources = read_sources(run.data, run.preprocessing, run.training.seed)
    train_texts = [line.text for source in sources for line in source.train.lines]
    if world.is_main:
        for name in existing:
            (out_dir / name).unlink(missing_ok=True)
    torch.manual_seed(run.training.seed)
    if run.init.model is None:
        alphabet = Alphabet.from_texts(train_texts)
        model = Model(MDLSTMNetwork(run.network_config(len(alphabet))), alphabet, run.preprocessing)
    else:
        model = _from_model(run, train_texts, log)
    log(
        f"training on {_counts(sources, 'train')}, validating on {_counts(sources, 'valid')}; "
        f"{len(model.alphabet)} characters, {model.network.num_parameters():,} weights" + _where(world, device)
    )
    trainer = Trainer(model, out_dir, log, world, device)
    return trainer.fit(sources, TrainingState(run), None, progress)


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
    given = changes.get("data", {}).get("sources")
    if given is not None and _same_sources(saved["data"]["sources"], DataConfig.from_dict({"sources": given})):
        changes = {**changes, "data": {k: v for k, v in changes["data"].items() if k != "sources"}}
    run = RunConfig.from_dict(merge_settings(saved, changes))
    changed = changed_settings(saved, run.to_dict())
    if not saved["data"]["sources"]:  # hwr 0.1 recorded no data: the sources given are the run's
        changed.pop("data.sources", None)
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
    if not run.data.sources:
        raise ConfigError(f"{checkpoint}: the run recorded no training data (hwr 0.1); give DATA")
    # The run as it goes on: its new training settings; its data as first spelled (hwr 0.1 recorded none).
    state.run = replace(run, data=state.run.data if state.run.data.sources else run.data)
    if "training.learning_rate" in changed:  # a new peak rate replaces any plateau reductions
        for group in optimizer_state["param_groups"]:
            group[PEAK_LR] = group["lr"] = run.training.learning_rate
    sources = read_sources(state.run.data, state.run.preprocessing, run.training.seed)
    for source, config in zip(sources, state.run.data.sources):
        unknown = model.alphabet.unknown(line.text for line in source.train.lines)
        if unknown:
            raise DatasetError(
                f"{config.train}: its training lines have characters the run's alphabet lacks "
                f"({''.join(sorted(unknown))!r}); resume with the run's own data"
            )
    return Trainer(model, out_dir, log, world, device).fit(sources, state, optimizer_state, progress)


def _from_model(run: RunConfig, train_texts: list[str], log: Log) -> Model:
    """The model ``run.init`` names, checked against the run and fitted to its training lines' alphabet."""
    name = str(run.init.model)
    start = init_model(name)
    check_shape(run, start, name)
    alphabet = fitted_alphabet(start.alphabet, train_texts, run.init.alphabet)
    kept = sum(c in start.alphabet.characters for c in alphabet.characters)
    log(
        f"starting from {name}: {kept} of its {len(start.alphabet)} characters kept, "
        f"{len(alphabet) - kept} new; a fresh optimizer and schedule"
    )
    model = with_alphabet(start, alphabet, run.network_config(len(alphabet)), run.training.seed)
    model.preprocessing = run.preprocessing  # the model's, but for the scale of the new lines
    return model


def _counts(sources: list[Source], split: str) -> str:
    """``N lines``, and how many of them each source gives where there are several."""
    total = sum(len(getattr(source, split).lines) for source in sources)
    each = ", ".join(f"{source.name} {len(getattr(source, split).lines)}" for source in sources)
    return f"{total} lines" + (f" ({each})" if len(sources) > 1 else "")


def _same_sources(saved: tuple[dict, ...], given: DataConfig) -> bool:
    """Whether ``--resume`` was given the run's own sources, their paths spelled in any way."""

    def resolved(sources: tuple[dict, ...]) -> list[dict]:
        return [{**s, "train": _resolved(s["train"]), "valid": _resolved(s["valid"])} for s in sources]

    return resolved(saved) == resolved(given.to_dict()["sources"])


def _paths(train: str | tuple[str, ...]) -> str:
    return train if isinstance(train, str) else f"{train[0]} (and {len(train) - 1} more)"


def _resolved(paths: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
    if paths is None:
        return None
    return str(Path(paths).resolve()) if isinstance(paths, str) else tuple(str(Path(p).resolve()) for p in paths)


def _text(value: Any) -> str:
    if isinstance(value, tuple) and all(isinstance(v, dict) for v in value):  # data sources: paths, other settings
        default = asdict(SourceConfig(""))
        return (
            " + ".join(
                _paths(source["train"])
                + "".join(f" {k}={v}" for k, v in source.items() if k != "train" and v != default[k])
                for source in value
            )
            or "none"
        )
    return "none" if value is None else str(value)


def _where(world: World, device: torch.device | None) -> str:
    where = f" on {device}" if device is not None and device.type != "cpu" else ""
    return where + (f", in {world.size} processes" if world.size > 1 else "")
