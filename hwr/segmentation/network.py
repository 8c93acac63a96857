"""The segmenter: a page in, its line maps out (:mod:`hwr.segmentation.targets`).

Convolutions bring the page (at :attr:`SegmenterConfig.input_scale` of its pixels) down to a
sixteenth of that, where a four-direction MDLSTM layer, as in the recognizer, gives every pixel
the context of the whole page: where a line runs on across a gap between words, and where the
neighbouring lines are. (Not finer: the MDLSTM's gradients grow with the number of paths across
its grid, 178 at 64x64 and past float32 at 96x96, ``datasets/segmentation/RESULTS.md``.) Its
output, brought up to half the input's resolution, is merged with the convolutions' own features
at a half and a quarter and read into three maps: the baseline's logit, and the polygon's reach
above and below the baseline (map pixels, divided by :data:`HEIGHT_UNIT`).
Maps at half the input (a quarter of a page read at 0.5) lose nothing of the ground truth's
lines but 1.3 points of recall on CREMMA's closest ones (``datasets/segmentation/RESULTS.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hwr.errors import ConfigError
from hwr.mdlstm import MDLSTM2d
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

    input_scale: float = 0.5
    """Page pixels to input pixels: 1600-pixel pages are read at 800 (maps at 1/4 of the page)."""
    channels: tuple[int, int, int] = (16, 32, 48)
    """Convolution channels at the input's resolution, at 1/2 and at 1/4 of it (and at 1/8 and 1/16)."""
    hidden_size: int = 16
    """The MDLSTM's cells per direction (at a sixteenth of the input's resolution)."""

    def __post_init__(self) -> None:
        if not 0 < self.input_scale <= 2 or len(self.channels) != 3 or min(self.channels) < 1 or self.hidden_size < 1:
            raise ConfigError(f"segmenter settings out of range: {self}")

    @property
    def map_scale(self) -> float:
        """Page pixels to map pixels."""
        return self.input_scale / STRIDE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmenterConfig:
        fields = checked_fields(cls, data, "segmenter")
        if "channels" in fields:
            fields["channels"] = tuple(fields["channels"])
        return cls(**fields)


def _conv(inputs: int, outputs: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, stride, 1), nn.ReLU(inplace=True))


class Segmenter(nn.Module):
    def __init__(self, config: SegmenterConfig) -> None:
        super().__init__()
        self.config = config
        c0, c1, c2 = config.channels
        self.stem = _conv(1, c0)
        self.at_half = nn.Sequential(_conv(c0, c1, 2), _conv(c1, c1))
        self.at_quarter = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))
        self.at_sixteenth = nn.Sequential(_conv(c2, c2, 2), _conv(c2, c2, 2))
        self.context = MDLSTM2d(c2, config.hidden_size)
        self.merge = _conv(c1 + c2 + 4 * config.hidden_size, c1)
        self.head = nn.Conv2d(c1, 3, 1)

    def forward(self, pages: Tensor) -> Tensor:
        """``(B, 1, H, W)`` inputs (ink high, in [0, 1]; H and W multiples of :data:`GRID`) ->
        ``(B, 3, H/2, W/2)``: baseline logits, heights above and below (in :data:`HEIGHT_UNIT`)."""
        half = self.at_half(self.stem(pages))
        quarter = self.at_quarter(half)
        coarse = self.at_sixteenth(quarter)
        b, _, h, w = coarse.shape
        sizes = torch.tensor([[h, w]] * b, dtype=torch.int64)
        context = self.context(coarse.permute(0, 2, 3, 1).contiguous(), sizes).permute(0, 3, 1, 2)
        context = F.interpolate(context, size=half.shape[2:], mode="bilinear", align_corners=False)
        quarter = F.interpolate(quarter, size=half.shape[2:], mode="nearest")
        return self.head(self.merge(torch.cat([half, quarter, context], dim=1)))


def page_input(gray: np.ndarray, config: SegmenterConfig) -> np.ndarray:
    """An 8-bit grayscale page as the segmenter's input: at its scale, ink high in [0, 1], zero-padded
    at the right and bottom to a multiple of :data:`GRID`; ``(H, W)`` float32."""
    height, width = gray.shape
    size = (max(1, round(width * config.input_scale)), max(1, round(height * config.input_scale)))
    image = cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    if np.median(image) >= 128:
        image = 255.0 - image
    paper, ink = float(np.median(image)), float(np.percentile(image, 99.5))
    image = np.clip((image - paper) / max(ink - paper, 1.0), 0.0, 1.0)
    padded = np.zeros((-(-size[1] // GRID) * GRID, -(-size[0] // GRID) * GRID), np.float32)
    padded[: size[1], : size[0]] = image
    return padded


def predict_maps(segmenter: Segmenter, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The maps of one page (8-bit grayscale): baseline probabilities and heights above and below
    in map pixels, each ``(rows, cols)`` at the config's :attr:`~SegmenterConfig.map_scale`."""
    return maps_of_input(segmenter, page_input(gray, segmenter.config))


def maps_of_input(segmenter: Segmenter, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`predict_maps` of a page already made the segmenter's input (:func:`page_input`)."""
    with torch.no_grad():
        out = segmenter(torch.from_numpy(image)[None, None])[0]
    probability = torch.sigmoid(out[0]).numpy()
    above, below = (F.relu(out[k]) * HEIGHT_UNIT for k in (1, 2))
    return probability, above.numpy(), below.numpy()
