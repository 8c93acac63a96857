"""Ensembles: the averaged posteriors, the members' agreement checks, the model file round trip."""

from __future__ import annotations

import pytest
import torch

from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.engine.combine import combine
from hwr.ensemble import Ensemble, RescoringEnsemble, networks_of, shift_rows
from hwr.model_file import Model, _network_from_header, load_model, read_model_file, save_model
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig
from hwr.recognizer import decode, line_log_probs, transcribe_normalized

ALPHABET = Alphabet.from_texts(["Dear Hemsley"])


def network(seed: int, **overrides) -> MDLSTMNetwork:
    torch.manual_seed(seed)
    config = dict(
        num_classes=len(ALPHABET),
        input_block=(2, 2),
        hidden_sizes=(2, 3),
        subsample_sizes=(4,),
        subsample_blocks=((2, 2),),
    )
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


def test_shift_rows_moves_each_image_within_its_own_height():
    images = torch.arange(1, 13, dtype=torch.float32).reshape(2, 6, 1).expand(2, 6, 2).clone()
    sizes = torch.tensor([[6, 2], [4, 2]])  # the second image is padded below row 4
    down = shift_rows(images, sizes, 2)
    assert down[0, :, 0].tolist() == [0, 0, 1, 2, 3, 4]
    assert down[1, :, 0].tolist() == [0, 0, 7, 8, 0, 0], "content stays inside the real height"
    up = shift_rows(images, sizes, -1)
    assert up[0, :, 0].tolist() == [2, 3, 4, 5, 6, 0]
    assert up[1, :, 0].tolist() == [8, 9, 10, 0, 0, 0]
    assert shift_rows(images, sizes, 5)[1].abs().sum() == 0
    assert shift_rows(images, sizes, 0) is images


@torch.no_grad()
def test_shifted_readings_are_averaged_like_members():
    members = [network(0), network(1)]
    log_probs, _ = Ensemble(members, shifts=(-3, 0, 2))(IMAGES, SIZES)
    readings = [member(shift_rows(IMAGES, SIZES, rows), SIZES)[0] for rows in (-3, 0, 2) for member in members]
    mean = torch.stack(readings).mean(0)
    torch.testing.assert_close(log_probs, torch.log_softmax(mean, -1))
    unshifted, _ = Ensemble(members)(IMAGES, SIZES)
    assert not torch.allclose(log_probs, unshifted)
    one, _ = Ensemble([members[0]], shifts=(0, 2))(IMAGES, SIZES)
    assert one.shape == log_probs.shape


def test_members_must_give_the_same_frames_and_classes():
    with pytest.raises(ValueError, match="at least two readings"):
        Ensemble([network(0)])
    with pytest.raises(ValueError, match="distinct"):
        Ensemble([network(0), network(1)], shifts=(1, 1))
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
    model = combine([Model(network(seed), ALPHABET, Preprocessing(height=16)) for seed in range(2)], ["a", "b"], (0, 3))
    save_model(tmp_path / "e.safetensors", model, extra_header={"members": [{"model": "a"}, {"model": "b"}]})
    loaded = load_model(tmp_path / "e.safetensors")
    assert isinstance(loaded.network, Ensemble)
    assert [m.config for m in loaded.network.members] == [m.config for m in model.network.members]
    assert loaded.network.shifts == (0, 3)
    header = {"networks": [m.config.to_dict() for m in model.network.members]}  # written before shifts existed
    assert _network_from_header(header).shifts == (0,)
    torch.testing.assert_close(loaded.network(IMAGES, SIZES)[0], model.network(IMAGES, SIZES)[0], rtol=0, atol=0)
    assert read_model_file(tmp_path / "e.safetensors")[1]["members"] == [{"model": "a"}, {"model": "b"}]


@torch.no_grad()
def test_networks_with_1d_lstm_layers_are_rescoring_groups_of_their_own(tmp_path):
    plain = [Model(network(seed), ALPHABET, Preprocessing(height=16)) for seed in range(2)]
    headed = Model(network(2, sequence_lstm=(3,)), ALPHABET, Preprocessing(height=16))
    model = combine([plain[0], headed, plain[1]], ["a", "h", "b"], (0, 3))
    ensemble = model.network
    assert isinstance(ensemble, RescoringEnsemble)
    assert ensemble.weights == pytest.approx((2 / 3, 1 / 3)), "each group weighs as many networks as it has"
    assert [len(networks_of(group)) for group in ensemble.groups] == [2, 1]
    readings, lengths = ensemble(IMAGES, SIZES)
    pair, _ = Ensemble([plain[0].network, plain[1].network], shifts=(0, 3))(IMAGES, SIZES)
    alone, _ = Ensemble([headed.network], shifts=(0, 3))(IMAGES, SIZES)
    torch.testing.assert_close(readings, torch.stack([pair, alone]))
    assert lengths.tolist() == [10, 8, 3]
    assert isinstance(combine([headed, plain[0]], ["h", "a"]).network.groups[1], MDLSTMNetwork), (
        "no shifts: no Ensemble"
    )
    assert isinstance(combine([plain[0], plain[1]], ["a", "b"]).network, Ensemble)

    save_model(tmp_path / "r.safetensors", model)
    loaded = load_model(tmp_path / "r.safetensors")
    assert isinstance(loaded.network, RescoringEnsemble)
    assert loaded.network.weights == ensemble.weights
    torch.testing.assert_close(loaded.network(IMAGES, SIZES)[0], readings, rtol=0, atol=0)
    images = [(255 * IMAGES[b, :h, :w]).to(torch.uint8).numpy() for b, (h, w) in enumerate(SIZES.tolist())]
    for image, transcription in zip(images, transcribe_normalized(loaded, images)):  # batched
        [(_, alone)] = line_log_probs(model, [image])
        assert alone.shape[0] == 2
        single = decode(model, alone)
        assert transcription.text == single.text
        assert transcription.confidence == pytest.approx(single.confidence, rel=1e-6)  # batching rounds differently
        assert 0 < transcription.confidence <= 1


def test_rescoring_groups_must_give_the_same_frames_and_classes():
    with pytest.raises(ValueError, match="at least two groups"):
        RescoringEnsemble([network(0)])
    with pytest.raises(ValueError, match=r"group 2 shrinks the width 4x, group 1 6x"):
        RescoringEnsemble([network(0, input_block=(4, 3)), network(1)])
    with pytest.raises(ValueError, match="group 2 has 3 classes, group 1 10"):
        RescoringEnsemble([network(0), network(1, num_classes=3)])


def test_a_model_file_with_nested_rescoring_groups_is_refused(tmp_path):
    single = {"network": network(0).config.to_dict()}
    with pytest.raises(ValueError, match="a rescoring ensemble's groups cannot be rescoring ensembles"):
        _network_from_header({"groups": [single, {"groups": [single, single]}]})
    assert isinstance(_network_from_header({"groups": [single, single]}), RescoringEnsemble)
