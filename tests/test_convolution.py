"""The compiled convolution stages against PyTorch's (the definition), values and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hwr.convolution import compiled_stage, convolution_stage, reference_stage
from hwr.native import CONVOLUTION_KERNELS

module = CONVOLUTION_KERNELS.load()
pytestmark = pytest.mark.skipif(module is None, reason="the convolution kernels could not be built")

SIZES = torch.tensor([[13, 29], [9, 30], [13, 17], [4, 5]])
"""A padded batch of 13 x 30: images shorter, narrower, and both, with odd sizes."""


def batch(channels: int) -> torch.Tensor:
    """Values inside each image, zeros outside (as the network's stages give each other)."""
    x = torch.rand(len(SIZES), channels, 13, 30, dtype=torch.float64) - (0.3 if channels > 1 else 0.0)
    for b, (h, w) in enumerate(SIZES.tolist()):
        x[b, :, h:], x[b, :, :, w:] = 0, 0
    return x


@pytest.mark.parametrize("pool", [(2, 2), (3, 2), (1, 1), (2, 1), (4, 4)])
@pytest.mark.parametrize("channels", [1, 5])
def test_the_compiled_stage_equals_pytorch_in_values_and_gradients(pool, channels):
    torch.manual_seed(0)
    conv = nn.Conv2d(channels, 6, 3, padding=1).double()
    x = batch(channels).requires_grad_(channels > 1)  # the first stage's images take no gradient
    results = []
    for stage in (reference_stage, lambda *a: compiled_stage(*a, module)):
        conv.zero_grad()
        x.grad = None
        out = stage(x, SIZES, conv, pool)
        assert out.is_contiguous(memory_format=torch.channels_last)
        grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype)
        out.backward(grad)
        results.append((out.detach(), conv.weight.grad.clone(), conv.bias.grad.clone(), x.grad))
    (out, weight, bias, x_grad), (c_out, c_weight, c_bias, c_x_grad) = results
    assert c_out.shape == out.shape and (out > 0).any() and (out == 0).any()
    torch.testing.assert_close(c_out, out)
    torch.testing.assert_close(c_weight, weight)
    torch.testing.assert_close(c_bias, bias)
    if channels > 1:
        torch.testing.assert_close(c_x_grad, x_grad)


def test_outside_each_image_the_output_is_zero_whatever_the_padding_holds():
    """The mask comes before the pooling: values a convolution makes from the padding never pass."""
    conv = nn.Conv2d(1, 4, 3, padding=1).double()
    with torch.no_grad():
        conv.bias.fill_(1.0)  # every value, inside or out, positive before the mask
    out, sizes = convolution_stage(batch(1), SIZES, conv, (2, 2))
    for b, (h, w) in enumerate(sizes.tolist()):
        assert (out[b, :, h:] == 0).all() and (out[b, :, :, w:] == 0).all() and (out[b, :, :h, :w] > 0).all()


def test_the_first_stage_takes_the_general_path_when_its_images_take_a_gradient():
    conv = nn.Conv2d(1, 3, 3, padding=1).double()
    x = batch(1).requires_grad_(True)
    out = compiled_stage(x, SIZES, conv, (2, 2), module)
    out.sum().backward()
    torch.testing.assert_close(out, reference_stage(x, SIZES, conv, (2, 2)))
    assert x.grad is not None and x.grad.abs().sum() > 0
