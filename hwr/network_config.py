"""The shape of a network (:class:`NetworkConfig`) and its named presets.

Kept apart from :mod:`hwr.network` so that reading, writing and checking configs
(the command line, config files) needs no torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from hwr.errors import ConfigError
from hwr.settings import checked_fields

Block = tuple[int, int]

PRESETS: dict[str, dict[str, Any]] = {
    "hwr": {},
    "graves2009": {"input_block": (4, 3), "subsample_blocks": ((4, 3), (4, 2))},
}
"""Named network shapes, as changes to :class:`NetworkConfig`'s defaults. ``hwr`` is the
default; ``graves2009`` is the paper's network (4x3 input blocks, tanh 4x3 and 4x2: the
width shrinks 18x, too much for lines under ~64 pixels high)."""


@dataclass(frozen=True)
class NetworkConfig:
    """Shape of the network. Blocks are ``(height, width)`` in pixels or cells.

    The defaults are hwr's train default: the Graves 2009 layer sizes (MDLSTM 4x2, tanh 6,
    MDLSTM 4x10, tanh 20, MDLSTM 4x50, collapse) with blocks for 32-pixel lines (input 2x2,
    tanh 4x2 and 4x1), so the width shrinks 4x rather than Graves's 18x and typical
    handwriting keeps ~2.5 CTC frames per character. :data:`PRESETS` names the others.
    """

    num_classes: int
    """Characters in the alphabet; the output has one more (the CTC blank, index 0)."""
    conv_channels: tuple[int, ...] = ()
    """Output channels of each 3x3 convolution (+ ReLU + max-pooling) before the first
    MDLSTM level; empty (Graves) feeds pixel blocks straight in."""
    conv_pools: tuple[Block, ...] = ()
    """Max-pooling window after each convolution; ``(1, 1)`` is none."""
    conv_dropout: tuple[float, ...] | None = None
    """Dropout rate on the (pooled) output of each convolution while training, as PyLaia
    puts dropout in its convolutional front end; the last feeds the first MDLSTM level."""
    input_block: Block = (2, 2)
    hidden_sizes: tuple[int, ...] = (2, 10, 50)
    """Cells per scan direction of each MDLSTM level."""
    subsample_sizes: tuple[int, ...] = (6, 20)
    """Units of the tanh layer after each MDLSTM level but the last."""
    subsample_blocks: tuple[Block, ...] = ((4, 2), (4, 1))
    peepholes: bool = True
    dropout: tuple[float, ...] | None = None
    """Dropout rate on the output of each MDLSTM level while training (Pham et al. 2014:
    it regularises MDLSTM networks on small data sets); None is no dropout, as in Graves."""
    sequence_lstm: tuple[int, ...] = ()
    """Cells per direction of each bidirectional 1-D LSTM layer over the collapsed
    sequence; empty (Graves) feeds the collapsed columns straight to the output layer."""
    sequence_dropout: float = 0.0
    """Dropout on the input of each 1-D LSTM layer and of the output layer while training."""
    sequence_residual: bool = False
    """Each 1-D LSTM layer after the first adds its input to its output (a residual connection,
    He et al. 2016), so that a stack of them learns as fast as one: plain stacks sat near the
    all-blank start for epochs on the Hooker letters. Needs two or more layers of equal width."""

    def __post_init__(self) -> None:
        if self.num_classes < 1:
            raise ConfigError("num_classes must be at least 1")
        if not self.hidden_sizes:
            raise ConfigError("the network needs at least one MDLSTM level")
        levels = len(self.hidden_sizes) - 1
        if len(self.subsample_sizes) != levels or len(self.subsample_blocks) != levels:
            raise ConfigError(
                f"{len(self.hidden_sizes)} MDLSTM levels need {levels} subsampling layers, got "
                f"{len(self.subsample_sizes)} sizes and {len(self.subsample_blocks)} blocks"
            )
        check_rates("dropout", self.dropout, len(self.hidden_sizes), "MDLSTM level")
        check_rates("conv_dropout", self.conv_dropout, len(self.conv_channels), "convolution")
        if len(self.conv_pools) != len(self.conv_channels) or min(self.conv_channels, default=1) < 1:
            raise ConfigError(
                f"each convolution needs >= 1 channels and one pooling window, got channels "
                f"{self.conv_channels} and pools {self.conv_pools}"
            )
        if min(self.sequence_lstm, default=1) < 1 or not 0 <= self.sequence_dropout < 1:
            raise ConfigError(
                f"each 1-D LSTM layer needs >= 1 cells and the sequence dropout must be in [0, 1), "
                f"got {self.sequence_lstm} and {self.sequence_dropout}"
            )
        if self.sequence_residual and (len(self.sequence_lstm) < 2 or len(set(self.sequence_lstm)) > 1):
            raise ConfigError(f"residual 1-D LSTM layers need two or more of equal width, got {self.sequence_lstm}")
        for block in (*self.conv_pools, self.input_block, *self.subsample_blocks):
            if len(block) != 2 or min(block) < 1:
                raise ConfigError(f"a block is (height, width) with both >= 1, got {block}")

    @property
    def blocks(self) -> tuple[Block, ...]:
        """Every reduction of the image, in order: pooling windows, input block, subsampling blocks."""
        return (*self.conv_pools, self.input_block, *self.subsample_blocks)

    @property
    def width_reduction(self) -> int:
        return math.prod(w for _, w in self.blocks)

    @property
    def height_reduction(self) -> int:
        return math.prod(h for h, _ in self.blocks)

    def output_length(self, width: int) -> int:
        """CTC frames the network gives for an input ``width`` pixels wide."""
        for _, w in self.blocks:
            width = -(-width // w)
        return width

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkConfig:
        return cls(**checked_fields(cls, data, "network"))


def check_rates(name: str, rates: tuple[float, ...] | None, count: int, layer: str) -> None:
    """Refuse dropout ``rates`` that are not one rate in [0, 1) per layer (None is no dropout)."""
    if rates is not None and (len(rates) != count or not all(0 <= p < 1 for p in rates)):
        raise ConfigError(f"{name} needs one rate in [0, 1) per {layer} ({count}), got {rates}")


def preset(name: str, num_classes: int, **changes: Any) -> NetworkConfig:
    """The network ``name`` (a key of :data:`PRESETS`) for ``num_classes`` characters, with ``changes``."""
    if name not in PRESETS:
        raise ConfigError(f"unknown network preset {name!r}; choose one of {', '.join(PRESETS)}")
    return NetworkConfig(num_classes=num_classes, **{**PRESETS[name], **changes})
