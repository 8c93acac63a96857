"""Ensembles: the averaged posteriors, the members' agreement checks, the model file round trip."""

from __future__ import annotations

import pytest
import torch

from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.engine.ensemble import combine
from hwr.ensemble import Ensemble
from hwr.model_file import Model, load_model, read_model_file, save_model
from hwr.network import MDLSTMNetwork, NetworkConfig

ALPHABET = Alphabet.from_texts(["Dear Hemsley"])


def network(seed: int, **overrides) -> MDLSTMNetwork:
    torch.manual_seed(seed)
    config = dict(num_classes=len(ALPHABET), input_block=(2, 2), hidden_sizes=(2, 3), subsample_sizes=(4,),
                  subsample_blocks=((2, 2),))
    return MDLSTMNetwork(NetworkConfig(**{**config, **overrides})).eval()


IMAGES, SIZES = torch.rand(3, 16, 40), torch.tensor([[16, 40], [12, 30], [16, 9]])


@torch.no_grad()
def test_the_output_is_the_normalised_geometric_mean_of_the_members_posteriors():
    # Members of different shapes but the same width reduction (2 x 2 vs 4 x 1 blocks).
    members = [network(0), network(1, input_block=(4, 4), subsample_blocks=((2, 1),), hidden_sizes=(3, 2))]
    log_probs, lengths = Ensemble(members)(IMAGES, SIZES)
    outputs = [member(IMAGES, SIZES) for member in members]
    product = (outputs[0][0].exp() * outputs[1][0].exp()).sqrt()
    expected = torch.log(product / product.sum(-1, keepdim=True))
    torch.testing.assert_close(log_probs, expected)
    assert lengths.tolist() == outputs[0][1].tolist() == outputs[1][1].tolist() == [10, 8, 3]
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(log_probs.shape[:2]))
    alone, _ = Ensemble([members[0], members[0]])(IMAGES, SIZES)
    torch.testing.assert_close(alone, outputs[0][0], msg="an ensemble of one network twice is that network")


def test_members_must_give_the_same_frames_and_classes():
    with pytest.raises(ValueError, match="at least two"):
        Ensemble([network(0)])
    with pytest.raises(ValueError, match=r"network 2 shrinks the width 4x, network 1 6x"):
        Ensemble([network(0, input_block=(4, 3)), network(1)])
    with pytest.raises(ValueError, match="network 2 has 3 classes, network 1 10"):
        Ensemble([network(0), network(1, num_classes=3)])


def test_combine_checks_alphabet_and_preprocessing_and_flattens_ensembles():
    a, b, c = (Model(network(seed), ALPHABET, Preprocessing(height=16)) for seed in range(3))
    pair = combine([a, b], ["a", "b"])
    assert len(combine([pair, c], ["pair", "c"]).network.members) == 3
    other_alphabet = Alphabet.from_texts(["Dear Hooker"])
    d = Model(network(3, num_classes=len(other_alphabet)), other_alphabet, Preprocessing(height=16))
    with pytest.raises(ValueError, match="d: its alphabet differs from a's"):
        combine([a, d], ["a", "d"])
    with pytest.raises(ValueError, match="e: its preprocessing .* differs from a's"):
        combine([a, Model(network(4), ALPHABET, Preprocessing(height=20))], ["a", "e"])
    f = Model(network(5, input_block=(2, 3)), ALPHABET, Preprocessing(height=16))
    with pytest.raises(ValueError, match=r"f shrinks the width 6x, pair \(network 1\) 4x"):
        combine([pair, f], ["pair", "f"])


@torch.no_grad()
def test_an_ensemble_model_file_round_trips(tmp_path):
    model = combine([Model(network(seed), ALPHABET, Preprocessing(height=16)) for seed in range(2)], ["a", "b"])
    save_model(tmp_path / "e.safetensors", model, extra_header={"members": [{"model": "a"}, {"model": "b"}]})
    loaded = load_model(tmp_path / "e.safetensors")
    assert isinstance(loaded.network, Ensemble)
    assert [m.config for m in loaded.network.members] == [m.config for m in model.network.members]
    torch.testing.assert_close(loaded.network(IMAGES, SIZES)[0], model.network(IMAGES, SIZES)[0], rtol=0, atol=0)
    assert read_model_file(tmp_path / "e.safetensors")[1]["members"] == [{"model": "a"}, {"model": "b"}]
