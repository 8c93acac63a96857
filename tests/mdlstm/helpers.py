"""Shared test helpers for the MDLSTM backends."""

from __future__ import annotations

import os

import pytest
import torch

from hwr.mdlstm import MDLSTM2d, compiled

FAST_BACKENDS = ["wavefront", "compiled"]


def require_backend(backend: str) -> None:
    """Skip tests of the compiled kernel where it can't be built; in CI it must build."""
    if backend == "compiled" and compiled.load() is None:
        if os.environ.get("CI"):
            pytest.fail(f"compiled kernel failed to build in CI: {compiled.load_error()}")
        pytest.skip(f"compiled kernel unavailable: {compiled.load_error()}")


def random_layer(input_size: int, hidden: int, peepholes: bool = True, seed: int = 0) -> MDLSTM2d:
    """A float64 layer with every parameter random (biases and peepholes too)."""
    torch.manual_seed(seed)
    layer = MDLSTM2d(input_size, hidden, peepholes=peepholes).double()
    with torch.no_grad():
        layer.bias.uniform_(-1, 1)
        if peepholes:
            layer.peephole.uniform_(-1, 1)
    return layer


def random_batch(sizes: list[tuple[int, int]], channels: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """A zero-padded float64 batch of random images with the given (height, width)s."""
    gen = torch.Generator().manual_seed(seed)
    height = max(h for h, _ in sizes)
    width = max(w for _, w in sizes)
    x = torch.zeros(len(sizes), height, width, channels, dtype=torch.float64)
    for b, (h, w) in enumerate(sizes):
        x[b, :h, :w] = torch.randn(h, w, channels, generator=gen, dtype=torch.float64)
    return x, torch.tensor(sizes, dtype=torch.long)


def forward_backward(layer: MDLSTM2d, x: torch.Tensor, sizes: torch.Tensor, backend: str, seed: int = 2):
    """Output and the gradients of (input, every parameter) for a fixed random output gradient."""
    x = x.clone().requires_grad_(True)
    layer.zero_grad()
    y = layer(x, sizes, backend=backend)
    grad_y = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(y.dtype)
    (y * grad_y).sum().backward()
    grads = {name: p.grad.clone() for name, p in layer.named_parameters()}
    return y.detach(), x.grad, grads
