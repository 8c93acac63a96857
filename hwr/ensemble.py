"""Ensembles: independently trained networks that read each line together.

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
:func:`hwr.engine.ensemble.combine` checks for whole models.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from hwr.mdlstm.layer import Backend
from hwr.network import MDLSTMNetwork


class Ensemble(nn.Module):
    """Line images -> the log of the members' normalised geometric mean posteriors, like :class:`MDLSTMNetwork`."""

    def __init__(self, members: Sequence[MDLSTMNetwork], names: Sequence[str] | None = None) -> None:
        """``names`` (default "network 1", ...) name the members in error messages."""
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two networks, got {len(members)}")
        names = names or [f"network {k}" for k in range(1, len(members) + 1)]
        first = members[0].config
        for member, name in zip(members[1:], names[1:]):
            config = member.config
            if config.num_classes != first.num_classes:
                raise ValueError(f"{name} has {config.num_classes} classes, {names[0]} {first.num_classes}")
            # Nested ceiling divisions equal one by their product, so this makes every width give equal frames.
            if config.width_reduction != first.width_reduction:
                raise ValueError(
                    f"{name} shrinks the width {config.width_reduction}x, {names[0]} "
                    f"{first.width_reduction}x: their CTC frames would not line up"
                )
        self.members = nn.ModuleList(members)

    @property
    def num_classes(self) -> int:
        return self.members[0].config.num_classes

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, images: Tensor, sizes: Tensor, backend: Backend = "auto") -> tuple[Tensor, Tensor]:
        outputs = [member(images, sizes, backend) for member in self.members]
        lengths = outputs[0][1]
        mean = torch.stack([log_probs for log_probs, _ in outputs]).mean(dim=0)
        return torch.log_softmax(mean, dim=-1), lengths
