"""A tiny segmenter training on real pages: the run folder, its log, and a resumed run that ends
as the uninterrupted one does."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import hwr.segmentation.training as training_module
from hwr.segmentation.config import SegmenterConfig, SegmenterTraining
from hwr.segmentation.model import load_segmenter
from hwr.segmentation.training import resume_segmenter_run, start_segmenter_run
from tests.shared_data import PAGE_SETS, SHARED

CONFIG = SegmenterConfig(input_size=192, channels=(4, 6, 8), hidden_size=3)
TRAINING = SegmenterTraining(epochs=2, crop=96, batch_size=2, zooms=(1.0, 0.8))


@pytest.fixture
def pages():
    found = [sorted((SHARED / name / "pages/train").glob("*.xml"))[:1] for name in PAGE_SETS]
    pages = [path for paths in found for path in paths]
    if len(pages) < 4:
        pytest.skip("the shared page sets are not on this machine")
    return pages


def _quiet(message: str) -> None:
    pass


def test_a_run_writes_its_folder_and_a_resumed_run_ends_as_the_uninterrupted_one(tmp_path, pages, monkeypatch):
    torch.set_num_threads(1)
    whole = start_segmenter_run(pages[:3], pages[3:], tmp_path / "whole", TRAINING, CONFIG, log=_quiet)
    assert {p.name for p in (tmp_path / "whole").iterdir()} >= {
        "best.safetensors",
        "last.safetensors",
        "log.csv",
        "curves.png",
    }
    log = pd.read_csv(tmp_path / "whole" / "log.csv")
    assert list(log["epoch"]) == [1, 2] and log["valid_baseline_f"].between(0, 1).all()
    assert whole.epoch == 2 and 1 <= whole.best_epoch <= 2

    scored = training_module.score_pages

    def interrupted(model, valid):
        if len(calls) == 1:
            raise KeyboardInterrupt
        calls.append(1)
        return scored(model, valid)

    calls: list[int] = []
    monkeypatch.setattr(training_module, "score_pages", interrupted)
    with pytest.raises(KeyboardInterrupt):
        start_segmenter_run(pages[:3], pages[3:], tmp_path / "cut", TRAINING, CONFIG, log=_quiet)
    monkeypatch.setattr(training_module, "score_pages", scored)
    resumed = resume_segmenter_run(tmp_path / "cut", log=_quiet)
    assert resumed.epoch == 2 and [row["epoch"] for row in resumed.history] == [1, 2]
    ours, theirs = (load_segmenter(tmp_path / run / "last.safetensors").network for run in ("whole", "cut"))
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_a_run_refuses_a_folder_that_holds_one_and_extends_with_more_epochs(tmp_path, pages):
    from hwr.errors import TrainingError

    start_segmenter_run(pages[:1], pages[3:], tmp_path, TRAINING, CONFIG, log=_quiet)
    with pytest.raises(TrainingError, match="already holds a training run"):
        start_segmenter_run(pages[:1], pages[3:], tmp_path, TRAINING, CONFIG, log=_quiet)
    extended = resume_segmenter_run(tmp_path, epochs=3, log=_quiet)
    assert extended.epoch == 3 and len(extended.history) == 3
