"""Combining trained models into one ensemble model: what ``hwr ensemble`` does."""

from __future__ import annotations

from collections.abc import Sequence

from hwr.ensemble import Ensemble, RescoringEnsemble, networks_of
from hwr.errors import ConfigError
from hwr.model_file import Model
from hwr.network import MDLSTMNetwork


def combine(models: Sequence[Model], names: Sequence[str], shifts: Sequence[int] = (0,)) -> Model:
    """One model that combines the networks of ``models`` (named ``names`` in messages),
    each reading the line at every vertical shift in ``shifts`` (see :mod:`hwr.ensemble`).

    Networks without 1-D LSTM layers are averaged frame by frame, as one :class:`Ensemble`;
    each network with them is a group of its own in a :class:`RescoringEnsemble`, since
    its CTC spikes need not line up with any other network's.
    Members must share the alphabet and the preprocessing, since they read one
    normalised image and their outputs are compared class by class, and the width
    reduction. A member's language model was tuned for that member alone, so none is
    kept: add one to the ensemble with ``hwr lm``. Members that are ensembles themselves
    are taken apart into their networks, which read at ``shifts`` only.
    """
    first, first_name = models[0], names[0]
    height = first.preprocessing.height
    if any(2 * abs(rows) >= height for rows in shifts):
        raise ConfigError(
            f"shifts {list(shifts)}: each must move the line by less than half its height ({height} rows)"
        )
    aligned: list[tuple[MDLSTMNetwork, str]] = []
    apart: list[tuple[MDLSTMNetwork, str]] = []
    for model, name in zip(models, names):
        if model.alphabet != first.alphabet:
            raise ConfigError(f"{name}: its alphabet differs from {first_name}'s; members must share one")
        if model.preprocessing != first.preprocessing:
            raise ConfigError(
                f"{name}: its preprocessing ({model.preprocessing}) differs from {first_name}'s "
                f"({first.preprocessing}); members must read the same normalised lines"
            )
        networks = networks_of(model.network)
        for k, network in enumerate(networks, start=1):
            named = (network, name if len(networks) == 1 else f"{name} (network {k})")
            (apart if network.config.sequence_lstm else aligned).append(named)
    groups = ([aligned] if aligned else []) + [[named] for named in apart]
    built = [_group([n for n, _ in group], [name for _, name in group], shifts) for group in groups]
    network = built[0] if len(built) == 1 else RescoringEnsemble(built, [group[0][1] for group in groups])
    return Model(network, first.alphabet, first.preprocessing)


def _group(networks: list[MDLSTMNetwork], names: list[str], shifts: Sequence[int]) -> MDLSTMNetwork | Ensemble:
    """The networks averaged frame by frame at ``shifts``, or the one network where that is all."""
    if len(networks) == 1 and tuple(shifts) == (0,):
        return networks[0]
    return Ensemble(networks, names, shifts)
