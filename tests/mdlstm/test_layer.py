"""The fast MDLSTM backends against the reference loop, and the layer's scan semantics."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from hwr.mdlstm.wavefront import corner_index
from tests.mdlstm.helpers import (
    FAST_BACKENDS,
    forward_backward,
    random_batch,
    random_layer,
    require_backend,
)

SIZE_CASES = {
    "1x1": [(1, 1)],
    "1xN": [(1, 6)],
    "Nx1": [(5, 1)],
    "odd": [(3, 7)],
    "square": [(4, 4)],
    "mixed": [(4, 7), (2, 3), (1, 1), (4, 1), (1, 7), (3, 6)],
}


def assert_close(actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    torch.testing.assert_close(actual, expected, rtol=1e-6, atol=1e-12, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("case", SIZE_CASES)
@pytest.mark.parametrize("peepholes", [True, False])
def test_matches_reference_forward_and_all_gradients(backend, case, peepholes):
    require_backend(backend)
    layer = random_layer(input_size=3, hidden=2, peepholes=peepholes)
    x, sizes = random_batch(SIZE_CASES[case], channels=3)
    y_ref, gx_ref, grads_ref = forward_backward(layer, x, sizes, "reference")
    y, gx, grads = forward_backward(layer, x, sizes, backend)
    assert_close(y, y_ref, "output")
    assert_close(gx, gx_ref, "input gradient")
    assert (
        set(grads)
        == set(grads_ref)
        == ({"weight_ih", "bias", "weight_hh", "peephole"} if peepholes else {"weight_ih", "bias", "weight_hh"})
    )
    for name in grads_ref:
        assert_close(grads[name], grads_ref[name], f"gradient of {name}")
    # every gradient is exercised (a lone pixel has no predecessors, so no recurrent weights)
    exercised = [name for name in grads_ref if not (case == "1x1" and name == "weight_hh")]
    assert gx_ref.abs().sum() > 0 and all(grads_ref[name].abs().sum() > 0 for name in exercised)


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("hidden", [7, 32, 64])  # the compiled kernel has its own code for 32 and 64
def test_matches_reference_with_larger_hidden_size(backend, hidden):
    require_backend(backend)
    layer = random_layer(input_size=5, hidden=hidden, seed=3)
    # more images than the compiled kernel scans in lockstep (4), of unequal sizes
    x, sizes = random_batch([(5, 4), (3, 6), (1, 2), (5, 6), (2, 1)], channels=5, seed=4)
    y_ref, gx_ref, grads_ref = forward_backward(layer, x, sizes, "reference")
    y, gx, grads = forward_backward(layer, x, sizes, backend)
    assert_close(y, y_ref, "output")
    assert_close(gx, gx_ref, "input gradient")
    for name in grads_ref:
        assert_close(grads[name], grads_ref[name], f"gradient of {name}")


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_gradcheck_tiny_layer(backend):
    require_backend(backend)
    layer = random_layer(input_size=2, hidden=2)
    x, sizes = random_batch([(3, 4), (2, 2)], channels=2)
    names = [name for name, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in layer.named_parameters())

    def run(x, *params):
        return functional_call(layer, dict(zip(names, params)), (x, sizes), {"backend": backend})

    assert torch.autograd.gradcheck(run, (x.requires_grad_(True), *params), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_each_image_of_a_mixed_batch_equals_that_image_alone(backend):
    require_backend(backend)
    layer = random_layer(input_size=3, hidden=3)
    shapes = [(5, 8), (2, 8), (5, 3), (1, 1), (3, 5)]
    x, sizes = random_batch(shapes, channels=3)
    y, gx, _ = forward_backward(layer, x, sizes, backend)
    param_grads = {name: torch.zeros_like(p) for name, p in layer.named_parameters()}
    for b, (h, w) in enumerate(shapes):
        layer.zero_grad()
        xb = x[b : b + 1, :h, :w].clone().requires_grad_(True)
        yb = layer(xb, sizes[b : b + 1], backend=backend)
        grad_y = torch.randn(y.shape, generator=torch.Generator().manual_seed(2), dtype=y.dtype)[b : b + 1, :h, :w]
        (yb * grad_y).sum().backward()
        assert_close(y[b, :h, :w], yb[0].detach(), f"image {b} output")
        assert_close(gx[b, :h, :w], xb.grad[0], f"image {b} input gradient")
        assert y[b, h:].abs().sum() == 0 and y[b, :, w:].abs().sum() == 0, "padding output must be zero"
        assert gx[b, h:].abs().sum() == 0 and gx[b, :, w:].abs().sum() == 0, "padding gets no gradient"
        for name, p in layer.named_parameters():
            param_grads[name] += p.grad
    _, _, batch_grads = forward_backward(layer, x, sizes, backend)
    for name in param_grads:
        assert_close(batch_grads[name], param_grads[name], f"gradient of {name}")


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_padding_content_is_never_seen(backend):
    require_backend(backend)
    layer = random_layer(input_size=2, hidden=2)
    x, sizes = random_batch([(4, 6), (2, 3)], channels=2)
    garbage = x.clone()
    garbage[1, 2:] = 100.0
    garbage[1, :, 3:] = -100.0
    with torch.no_grad():
        torch.testing.assert_close(layer(garbage, sizes, backend=backend), layer(x, sizes, backend=backend))


def downstream(d: int, pixel: tuple[int, int], height: int, width: int) -> torch.Tensor:
    """Positions that scan ``d`` visits after ``pixel`` and that can depend on it."""
    rows = torch.arange(height)[:, None]
    cols = torch.arange(width)[None, :]
    p, q = pixel
    below = rows <= p if d >= 2 else rows >= p
    right = cols <= q if d % 2 == 1 else cols >= q
    return below & right


@pytest.mark.parametrize("backend", ["reference", *FAST_BACKENDS])
def test_a_changed_pixel_changes_only_outputs_downstream_in_each_direction(backend):
    require_backend(backend)
    height, width, hidden = 5, 7, 2
    layer = random_layer(input_size=1, hidden=hidden)
    x, sizes = random_batch([(height, width)], channels=1)
    pixel = (2, 3)
    changed = x.clone()
    changed[0, pixel[0], pixel[1], 0] += 1.0
    with torch.no_grad():
        diff = (layer(changed, sizes, backend=backend) - layer(x, sizes, backend=backend))[0]
    for d in range(4):
        moved = diff[:, :, d * hidden : (d + 1) * hidden].abs().amax(-1) > 0
        assert torch.equal(moved, downstream(d, pixel, height, width)), f"direction {d}:\n{moved.int()}"


def test_corner_index_is_an_involution_that_flips_within_each_image():
    sizes = torch.tensor([[2, 3], [3, 4]])
    index = corner_index(sizes, 3, 4)
    flat = torch.arange(12)
    for d in range(4):
        for b in range(2):
            assert torch.equal(index[d, b][index[d, b]], flat)
    # image 0 is 2x3 inside a 3x4 batch: scan 3 maps its corner (1, 2) to (0, 0)
    assert index[3, 0, 0] == 1 * 4 + 2
    inside = torch.zeros(3, 4, dtype=torch.bool)
    inside[:2, :3] = True
    inside = inside.flatten()
    for d in range(4):
        assert torch.equal(inside[index[d, 0]], inside), "pixels stay pixels, padding stays padding"


@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_float32_agrees_with_the_float64_reference(backend):
    require_backend(backend)
    layer = random_layer(input_size=3, hidden=10, seed=5)
    x, sizes = random_batch([(5, 9), (3, 4)], channels=3, seed=6)
    y_ref, gx_ref, grads_ref = forward_backward(layer, x, sizes, "reference")
    layer32 = layer.float()
    y, gx, grads = forward_backward(layer32, x.float(), sizes, backend)
    close = dict(rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(y.double(), y_ref, **close)
    torch.testing.assert_close(gx.double(), gx_ref, **close)
    for name in grads_ref:
        torch.testing.assert_close(grads[name].double(), grads_ref[name], **close, msg=name)


def test_an_unknown_backend_is_refused():
    layer = random_layer(input_size=1, hidden=2)
    x, sizes = random_batch([(2, 2)], channels=1)
    with pytest.raises(ValueError, match="unknown MDLSTM backend 'fast'"):
        layer(x, sizes, backend="fast")
