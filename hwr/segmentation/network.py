"""The segmenter: a page in, its line maps out (:mod:`hwr.segmentation.targets`).

Convolutions bring the page (scaled so that its longer side is :attr:`SegmenterConfig.input_size`)
down to a sixteenth of that, where a four-direction MDLSTM layer, as in the recognizer, gives every pixel
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

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hwr.mdlstm import MDLSTM2d
from hwr.segmentation.config import GRID, HEIGHT_UNIT, STRIDE, SegmenterConfig


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
        # Channels-last convolutions compute the same 1.5x faster on CPU (the merge of 144 channels at
        # half the input most of all): a 1600-pixel page 1.9 -> 1.2 s, a training step 3.4 -> 2.2 s.
        self.to(memory_format=torch.channels_last)

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


def page_input(gray: np.ndarray, config: SegmenterConfig, zoom: float = 1.0) -> np.ndarray:
    """An 8-bit grayscale page as the segmenter's input: at its scale (times ``zoom``, for training at
    other scales), ink high in [0, 1], zero-padded at the right and bottom to a multiple of
    :data:`GRID`; ``(H, W)`` float32."""
    height, width = gray.shape
    size = input_size((width, height), config, zoom)
    image = cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    if np.median(image) >= 128:
        image = 255.0 - image
    paper, ink = float(np.median(image)), float(np.percentile(image, 99.5))
    image = np.clip((image - paper) / max(ink - paper, 1.0), 0.0, 1.0)
    padded = np.zeros((-(-size[1] // GRID) * GRID, -(-size[0] // GRID) * GRID), np.float32)
    padded[: size[1], : size[0]] = image
    return padded


def input_size(page_size: tuple[int, int], config: SegmenterConfig, zoom: float = 1.0) -> tuple[int, int]:
    """(width, height) of the input of a page of ``page_size``, before its padding."""
    scale = config.input_scale(page_size) * zoom
    return max(1, round(page_size[0] * scale)), max(1, round(page_size[1] * scale))


PredictedMaps = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Baseline probabilities and heights above and below in map pixels, each ``(rows, cols)``."""


def predict_maps(segmenter: Segmenter, gray: np.ndarray, zooms: tuple[float, ...] = (1.0,)) -> PredictedMaps:
    """The maps of one page (8-bit grayscale) at the config's :meth:`~SegmenterConfig.map_scale` of
    the page times ``zooms[0]``. With several ``zooms``, the page is read at each and the maps are
    averaged (:func:`averaged_maps`): small writing is seen better larger, large writing smaller."""
    return averaged_maps([(zoom, maps_at(segmenter, gray, zoom)) for zoom in zooms])


def maps_at(segmenter: Segmenter, gray: np.ndarray, zoom: float) -> PredictedMaps:
    """The maps of one page read at ``zoom`` of the network's input size, and no further (the
    input's padding is left out)."""
    width, height = input_size((gray.shape[1], gray.shape[0]), segmenter.config, zoom)
    rows, cols = -(-height // STRIDE), -(-width // STRIDE)
    return tuple(m[:rows, :cols] for m in maps_of_input(segmenter, page_input(gray, segmenter.config, zoom)))  # type: ignore[return-value]


def averaged_maps(readings: list[tuple[float, PredictedMaps]]) -> PredictedMaps:
    """Maps read at several zooms, each ``(zoom, maps)``, averaged at the first one's size (its
    heights in its map pixels)."""
    first_zoom, first = readings[0]
    shape = first[0].shape[::-1]
    total = [m.copy() for m in first]
    for zoom, maps in readings[1:]:
        ratio = first_zoom / zoom
        for summed, m, factor in zip(total, maps, (1.0, ratio, ratio)):
            summed += cv2.resize(m, shape, interpolation=cv2.INTER_LINEAR) * factor
    return tuple(m / len(readings) for m in total)  # type: ignore[return-value]


def maps_of_input(segmenter: Segmenter, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`predict_maps` of a page already made the segmenter's input (:func:`page_input`)."""
    device = next(segmenter.parameters()).device
    with torch.no_grad():
        out = segmenter(torch.from_numpy(image)[None, None].to(device))[0].cpu()
    probability = torch.sigmoid(out[0]).numpy()
    above, below = (F.relu(out[k]) * HEIGHT_UNIT for k in (1, 2))
    return probability, above.numpy(), below.numpy()
