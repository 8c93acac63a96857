"""Ensembles: independently trained networks that read each line together, at one or more heights.

Networks trained from different random starts make partly different errors, so
combining their frame posteriors is right more often than any one of them. The
combination is the normalised geometric mean, ``p(k | t) ∝ prod_m p_m(k | t)^(1/M)``
(the mean of the log-probabilities, renormalised): measured on the Joseph Hooker valid
lines with two networks it beat the arithmetic mean of the probabilities, greedy
23.24% vs 24.02% (members 24.59% and 24.93%), with the language model 18.32% vs 18.78%
(datasets/joseph_hooker/RESULTS.md, Session 11). A class that one member rules out
stays unlikely, which keeps CTC's spikes sharp where the arithmetic mean halves them.
The average is taken frame by frame, so the members must cut a line into the same
frames: the same width reduction and the same classes. They must also read the same
normalised image (one preprocessing) and share one alphabet, which
:func:`hwr.engine.combine.combine` checks for whole models.

Each member can also read the line moved up and down by a few rows (``shifts``),
and those readings are averaged the same way. Where the line sits in its cut varies,
and a network errs partly differently at each position: on the Joseph Hooker valid
lines, reading at shifts -7, 0 and 7 rows (of 96) took a 2-network ensemble from
21.24% to 20.76% greedy, 15.77% to 15.16% with the language model
(datasets/joseph_hooker/RESULTS.md, Session 16), for three times the reading time.

Networks with 1-D LSTM layers over the collapsed columns do not average frame by
frame: those layers see the whole line and are free to put a character's CTC spike on
any frame near it, so two such networks put it on different frames, where the average
halves both and the blank wins (averaged with another network, one of them got worse
than either member). :class:`RescoringEnsemble` combines such networks after decoding
instead: each group of networks that do line up (an :class:`Ensemble`, or one network)
proposes its best readings, and every group scores every proposal by the probability
CTC gives it (:mod:`hwr.decoders.rescoring`). On the Hooker lines, adding a network with
a 1-D LSTM head that way to a frame-averaged pair took valid from 15.59% to 15.11% and test
from 19.24% to 18.74%, with the language model (RESULTS.md, Session 18).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from hwr.errors import ConfigError
from hwr.mdlstm.layer import Backend
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig


def shift_rows(images: Tensor, sizes: Tensor, rows: int) -> Tensor:
    """``images`` (batch, height, width) with each image's content moved down ``rows`` rows
    (up where negative) within its own height (``sizes[:, 0]``); rows moved in are zero."""
    if rows == 0:
        return images
    shifted = torch.zeros_like(images)
    for b, height in enumerate(sizes[:, 0].tolist()):
        if abs(rows) < height:
            if rows > 0:
                shifted[b, rows:height] = images[b, : height - rows]
            else:
                shifted[b, : height + rows] = images[b, -rows:height]
    return shifted


def _check_same_outputs(configs: Sequence[NetworkConfig], names: Sequence[str]) -> None:
    """Networks (named ``names`` in messages) whose outputs are combined class by class and
    frame by frame must have the same classes and width reduction."""
    first = configs[0]
    for config, name in zip(configs[1:], names[1:]):
        if config.num_classes != first.num_classes:
            raise ConfigError(f"{name} has {config.num_classes} classes, {names[0]} {first.num_classes}")
        # Nested ceiling divisions equal one by their product, so this makes every width give equal frames.
        if config.width_reduction != first.width_reduction:
            raise ConfigError(
                f"{name} shrinks the width {config.width_reduction}x, {names[0]} "
                f"{first.width_reduction}x: their CTC frames would not line up"
            )


class Ensemble(nn.Module):
    """Line images -> the log of the normalised geometric mean posteriors of every member
    at every shift, like :class:`MDLSTMNetwork`."""

    def __init__(
        self, members: Sequence[MDLSTMNetwork], names: Sequence[str] | None = None, shifts: Sequence[int] = (0,)
    ) -> None:
        """``names`` (default "network 1", ...) name the members in error messages; ``shifts``
        are the rows each member's reading is moved down (up where negative)."""
        super().__init__()
        self.shifts = tuple(int(rows) for rows in shifts)
        if not self.shifts or len(set(self.shifts)) != len(self.shifts):
            raise ConfigError(f"shifts must be distinct and at least one, got {list(shifts)}")
        if len(members) * len(self.shifts) < 2:
            raise ConfigError(
                f"an ensemble needs at least two readings (networks x shifts), got {len(members)} network "
                f"at {len(self.shifts)} shift"
            )
        names = names or [f"network {k}" for k in range(1, len(members) + 1)]
        _check_same_outputs([member.config for member in members], names)
        self.members = nn.ModuleList(members)

    @property
    def num_classes(self) -> int:
        return self.members[0].config.num_classes

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, images: Tensor, sizes: Tensor, backend: Backend = "auto") -> tuple[Tensor, Tensor]:
        readings = (shift_rows(images, sizes, rows) for rows in self.shifts)
        outputs = [member(shifted, sizes, backend) for shifted in readings for member in self.members]
        lengths = outputs[0][1]
        mean = torch.stack([log_probs for log_probs, _ in outputs]).mean(dim=0)
        return torch.log_softmax(mean, dim=-1), lengths


class RescoringEnsemble(nn.Module):
    """Groups of networks (each an :class:`Ensemble` or one network) that decode apart and
    rescore each other's readings; the output stacks every group's log-probabilities
    ``(groups, frames, batch, classes)``.

    A group's weight in the rescoring is its share of the networks, so each network
    counts as much as in a frame-level :class:`Ensemble`.
    """

    def __init__(self, groups: Sequence[MDLSTMNetwork | Ensemble], names: Sequence[str] | None = None) -> None:
        super().__init__()
        if len(groups) < 2:
            raise ConfigError(f"a rescoring ensemble needs at least two groups, got {len(groups)}")
        configs = [networks_of(group)[0].config for group in groups]  # the groups' outputs are stacked
        _check_same_outputs(configs, names or [f"group {k}" for k in range(1, len(groups) + 1)])
        self.groups = nn.ModuleList(groups)
        sizes = [len(networks_of(group)) for group in groups]
        self.weights = tuple(size / sum(sizes) for size in sizes)

    @property
    def num_classes(self) -> int:
        return networks_of(self.groups[0])[0].config.num_classes

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, images: Tensor, sizes: Tensor, backend: Backend = "auto") -> tuple[Tensor, Tensor]:
        outputs = [group(images, sizes, backend) for group in self.groups]
        return torch.stack([log_probs for log_probs, _ in outputs]), outputs[0][1]


def networks_of(network: MDLSTMNetwork | Ensemble | RescoringEnsemble) -> list[MDLSTMNetwork]:
    """The networks inside ``network`` (itself, if it is one)."""
    if isinstance(network, RescoringEnsemble):
        return [n for group in network.groups for n in networks_of(group)]
    return list(network.members) if isinstance(network, Ensemble) else [network]
