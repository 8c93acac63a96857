"""The Graves hierarchy (and its convolutional front end): shapes, weight count, frame counts,
batching, config round trip, CTC."""

from __future__ import annotations

import json

import pytest
import torch

from hwr.network import MDLSTMNetwork, to_blocks
from hwr.network_config import NetworkConfig, preset
from tests.mdlstm.helpers import FAST_BACKENDS, require_backend

CONV = {
    "conv_channels": (3, 4),
    "conv_pools": ((2, 2), (1, 2)),
    "input_block": (2, 1),
    "hidden_sizes": (2, 3),
    "subsample_sizes": (4,),
    "subsample_blocks": ((2, 1),),
}
"""A small convolutional front end: 3x3 conv, pool 2x2, conv, pool 1x2, then two MDLSTM levels."""
SEQUENCE = {**CONV, "sequence_lstm": (3, 2)}
"""As CONV, with two bidirectional 1-D LSTM layers over the collapsed sequence."""
RESIDUAL = {**CONV, "sequence_lstm": (3, 3), "sequence_residual": True}
"""As CONV, with two 1-D LSTM layers, the second residual."""
LAYERS = {"graves": {"hidden_sizes": (2, 3, 4)}, "conv": CONV, "sequence": SEQUENCE, "residual": RESIDUAL}


def test_graves_default_has_about_160k_weights():
    net = MDLSTMNetwork(preset("graves2009", num_classes=120))
    # counted by hand: MDLSTM 4*(12*10+10+4*10+4*2) + tanh 4*3*8*6 + MDLSTM 4*(6*50+50+20*50+4*10)
    # + tanh 4*2*40*20 + MDLSTM 4*(20*250+250+100*250+4*50) + output 200*121+121
    assert net.num_parameters() == 712 + 576 + 5560 + 6400 + 121800 + 24321 == 159369


def test_graves_default_shrinks_width_18x_and_height_64x():
    config = preset("graves2009", num_classes=10)
    assert config.width_reduction == 18 and config.height_reduction == 64
    assert config.output_length(1000) == 56  # ceil(ceil(ceil(1000/3)/3)/2)
    assert config.output_length(1) == 1


def test_to_blocks_orders_pixels_and_rounds_sizes_up():
    x = torch.arange(2 * 5 * 1, dtype=torch.float32).view(1, 2, 5, 1)
    blocks, sizes = to_blocks(x, torch.tensor([[2, 5]]), (2, 3))
    assert blocks.shape == (1, 1, 2, 6)
    assert blocks[0, 0, 0].tolist() == [0, 1, 2, 5, 6, 7]
    assert blocks[0, 0, 1].tolist() == [3, 4, 0, 8, 9, 0]
    assert sizes.tolist() == [[1, 2]]


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_output_shapes_and_lengths(backend):
    require_backend(backend)
    config = NetworkConfig(num_classes=7)
    net = MDLSTMNetwork(config)
    sizes = torch.tensor([[64, 300], [50, 97], [64, 1]])
    log_probs, lengths = net(torch.rand(3, 64, 300), sizes, backend=backend)
    assert log_probs.shape == (config.output_length(300), 3, 8)
    assert lengths.tolist() == [config.output_length(w) for w in (300, 97, 1)]
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(log_probs.shape[:2]))


def test_convolutions_count_in_the_frame_budget():
    config = NetworkConfig(num_classes=5, **CONV)
    assert config.width_reduction == 4 and config.height_reduction == 8
    net = MDLSTMNetwork(config)
    sizes = torch.tensor([[32, 101], [17, 9], [32, 1]])
    log_probs, lengths = net(torch.rand(3, 32, 101), sizes)
    assert log_probs.shape[0] == config.output_length(101) == 26  # ceil(ceil(101/2)/2)
    assert lengths.tolist() == [26, 3, 1]


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("layers", LAYERS)
def test_each_line_of_a_padded_batch_equals_that_line_alone(backend, layers):
    require_backend(backend)
    torch.manual_seed(0)
    net = MDLSTMNetwork(NetworkConfig(num_classes=5, **LAYERS[layers])).double()
    for conv in net.convs:  # biases pushed negative: ReLU zeros appear inside the images too
        torch.nn.init.uniform_(conv.bias, -0.3, 0.1)
    shapes = [(40, 130), (33, 70), (17, 9)]
    images = torch.zeros(3, 40, 130, dtype=torch.float64)
    for b, (h, w) in enumerate(shapes):
        images[b, :h, :w] = torch.rand(h, w, dtype=torch.float64)
    sizes = torch.tensor(shapes)
    log_probs, lengths = net(images, sizes, backend=backend)
    for b, (h, w) in enumerate(shapes):
        alone, length = net(images[b : b + 1, :h, :w], sizes[b : b + 1], backend=backend)
        assert length.item() == lengths[b].item()
        torch.testing.assert_close(log_probs[: length.item(), b], alone[:, 0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("layers", LAYERS)
def test_ctc_loss_backpropagates_to_every_weight(backend, layers):
    require_backend(backend)
    torch.manual_seed(0)
    net = MDLSTMNetwork(NetworkConfig(num_classes=4, **LAYERS[layers]))
    images, sizes = torch.rand(2, 32, 200), torch.tensor([[32, 200], [30, 150]])
    log_probs, lengths = net(images, sizes, backend=backend)
    targets = torch.tensor([1, 2, 3, 4, 2, 2])
    loss = torch.nn.functional.ctc_loss(log_probs, targets, lengths, torch.tensor([4, 2]))
    loss.backward()
    assert torch.isfinite(loss)
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_dropout_thins_each_level_in_training_only_and_keeps_padding_zero():
    torch.manual_seed(0)
    config = NetworkConfig(
        num_classes=5,
        input_block=(2, 2),
        hidden_sizes=(2, 3),
        subsample_sizes=(4,),
        subsample_blocks=((2, 2),),
        dropout=(0.0, 0.5),
    )
    net = MDLSTMNetwork(config)
    plain = MDLSTMNetwork(NetworkConfig(**{**config.to_dict(), "dropout": None}))
    plain.load_state_dict(net.state_dict())
    seen = []
    net.dropout[1].register_forward_hook(lambda module, args, out: seen.append((args[0], out)))
    images, sizes = torch.rand(2, 16, 40), torch.tensor([[16, 40], [10, 20]])
    first, _ = net(images, sizes)
    second, _ = net(images, sizes)
    assert not torch.equal(first, second)  # a fresh mask each step
    net.eval()
    torch.testing.assert_close(net(images, sizes)[0], plain(images, sizes)[0], rtol=0, atol=0)
    kept, dropped = seen[0]
    assert 0.3 < (dropped[0] == 0).float().mean() < 0.7
    torch.testing.assert_close(dropped[dropped != 0], 2 * kept[dropped != 0])
    assert (dropped[1, 5:] == 0).all() and (dropped[1, :, 10:] == 0).all()  # outside the 2nd image


def test_conv_dropout_thins_each_pooled_convolution_in_training_only_and_keeps_padding_zero():
    torch.manual_seed(0)
    config = NetworkConfig(num_classes=5, **CONV, conv_dropout=(0.0, 0.5))
    net = MDLSTMNetwork(config)
    plain = MDLSTMNetwork(NetworkConfig(**{**config.to_dict(), "conv_dropout": None}))
    plain.load_state_dict(net.state_dict())
    seen = []
    net.conv_dropout[1].register_forward_hook(lambda module, args, out: seen.append((args[0], out)))
    images, sizes = torch.rand(2, 16, 40), torch.tensor([[16, 40], [8, 20]])
    assert not torch.equal(net(images, sizes)[0], net(images, sizes)[0])
    net.eval()
    torch.testing.assert_close(net(images, sizes)[0], plain(images, sizes)[0], rtol=0, atol=0)
    kept, dropped = seen[0]
    assert isinstance(net.conv_dropout[0], torch.nn.Identity)
    assert 0.3 < (dropped[0][kept[0] != 0] == 0).float().mean() < 0.7  # ReLU zeros aside
    torch.testing.assert_close(dropped[dropped != 0], 2 * kept[dropped != 0])
    assert kept.shape == (2, 4, 8, 10)  # pooled 2x2, then 1x2: the 2nd image is 4 x 5
    assert (dropped[1, :, 4:] == 0).all() and (dropped[1, :, :, 5:] == 0).all()  # outside the 2nd image


def test_sequence_dropout_acts_in_training_only():
    torch.manual_seed(0)
    config = NetworkConfig(num_classes=5, **SEQUENCE, sequence_dropout=0.5)
    net = MDLSTMNetwork(config)
    plain = MDLSTMNetwork(NetworkConfig(**{**config.to_dict(), "sequence_dropout": 0.0}))
    plain.load_state_dict(net.state_dict())
    images, sizes = torch.rand(2, 16, 40), torch.tensor([[16, 40], [10, 20]])
    assert not torch.equal(net(images, sizes)[0], net(images, sizes)[0])
    net.eval()
    torch.testing.assert_close(net(images, sizes)[0], plain(images, sizes)[0], rtol=0, atol=0)


def test_a_residual_layer_that_reads_nothing_passes_its_input_on():
    """With the second 1-D LSTM zeroed (its cells stay 0), the residual stack is its first layer alone."""
    torch.manual_seed(0)
    stacked = MDLSTMNetwork(NetworkConfig(num_classes=5, **RESIDUAL))
    single = MDLSTMNetwork(NetworkConfig(num_classes=5, **CONV, sequence_lstm=(3,)))
    single.load_state_dict({k: v for k, v in stacked.state_dict().items() if not k.startswith("sequence.1.")})
    images, sizes = torch.rand(2, 16, 40), torch.tensor([[16, 40], [10, 20]])
    assert not torch.allclose(stacked(images, sizes)[0], single(images, sizes)[0])
    with torch.no_grad():
        for weight in stacked.sequence[1].parameters():
            weight.zero_()
    torch.testing.assert_close(stacked(images, sizes)[0], single(images, sizes)[0], rtol=0, atol=0)


@pytest.mark.parametrize(
    "layers",
    [
        {"input_block": (2, 2), "hidden_sizes": (4, 8), "subsample_sizes": (16,), "subsample_blocks": ((2, 4),)},
        CONV,
        {**SEQUENCE, "sequence_dropout": 0.5},
        RESIDUAL,
    ],
)
def test_config_round_trips_through_json(layers):
    config = NetworkConfig(num_classes=80, peepholes=False, dropout=(0.0, 0.5), **layers)
    assert NetworkConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 5, "subsample_sizes": (6,)}, "3 MDLSTM levels need 2"),
        ({"num_classes": 5, "input_block": (0, 3)}, "block"),
        ({"num_classes": 5, "dropout": (0.1, 0.2)}, "one rate in \\[0, 1\\) per MDLSTM level \\(3\\)"),
        ({"num_classes": 5, "dropout": (0.1, 0.2, 1.0)}, "dropout"),
        ({"num_classes": 5, "conv_channels": (8, 16), "conv_pools": ((2, 2),)}, "one pooling window"),
        ({"num_classes": 5, **CONV, "conv_dropout": (0.5,)}, "one rate in \\[0, 1\\) per convolution \\(2\\)"),
        ({"num_classes": 5, "conv_channels": (0,), "conv_pools": ((2, 2),)}, ">= 1 channels"),
        ({"num_classes": 5, "conv_channels": (8,), "conv_pools": ((2, 0),)}, "block"),
        ({"num_classes": 5, "sequence_lstm": (8, 0)}, ">= 1 cells"),
        ({"num_classes": 5, "sequence_lstm": (8,), "sequence_dropout": 1.0}, "sequence dropout"),
        ({"num_classes": 5, "sequence_lstm": (8, 4), "sequence_residual": True}, "two or more of equal width"),
        ({"num_classes": 5, "sequence_lstm": (8,), "sequence_residual": True}, "two or more of equal width"),
    ],
)
def test_invalid_configs_are_refused_with_a_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NetworkConfig(**kwargs)


def test_unknown_config_keys_are_refused():
    with pytest.raises(ValueError, match="unknown network settings: colour"):
        NetworkConfig.from_dict({"num_classes": 3, "colour": "red"})
