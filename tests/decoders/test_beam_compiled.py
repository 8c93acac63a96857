"""The compiled beam search against the Python one (the reference): the same readings, the same scores."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from hwr.decoders.beam import _NATIVE, BeamSettings, beam_search, reference_beam_search
from hwr.decoders.lexicon import Lexicon
from hwr.decoders.ngram import CharNgram
from tests.shared_data import HOOKER_MANIFEST, needs_hooker


@pytest.fixture(autouse=True)
def compiled():
    if _NATIVE.load() is None:
        if os.environ.get("CI"):
            pytest.fail(f"the compiled beam search failed to build in CI: {_NATIVE.error}")
        pytest.skip(f"compiled beam search unavailable: {_NATIVE.error}")


def assert_same(log_probs, lm, settings, lexicon, n):
    compiled, reference = (
        search(log_probs, lm, settings, lexicon, n) for search in (beam_search, reference_beam_search)
    )
    assert [d.labels for d in compiled] == [d.labels for d in reference]
    assert np.allclose([d.confidence for d in compiled], [d.confidence for d in reference], rtol=1e-9, atol=0)


@pytest.mark.parametrize("seed", range(8))
def test_random_posteriors_give_the_same_readings(seed):
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(3, 30))
    texts = [rng.integers(1, classes, size=rng.integers(1, 25)).tolist() for _ in range(100)]
    lm = CharNgram(texts, int(rng.integers(1, 7)), classes)
    lexicon = Lexicon(texts, 1 if seed % 3 else None)
    for case in range(25):  # 200 cases in all
        frames = int(rng.integers(0, 60))
        logits = torch.from_numpy(rng.normal(0, float(rng.uniform(0.5, 5)), (frames, classes)).astype(np.float32))
        settings = BeamSettings(
            lm_weight=float(rng.uniform(0, 1.5)),
            insertion_bonus=float(rng.uniform(-1, 3)),
            beam_width=int(rng.integers(1, 40)),
            prune=float(rng.choice([0.0, 1e-4, 1e-3, 0.05])),
            word_bonus=float(rng.uniform(0, 2)),
        )
        assert_same(torch.log_softmax(logits, -1).numpy(), lm, settings, lexicon if case % 2 else None, 16)


@needs_hooker
def test_real_lines_give_the_same_readings():
    from hwr.data.images import normalize_line, read_gray
    from hwr.data.readers import read_lines
    from hwr.model_file import load_model
    from hwr.recognizer import line_log_probs
    from hwr.shipped import resolve_model

    torch.set_num_threads(1)
    model = load_model(resolve_model("joseph_hooker"))
    lines = read_lines(HOOKER_MANIFEST, split="valid").lines[:50]
    images = [normalize_line(read_gray(line.image), model.preprocessing) for line in lines]
    language = model.language_model
    for _, readings in line_log_probs(model, images):
        for group in readings:  # each group's 16 best, as the ensemble's rescoring asks
            assert_same(group, language.ngram, language.settings, language.lexicon, 16)


def test_without_a_compiler_the_python_search_reads_alone_with_one_warning():
    script = (
        "import numpy as np; from hwr.decoders.beam import beam_decode, BeamSettings; "
        "from hwr.decoders.ngram import CharNgram; lm = CharNgram([[1, 2]], 2, 3); "
        "x = np.log(np.full((4, 3), 1 / 3, np.float32)); beam_decode(x, lm, BeamSettings()); "
        "print(beam_decode(x, lm, BeamSettings()).labels)"
    )
    env = {**os.environ, "HWR_NO_COMPILE": "1", "HWR_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert sum("compiled beam search unavailable" in line for line in result.stderr.splitlines()) == 1
    assert result.stdout.strip().startswith("[")
