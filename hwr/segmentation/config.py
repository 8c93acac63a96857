"""The segmenter's settings, apart from torch (the command line reads their defaults at start-up):
its shape and input (:class:`SegmenterConfig`, stored in its model file) and how it is trained
(:class:`SegmenterTraining`, stored in its checkpoints)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hwr.errors import ConfigError
from hwr.settings import checked_fields

HEIGHT_UNIT = 16.0
"""The height maps are learned in units of this many map pixels (so that they are about 1)."""
STRIDE = 2
"""Input pixels per map pixel: the maps are at half the input's resolution."""
GRID = 16
"""Input sizes are padded to a multiple of this (four stride-2 steps)."""


@dataclass(frozen=True)
class SegmenterConfig:
    """The segmenter's shape and the scale it reads pages at; stored in its model file."""

    input_size: int = 800
    """The input's longer side: every page is scaled to it, so a scan's resolution does not matter
    (1600-pixel pages are read at half their pixels; maps at a quarter)."""
    channels: tuple[int, int, int] = (16, 32, 48)
    """Convolution channels at the input's resolution, at 1/2 and at 1/4 of it (and at 1/8 and 1/16)."""
    hidden_size: int = 16
    """The MDLSTM's cells per direction (at a sixteenth of the input's resolution)."""

    def __post_init__(self) -> None:
        if (
            not GRID <= self.input_size <= 8192
            or len(self.channels) != 3
            or min(self.channels) < 1
            or self.hidden_size < 1
        ):
            raise ConfigError(f"segmenter settings out of range: {self}")

    def input_scale(self, page_size: tuple[int, int]) -> float:
        """Page pixels to input pixels for a page of ``page_size`` (width, height)."""
        return self.input_size / max(page_size)

    def map_scale(self, page_size: tuple[int, int]) -> float:
        """Page pixels to map pixels for a page of ``page_size`` (width, height)."""
        return self.input_scale(page_size) / STRIDE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmenterConfig:
        return cls(**checked_fields(cls, data, "segmenter"))


@dataclass(frozen=True)
class SegmenterTraining:
    """How a segmenter is trained; stored in its checkpoints."""

    epochs: int = 30
    crop: int = 512
    """Side of the square input crops (a multiple of 16): more is more context and slower steps."""
    batch_size: int = 4
    learning_rate: float = 2e-3
    """The peak of the one-cycle schedule (AdamW)."""
    weight_decay: float = 1e-4
    zooms: tuple[float, ...] = (1.0, 0.8, 1.25)
    """Each crop is cut from its page read at one of these zooms: other resolutions of writing."""
    ink: float = 0.5
    """The share of crops whose ink is made fainter or bolder (:func:`~hwr.segmentation.data.vary_ink`)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.crop < GRID or self.crop % GRID:
            raise ConfigError(f"epochs and batch size must be positive, the crop a multiple of {GRID}: {self}")
        if self.learning_rate <= 0 or not self.zooms or min(self.zooms) <= 0 or not 0 <= self.ink <= 1:
            raise ConfigError(f"segmenter training settings out of range: {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmenterTraining:
        return cls(**checked_fields(cls, data, "segmenter training"))
