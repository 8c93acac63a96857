"""hwr lm's tuning: the two-step search, and the same result from forked workers as from one process."""

from __future__ import annotations

import torch

from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.data.readers import read_lines
from hwr.decoders.beam import BeamSettings
from hwr.engine.tune_lm import add_language_model
from hwr.model_file import Model
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig
from hwr.synth import generate_dataset


def random_model(alphabet: Alphabet) -> Model:
    torch.manual_seed(0)
    network = MDLSTMNetwork(
        NetworkConfig(
            len(alphabet), input_block=(2, 2), hidden_sizes=(2, 6), subsample_sizes=(6,), subsample_blocks=((4, 1),)
        )
    )
    with torch.no_grad():  # a random but decisive network, so the searches read something
        network.output.weight.mul_(10)
    return Model(network, alphabet, Preprocessing(height=24))


def test_the_word_bonuses_are_tried_at_the_best_pair_and_workers_agree(tmp_path):
    lines = read_lines(generate_dataset(tmp_path / "data", 30, seed=3, valid_fraction=0.3, test_fraction=0.0))
    model = random_model(Alphabet.from_texts(line.text for line in lines.lines))
    train, valid = lines.split("train"), lines.split("valid")
    runs = []
    for workers in (1, 2):
        logged: list[str] = []
        tuned, best, _ = add_language_model(
            model,
            train,
            [(valid, model.preprocessing)],
            3,
            (0.5, 1.0),
            (0.0, 1.0),
            (0.0, 2.0),
            BeamSettings(beam_width=8),
            logged.append,
            workers,
        )
        runs.append((logged, best))
    (logged, best), (logged_by_two, best_by_two) = runs
    assert logged == logged_by_two and best == best_by_two
    trials = [line for line in logged if line.startswith("lm weight")]
    assert len(trials) == 5  # 2 x 2 weights and insertion bonuses, then one word bonus (0 was in the grid)
    assert all("word bonus 0:" in line for line in trials[:4]) and "word bonus 2:" in trials[4]
    grid_best = min(trials[:4], key=lambda line: float(line.split("valid CER ")[1].split("%")[0]))
    assert trials[4].startswith(grid_best.split(", word bonus")[0])
    assert tuned.language_model is not None and tuned.language_model.settings == best.settings
