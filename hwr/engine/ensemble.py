"""Combining trained models into an ensemble: what ``hwr ensemble`` does."""

from __future__ import annotations

from collections.abc import Sequence

from hwr.ensemble import Ensemble
from hwr.model_file import Model
from hwr.network import MDLSTMNetwork


def combine(models: Sequence[Model], names: Sequence[str], shifts: Sequence[int] = (0,)) -> Model:
    """One model whose network averages those of ``models`` (named ``names`` in messages),
    each reading the line at every vertical shift in ``shifts`` (see :mod:`hwr.ensemble`).

    Members must share the alphabet and the preprocessing, since they read one
    normalised image and their outputs are averaged class by class, and the width
    reduction, so that their frames line up. A member's language model was tuned for
    that member alone, so none is kept: add one to the ensemble with ``hwr lm``.
    Members that are ensembles themselves are flattened, and read at ``shifts`` only.
    """
    first, first_name = models[0], names[0]
    height = first.preprocessing.height
    if any(2 * abs(rows) >= height for rows in shifts):
        raise ValueError(f"shifts {list(shifts)}: each must move the line by less than half its height ({height} rows)")
    networks: list[MDLSTMNetwork] = []
    network_names: list[str] = []
    for model, name in zip(models, names):
        if model.alphabet != first.alphabet:
            raise ValueError(f"{name}: its alphabet differs from {first_name}'s; members must share one")
        if model.preprocessing != first.preprocessing:
            raise ValueError(
                f"{name}: its preprocessing ({model.preprocessing}) differs from {first_name}'s "
                f"({first.preprocessing}); members must read the same normalised lines"
            )
        if isinstance(model.network, Ensemble):
            networks.extend(model.network.members)
            network_names.extend(f"{name} (network {k})" for k in range(1, len(model.network.members) + 1))
        else:
            networks.append(model.network)
            network_names.append(name)
    return Model(Ensemble(networks, network_names, shifts), first.alphabet, first.preprocessing)
