"""hwr on a CUDA GPU: the wavefront MDLSTM against the CPU reference, a training run, a transcription.

Skipped where torch sees no GPU; ``bench/gpu_check.sh`` runs these with the benchmark on one.
"""

from __future__ import annotations

import pytest
import torch

from hwr.data.readers import read_lines
from hwr.engine.config import TrainConfig
from hwr.engine.run import start_run
from hwr.model_file import load_model
from hwr.synth import generate_dataset
from tests.mdlstm.helpers import forward_backward, random_batch, random_layer
from tests.tiny_runs import tiny_run

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here"),
]


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_wavefront_on_cuda_matches_the_cpu_reference(dtype, tolerance):
    layer = random_layer(3, 4)
    x, sizes = random_batch([(5, 7), (3, 6), (5, 2)], 3)
    expected = forward_backward(layer, x, sizes, "reference")
    cuda = random_layer(3, 4).to("cuda", dtype)
    got = forward_backward(cuda, x.to("cuda", dtype), sizes.cuda(), "wavefront")
    for want, have in zip(expected[:2], got[:2]):
        torch.testing.assert_close(have.double().cpu(), want, rtol=tolerance, atol=tolerance)
    for name in expected[2]:
        torch.testing.assert_close(got[2][name].double().cpu(), expected[2][name], rtol=tolerance, atol=tolerance)


def test_training_and_transcription_on_cuda(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 30, seed=2, valid_fraction=0.2, test_fraction=0.0)
    run = tiny_run(manifest, TrainConfig(epochs=2, learning_rate=3e-3))
    state = start_run(run, tmp_path / "m", log=lambda _: None, device=torch.device("cuda"))
    assert state.epoch == 2 and state.history[-1]["train_loss"] < state.history[0]["train_loss"]
    model = load_model(tmp_path / "m" / "best.safetensors")  # written from the GPU, read on the CPU
    images = [line.image for line in read_lines(manifest).lines[:8]]
    on_cpu = model.transcribe(images)
    model.network.to("cuda")
    on_gpu = model.transcribe(images)
    assert [t.text for t in on_gpu] == [t.text for t in on_cpu]
    assert [t.confidence for t in on_gpu] == pytest.approx([t.confidence for t in on_cpu], abs=1e-4)
