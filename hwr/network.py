"""The Graves & Schmidhuber (2009) hierarchy: blocks -> MDLSTM -> tanh subsampling -> ... -> collapse -> CTC.

An image is cut into blocks whose pixels form the input vectors of the first
MDLSTM layer; between layers a feed-forward tanh layer (no bias, so padding
stays zero) maps each block of the previous output to one vector; the top
layer's output is summed over the height, giving one vector per column, and a
linear layer gives the class scores for CTC (class 0 is the blank).

Optionally, as in Voigtlaender et al. (2016), convolutions come first: each is a
3x3 convolution, ReLU and max-pooling. They do the cheap low-level work on the
full-resolution image, so the (serial, costly) MDLSTM scans run on a grid a few
rows high. Outputs outside each image are zeroed after every convolution, and the
ReLU follows the pooling (max and ReLU commute): a pooling window that overlaps the
padding may take its zeros as the maximum, but after the ReLU it gives the same as
on the image alone, so a line's result never depends on its batch.

Optionally, as in Moysset & Messina (2019, "Are 2D-LSTM really dead for offline
text recognition?"), bidirectional 1-D LSTM layers read the collapsed sequence
before the output layer: the MDLSTM levels see the 2-D image, the 1-D layers
model the line left to right and back at a fraction of a 2-D scan's cost.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hwr.convolution import convolution_stage, shrink
from hwr.mdlstm import MDLSTM2d
from hwr.mdlstm.layer import Backend
from hwr.network_config import Block, NetworkConfig


def to_blocks(x: Tensor, sizes: Tensor, block: Block) -> tuple[Tensor, Tensor]:
    """``(B, H, W, C)`` -> ``(B, ceil(H/bh), ceil(W/bw), bh*bw*C)``, zero-padding the edges."""
    bh, bw = block
    b, h, w, c = x.shape
    x = F.pad(x, (0, 0, 0, -w % bw, 0, -h % bh))
    hh, ww = x.shape[1] // bh, x.shape[2] // bw
    x = x.view(b, hh, bh, ww, bw, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hh, ww, bh * bw * c)
    return x, shrink(sizes, block)


class BidirectionalLSTM(nn.Module):
    """A 1-D LSTM each way over a padded batch ``(T, B, C)`` -> ``(T, B, 2 * hidden)``.

    The backward LSTM reads each sequence reversed within its own length, so it
    starts at the line's last real frame. Frames past a line's length hold
    whatever the padding gives and are never read by its real frames. (Packed
    sequences do the same but run ~5x slower on the CPU for varying lengths.)
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.forward_lstm = nn.LSTM(input_size, hidden_size)
        self.backward_lstm = nn.LSTM(input_size, hidden_size)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        ahead = self.forward_lstm(x)[0]
        back = reverse_within(self.backward_lstm(reverse_within(x, lengths))[0], lengths)
        return torch.cat([ahead, back], dim=-1)


def reverse_within(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence of ``(T, B, C)`` within its length; frames past it stay put."""
    t = torch.arange(x.shape[0], device=x.device).unsqueeze(1)
    lengths = lengths.to(x.device).unsqueeze(0)
    index = torch.where(t < lengths, lengths - 1 - t, t)
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


def dropouts(rates: tuple[float, ...] | None, count: int) -> nn.ModuleList:
    """One dropout module per layer (identity where the rate is 0 or not given)."""
    return nn.ModuleList(nn.Dropout(p) if p > 0 else nn.Identity() for p in rates or [0.0] * count)


class MDLSTMNetwork(nn.Module):
    """Line images ``(B, H, W)`` (ink high, zero padding) -> CTC log-probabilities ``(T, B, K+1)``."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.mdlstm = nn.ModuleList()
        self.subsample = nn.ModuleList()
        self.convs = nn.ModuleList()
        channels = 1
        for out in config.conv_channels:
            conv = nn.Conv2d(channels, out, kernel_size=3, padding=1)
            # He initialisation keeps the signal's scale through ReLU layers; torch's default
            # shrinks it ~3x per layer, and a stack of them starts too faint to learn from.
            nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            self.convs.append(conv)
            channels = out
        features = config.input_block[0] * config.input_block[1] * channels
        for level, hidden in enumerate(config.hidden_sizes):
            self.mdlstm.append(MDLSTM2d(features, hidden, peepholes=config.peepholes))
            features = 4 * hidden
            if level < len(config.subsample_sizes):
                bh, bw = config.subsample_blocks[level]
                out = config.subsample_sizes[level]
                self.subsample.append(nn.Linear(bh * bw * features, out, bias=False))
                features = out
        # The collapsed columns of a fresh network are faint (std ~0.03): normalised, the
        # 1-D LSTMs see them at once; raw, training sat on the all-blank plateau for epochs.
        self.sequence_norm = nn.LayerNorm(features) if config.sequence_lstm else nn.Identity()
        self.sequence = nn.ModuleList()
        for hidden in config.sequence_lstm:
            self.sequence.append(BidirectionalLSTM(features, hidden))
            features = 2 * hidden
        self.sequence_dropout = nn.Dropout(config.sequence_dropout) if config.sequence_dropout > 0 else nn.Identity()
        self.output = nn.Linear(features, config.num_classes + 1)
        self.dropout = dropouts(config.dropout, len(config.hidden_sizes))
        self.conv_dropout = dropouts(config.conv_dropout, len(config.conv_channels))

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, images: Tensor, sizes: Tensor, backend: Backend = "auto") -> tuple[Tensor, Tensor]:
        """Args: images ``(B, H, W)``; sizes ``(B, 2)`` real ``(height, width)`` per image.

        Returns: log-probabilities ``(T, B, num_classes + 1)`` and frame counts ``(B,)``.
        """
        x = images.unsqueeze(1)
        compiled = backend in ("auto", "compiled")
        for conv, pool, dropout in zip(self.convs, self.config.conv_pools, self.conv_dropout):
            x, sizes = convolution_stage(x, sizes, conv, pool, compiled)
            x = dropout(x)  # zeros stay zero
        x, sizes = to_blocks(x.permute(0, 2, 3, 1).contiguous(), sizes, self.config.input_block)
        for level, mdlstm in enumerate(self.mdlstm):
            x = self.dropout[level](mdlstm(x, sizes, backend=backend))  # zeros stay zero
            if level < len(self.subsample):
                x, sizes = to_blocks(x, sizes, self.config.subsample_blocks[level])
                x = torch.tanh(self.subsample[level](x))
        columns = x.sum(dim=1).transpose(0, 1)  # collapse: zero outside each image, so padding adds nothing
        lengths = sizes[:, 1]
        columns = self.sequence_norm(columns)
        for layer, lstm in enumerate(self.sequence):
            read = lstm(self.sequence_dropout(columns), lengths)
            columns = columns + read if self.config.sequence_residual and layer > 0 else read
        log_probs = F.log_softmax(self.output(self.sequence_dropout(columns)), dim=-1)
        return log_probs, lengths
