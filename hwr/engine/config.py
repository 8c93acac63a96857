"""The typed config of a training run: what it reads, the network, preprocessing and training.

A run's :class:`RunConfig` is saved in every checkpoint and model file it writes (the
``training.run`` record of the header), and ``hwr train --config run.toml`` reads the same
schema from TOML or JSON files; ``hwr train --dump-config`` prints it as TOML.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from hwr.data.augmentation import Augmentation
from hwr.data.images import Preprocessing
from hwr.errors import ConfigError
from hwr.network_config import NetworkConfig, preset
from hwr.settings import checked_fields

Optimizer = Literal["adam", "rmsprop"]
Schedule = Literal["plateau", "cosine"]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 50
    """Upper bound on epochs; early stopping or ``max_minutes`` may end the run sooner."""
    batch_size: int = 4
    """Small batches: more updates per second of training, and the MDLSTM kernel is as fast per line at 4 as at 16."""
    optimizer: Optimizer = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    """Adam: each step also shrinks every weight by ``learning_rate * weight_decay`` of itself
    (AdamW, Loshchilov & Hutter 2019: decoupled from the gradient scaling); RMSprop: an L2
    penalty of this weight. 0 is plain Adam / RMSprop."""
    clip_norm: float = 5.0
    """Gradients are rescaled to at most this global L2 norm."""
    patience: int = 10
    """Stop after this many epochs without a better validation CER."""
    lr_patience: int | None = None
    """Multiply the learning rate by ``lr_factor`` after each run of this many epochs
    without a better validation CER (PyLaia's reduce-on-plateau); None keeps it fixed."""
    lr_factor: float = 0.5
    schedule: Schedule = "plateau"
    """``plateau``: the learning rate stays, or falls by ``lr_factor`` after ``lr_patience``
    flat epochs; ``cosine``: it falls every batch along a half cosine to 0 at the end of
    ``epochs`` (Loshchilov & Hutter 2017), so a run budgeted in epochs ends annealed
    rather than waiting for a plateau that comes late."""
    warmup_epochs: float = 0.0
    """Ramp the learning rate linearly from 0 over this many epochs first (Goyal et al.
    2017): a fresh network's first steps at the full rate can stall it on the all-blank output."""
    max_minutes: float | None = None
    """Stop (after the epoch that crosses it) once training has taken this long in total."""
    seed: int = 0
    freeze: tuple[str, ...] = ()
    """Parts of the network that do not learn for the first ``freeze_epochs`` epochs: ``conv`` (the
    convolutions), ``mdlstm1``, ``mdlstm2``, ... (an MDLSTM level with the tanh layer after it) or
    ``mdlstm`` (every level), so that a model fine-tuned on few lines adapts its top first."""
    freeze_epochs: int | None = None
    """Epochs the ``freeze`` parts stay as they are; None: the whole run."""
    augment: bool = True
    """Whether to augment training lines (with :attr:`augmentation`'s strengths)."""
    augmentation: Augmentation = field(default_factory=Augmentation)

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "rmsprop"):
            raise ConfigError(f"optimizer must be adam or rmsprop, got {self.optimizer!r}")
        for name in ("epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0 or self.clip_norm <= 0:
            raise ConfigError("learning rate and clip norm must be positive")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.lr_patience is not None and self.lr_patience < 1:
            raise ConfigError(f"lr_patience must be at least 1, got {self.lr_patience}")
        if not 0 < self.lr_factor < 1:
            raise ConfigError(f"lr_factor must be between 0 and 1, got {self.lr_factor}")
        if self.schedule not in ("plateau", "cosine"):
            raise ConfigError(f"schedule must be plateau or cosine, got {self.schedule!r}")
        if self.schedule == "cosine" and self.lr_patience is not None:
            raise ConfigError("lr_patience only applies to the plateau schedule, not to cosine")
        for part in self.freeze:
            if part not in ("conv", "mdlstm") and not re.fullmatch(r"mdlstm[1-9][0-9]*", part):
                raise ConfigError(f"freeze: unknown part {part!r}; choose conv, mdlstm, or mdlstm1, mdlstm2, ...")
        if self.freeze_epochs is not None and self.freeze_epochs < 1:
            raise ConfigError(f"freeze_epochs must be at least 1, got {self.freeze_epochs}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ConfigError(f"warmup_epochs must be in [0, epochs), got {self.warmup_epochs}")

    def learning_rate_factor(self, epochs_done: float) -> float:
        """The scheduled fraction of the peak learning rate after ``epochs_done`` (fractional) epochs."""
        factor = 1.0
        if self.warmup_epochs > 0:
            factor = min(1.0, epochs_done / self.warmup_epochs)
        if self.schedule == "cosine":
            factor *= 0.5 * (1 + math.cos(math.pi * min(1.0, epochs_done / self.epochs)))
        return factor

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        if isinstance(data, dict) and "augmentation" in data and data["augmentation"] is None:
            data = {**data, "augment": False, "augmentation": {}}  # records before ``augment``
        values = checked_fields(cls, data, "training")
        values["augmentation"] = Augmentation.from_dict(values.get("augmentation", {}))
        return cls(**values)


RESUMABLE = ("epochs", "patience", "max_minutes", "learning_rate", "clip_norm", "lr_patience", "lr_factor")
"""Training settings that ``--resume`` may change: when and how fast to stop or learn. The
rest (network, data, preprocessing, optimizer, augmentation, seed) define the run."""


@dataclass(frozen=True)
class SourceConfig:
    """One data set of a run: where its lines are, how often they are drawn and at what scale."""

    train: str | tuple[str, ...]
    """Its lines: a manifest, a folder of image + .gt.txt pairs, IAM's lines.txt, page layouts
    (a file, a folder or a glob pattern of them), or a list of layout files."""
    valid: str | None = None
    """Its validation lines; None: the ``valid`` split of ``train``, or a random partition of it."""
    name: str | None = None
    """What logs and ``select_on`` call it; None: the file's stem (with its folder, where two
    unnamed sources would share a stem)."""
    weight: float = 1.0
    """Each epoch draws every line of the set this many times on average (2.5: each twice, and
    half of them a third time; 0.5: a random half), so a small set can count more."""
    scale: float | None = None
    """Its lines' ``preprocessing.scale`` in training, where the set's resolution differs from
    the run's (a set scanned at another resolution); None: the run's."""

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise ConfigError(f"data source {self.train}: weight must be positive, got {self.weight}")
        if self.scale is not None and not 0 < self.scale <= 8:
            raise ConfigError(f"data source {self.train}: scale must be in (0, 8], got {self.scale}")


@dataclass(frozen=True)
class DataConfig:
    """Where a run's lines come from: one or more data sets, validated each and together."""

    sources: tuple[SourceConfig, ...] = ()
    partition: float = 0.9
    """A source without ``valid`` or a split column: the fraction of it to train on."""
    select_on: str | None = None
    """The source whose validation CER picks the best model; None: all sources' lines together."""

    def __post_init__(self) -> None:
        if not 0 < self.partition < 1:
            raise ConfigError(f"partition must be between 0 and 1, got {self.partition}")
        names = self.names()
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigError(f"data sources share the name {', '.join(repeated)}; give each its own name")
        if self.select_on is not None and self.select_on not in names:
            raise ConfigError(
                f"select_on {self.select_on!r} is none of the data sources ({', '.join(names) or 'none given'})"
            )

    def names(self) -> list[str]:
        """Each source's name (see :attr:`SourceConfig.name`)."""
        firsts = [Path(s.train if isinstance(s.train, str) else s.train[0]) for s in self.sources]
        stems = [first.stem for first, source in zip(firsts, self.sources) if source.name is None]
        return [
            source.name
            or (first.stem if stems.count(first.stem) == 1 else f"{first.resolve().parent.name}/{first.stem}")
            for source, first in zip(self.sources, firsts)
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataConfig:
        if isinstance(data, dict) and ("train" in data or "valid" in data):  # records of hwr 0.2: one source
            train, valid = data.get("train"), data.get("valid")
            rest = {k: v for k, v in data.items() if k not in ("train", "valid")}
            data = {**rest, "sources": [] if train is None else [{"train": train, "valid": valid}]}
        values = checked_fields(cls, data, "data")
        values["sources"] = tuple(
            _source(checked_fields(SourceConfig, source, "data source")) for source in values.get("sources", ())
        )
        return cls(**values)


def _source(values: dict[str, Any]) -> SourceConfig:
    train = values.get("train")
    if not train:
        raise ConfigError(f"a data source needs train, the file(s) or folder of its lines; got {values}")
    return SourceConfig(**values)


@dataclass(frozen=True)
class InitConfig:
    """Where a run's weights start (see :mod:`hwr.engine.transfer`)."""

    model: str | None = None
    """A model file or a shipped model's name; None: a fresh network."""
    alphabet: Literal["keep", "union", "new"] | None = None
    """How the model's alphabet meets the data's; None: the model's, if the data has no other characters."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run; the command line's options and config files fill it."""

    data: DataConfig = field(default_factory=DataConfig)
    network: dict[str, Any] = field(default_factory=lambda: network_fields(NetworkConfig(num_classes=1)))
    """:class:`~hwr.network_config.NetworkConfig` fields but ``num_classes``, which the data's alphabet gives."""
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    training: TrainConfig = field(default_factory=TrainConfig)
    init: InitConfig = field(default_factory=InitConfig)

    def __post_init__(self) -> None:
        if "num_classes" in self.network:
            raise ConfigError("network setting num_classes comes from the training data's alphabet; leave it out")
        object.__setattr__(self, "network", network_fields(self.network_config(1)))  # checked, normalised

    def network_config(self, num_classes: int) -> NetworkConfig:
        return NetworkConfig.from_dict({**self.network, "num_classes": num_classes})

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data.to_dict(),
            "network": dict(self.network),
            "preprocessing": self.preprocessing.to_dict(),
            "training": self.training.to_dict(),
            "init": asdict(self.init),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        values = checked_fields(cls, data, "run")
        return cls(
            DataConfig.from_dict(values.get("data", {})),
            values.get("network", cls().network),
            Preprocessing.from_dict(values.get("preprocessing", {})),
            TrainConfig.from_dict(values.get("training", {})),
            InitConfig(**checked_fields(InitConfig, values.get("init", {}), "init")),
        )

    def to_toml(self) -> str:
        """The config as TOML that :func:`read_config_file` reads back (None values are left out:
        every setting that can be None defaults to None)."""
        return "".join(_toml_table(name, table) for name, table in self.to_dict().items())


def network_fields(config: NetworkConfig) -> dict[str, Any]:
    return {k: v for k, v in config.to_dict().items() if k != "num_classes"}


def preset_network(name: str) -> dict[str, Any]:
    """The ``network`` settings of the preset ``name`` (see :data:`hwr.network_config.PRESETS`)."""
    return network_fields(preset(name, num_classes=1))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The nested settings of a ``.toml`` or ``.json`` run config file (not yet checked)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigError(f"{path}: a config file must be .toml or .json")
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError both are
        raise ConfigError(f"{path}: not valid {path.suffix[1:].upper()} ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file holds tables of settings, got {type(data).__name__}")
    return data


def merge_settings(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` laid over it, table by table (nested dicts merge, values replace)."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = value
    return merged


def changed_settings(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """``dotted.name -> (old, new)`` for every setting whose value differs between two config dicts."""
    changed: dict[str, tuple[Any, Any]] = {}
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changed.update(changed_settings(a, b, f"{prefix}{key}."))
        elif a != b:
            changed[f"{prefix}{key}"] = (a, b)
    return changed


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf" if value < 0 else "nan")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, dict) for v in value)


def _toml_table(name: str, table: dict[str, Any], header: str = "[{}]") -> str:
    plain = {k: v for k, v in table.items() if v is not None and not isinstance(v, dict) and not _is_table_list(v)}
    text = header.format(name) + "\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in plain.items()) + "\n"
    text += "".join(_toml_table(f"{name}.{k}", v) for k, v in table.items() if isinstance(v, dict))
    return text + "".join(
        _toml_table(f"{name}.{k}", item, "[[{}]]") for k, v in table.items() if _is_table_list(v) for item in v
    )
