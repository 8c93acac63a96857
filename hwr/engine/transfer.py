"""Starting a run from a trained model (``hwr train --init MODEL``): its weights, its network and
preprocessing, and its alphabet changed to fit the new data.

A new collection rarely has exactly the model's characters. ``keep`` trains on the model's
alphabet (lines with other characters are skipped, and reported); ``union`` adds the data's
new characters to it; ``new`` takes just the data's characters. Each character the model
already knew keeps its output row exactly, so the fine-tuned network starts out reading it
as the model did; a new character's row starts small (its weights near zero, its bias the
mean of the known characters'), so it is neither favoured nor ruled out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

import torch

from hwr.data.alphabet import Alphabet
from hwr.engine.config import RunConfig, network_fields
from hwr.errors import ConfigError
from hwr.model_file import Model, load_model
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig
from hwr.shipped import resolve_model

AlphabetMode = Literal["keep", "union", "new"]
FREE = ("dropout", "conv_dropout", "sequence_dropout", "scale")
"""Settings a run from a model may change: dropout shapes no weight, and the scale is the new
lines' resolution (scans at another one are read at the size the model knows)."""
NEW_ROW_SCALE = 1e-3
"""Largest weight of a new character's output row (uniform), small next to the trained rows."""


def fitted_alphabet(model: Alphabet, texts: Iterable[str], mode: AlphabetMode | None) -> Alphabet:
    """The alphabet a run from a model with ``model`` alphabet trains with on ``texts``; with no
    ``mode``, the model's, or a ConfigError naming the characters it lacks and the choices."""
    data = Alphabet.from_texts(texts)
    missing = [c for c in data.characters if c not in model.characters]
    if mode == "union":
        return Alphabet([*model.characters, *missing])
    if mode == "new":
        return data
    if missing and mode is None:
        raise ConfigError(
            f"the training lines have {len(missing)} characters the model lacks ({''.join(missing)!r}); "
            "--alphabet union adds them to the model's, --alphabet new keeps only the data's "
            "(--alphabet keep skips the lines that have them)"
        )
    return model


def with_alphabet(model: Model, alphabet: Alphabet, config: NetworkConfig | None = None, seed: int = 0) -> Model:
    """``model`` reading ``alphabet``: the output rows of the characters it shares with the model's
    copied exactly (the blank's too), the others new and small (drawn from ``seed``). ``config``:
    the new network's (default: the model's, for ``alphabet``), of the same weight shapes."""
    network = model.network
    old = network.output
    config = config or replace(network.config, num_classes=len(alphabet))
    fresh = MDLSTMNetwork(config)
    state = {name: value for name, value in network.state_dict().items() if not name.startswith("output.")}
    fresh.load_state_dict({**state, **{f"output.{k}": v for k, v in fresh.output.state_dict().items()}})
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        weight, bias = fresh.output.weight, fresh.output.bias
        weight.copy_((torch.rand(weight.shape, generator=generator) * 2 - 1) * NEW_ROW_SCALE)
        bias.fill_(float(old.bias[1:].mean()) if len(model.alphabet) else 0.0)
        rows = {0: 0, **{k + 1: model.alphabet.characters.index(c) + 1 for k, c in enumerate(alphabet.characters)
                         if c in model.alphabet.characters}}  # fmt: skip
        for new_row, old_row in rows.items():
            weight[new_row] = old.weight[old_row]
            bias[new_row] = old.bias[old_row]
    return Model(fresh.eval(), alphabet, model.preprocessing)


def init_model(name: str) -> Model:
    """The model a run starts from (a file, or a shipped model's name); one network, language model dropped."""
    model = load_model(resolve_model(name))
    if not isinstance(model.network, MDLSTMNetwork):
        raise ConfigError(
            f"--init {name}: an ensemble; --init takes a model of one network (fine-tune the networks it "
            "was made from one by one, then combine them with hwr ensemble)"
        )
    return Model(model.network, model.alphabet, model.preprocessing)


def model_settings(model: Model) -> dict:
    """The run settings a model fixes: its network's shape and its preprocessing."""
    return {"network": network_fields(model.network.config), "preprocessing": model.preprocessing.to_dict()}


def check_shape(run: RunConfig, model: Model, name: str) -> None:
    """Refuse a run whose network or preprocessing differs from ``model``'s but for :data:`FREE`."""
    fixed = model_settings(model)
    wanted = {"network": run.network, "preprocessing": run.preprocessing.to_dict()}
    differ = [
        f"{table}.{key} ({fixed[table][key]} -> {wanted[table][key]})"
        for table in fixed
        for key in fixed[table]
        if wanted[table][key] != fixed[table][key] and key not in FREE
    ]
    if differ:
        raise ConfigError(
            f"--init {name}: the network and preprocessing come from the model; these settings would change "
            f"them: {', '.join(differ)} (dropout and the scale may change)"
        )
