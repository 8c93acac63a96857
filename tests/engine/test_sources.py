"""Several data sets in one run: their config, their draw by weight, their scales, and validation per set."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from hwr.data.images import Preprocessing
from hwr.engine.config import DataConfig, RunConfig, SourceConfig, TrainConfig
from hwr.engine.run import resume_run, start_run
from hwr.engine.sources import epoch_sample, read_sources
from hwr.errors import ConfigError
from hwr.synth import generate_dataset
from tests.tiny_runs import tiny_run


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("sets")
    return (
        generate_dataset(root / "big", 24, seed=4, valid_fraction=0.25, test_fraction=0.0),
        generate_dataset(root / "small", 12, seed=5, valid_fraction=0.34, test_fraction=0.0),
    )


def test_sources_round_trip_through_toml_and_old_records_read_as_one_source():
    data = DataConfig(
        (SourceConfig("a/lines.tsv", weight=2.5, scale=0.7), SourceConfig("b/lines.tsv", valid="b/v.tsv", name="b")),
        select_on="b",
    )
    run = RunConfig(data)
    text = run.to_toml()
    assert text.count("[[data.sources]]") == 2
    assert RunConfig.from_dict(tomllib.loads(text)) == run
    assert data.names() == ["lines", "b"]
    assert DataConfig((SourceConfig("x/lines.tsv"), SourceConfig("y/lines.tsv"))).names() == ["x/lines", "y/lines"]
    old = RunConfig.from_dict({"data": {"train": "t.tsv", "valid": "v.tsv", "partition": 0.8}}).data
    assert old == DataConfig((SourceConfig("t.tsv", valid="v.tsv"),), partition=0.8)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sources": [{"train": "a.tsv", "name": "x"}, {"train": "b.tsv", "name": "x"}]}, "share the name x"),
        ({"sources": [{"train": "a.tsv"}], "select_on": "b"}, r"select_on 'b' is none of the data sources \(a\)"),
        ({"sources": [{"train": "a.tsv", "weight": 0}]}, "a.tsv: weight must be positive"),
        ({"sources": [{"train": "a.tsv", "wieght": 2}]}, "unknown data source settings: wieght"),
        ({"sources": [{"valid": "a.tsv"}]}, "a data source needs train"),
    ],
)
def test_bad_source_settings_are_one_clear_error(data, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict({"data": data})


def test_an_epoch_draws_each_set_by_its_weight():
    rng = np.random.default_rng(0)
    assert epoch_sample([3, 2], [1.0, 1.0], rng).tolist() == [0, 1, 2, 3, 4]
    sample = epoch_sample([10, 4], [0.5, 2.5], rng)
    counts = np.bincount(sample, minlength=14)
    assert sorted(counts[:10].tolist()) == [0] * 5 + [1] * 5  # a random half of the first set
    assert sorted(counts[10:].tolist()) == [2, 2, 3, 3]  # the second twice, and half of it once more


def test_each_source_keeps_its_own_scale(two_sets):
    data = DataConfig((SourceConfig(str(two_sets[0]), scale=0.5), SourceConfig(str(two_sets[1]))))
    sources = read_sources(data, Preprocessing(16, scale=None), seed=0)
    assert [s.preprocessing for s in sources] == [Preprocessing(16, 0.5), Preprocessing(16, None)]
    assert [s.name for s in sources] == ["big/lines", "small/lines"]
    assert [len(s.valid.lines) for s in sources] == [6, 4]


def test_a_run_on_two_sets_reports_each_and_selects_on_the_one_named(two_sets, tmp_path):
    data = DataConfig(
        (SourceConfig(str(two_sets[0]), name="big"), SourceConfig(str(two_sets[1]), name="small", weight=1.5)),
        select_on="small",
    )
    run = replace(tiny_run(two_sets[0], TrainConfig(epochs=3, augment=False, learning_rate=3e-3)), data=data)
    messages: list[str] = []
    batches: set[int] = set()
    state = start_run(run, tmp_path, log=messages.append, progress=lambda epoch, done, total: batches.add(total))
    log = pd.read_csv(tmp_path / "log.csv")
    assert {"valid_cer:big", "valid_cer:small", "valid_wer:big", "valid_wer:small"} <= set(log.columns)
    best = log["valid_cer:small"].idxmin()
    assert state.best_epoch == log["epoch"][best] and state.best_cer == log["valid_cer:small"][best]
    assert any("training on 26 lines (big 18, small 8)" in m for m in messages)
    assert batches == {8}  # 18 + 1.5 x 8 = 30 lines an epoch, in batches of 4
    assert any("on the validation CER of small" in m for m in messages)
    assert any("big " in m and "small " in m for m in messages if m.startswith("epoch 1:"))

    resumed = resume_run(tmp_path, {"training": {"epochs": 4}}, log=messages.append)
    assert resumed.epoch == 4 and resumed.run.data == data


def test_the_command_line_takes_several_sets_and_refuses_one_valid_for_them(two_sets, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["train", *map(str, two_sets), "--select-on", "small/lines", "--dump-config"])
    assert result.exit_code == 0, result.output
    dumped = tomllib.loads(result.output)["data"]
    assert [s["train"] for s in dumped["sources"]] == list(map(str, two_sets))
    assert dumped["select_on"] == "small/lines"
    result = runner.invoke(app, ["train", *map(str, two_sets), "--valid", str(two_sets[0]), "-o", str(tmp_path)])
    assert result.exit_code == 1 and "--valid goes with one data set, not 2" in result.output


def test_layout_files_given_one_by_one_are_one_data_set(tmp_path, two_sets):
    for name in ("a.xml", "b.xml"):
        (tmp_path / name).write_text("<x/>")
    layouts = [str(tmp_path / "a.xml"), str(tmp_path / "b.xml")]
    result = CliRunner().invoke(app, ["train", *layouts, "--dump-config"])
    assert result.exit_code == 0, result.output
    (source,) = tomllib.loads(result.output)["data"]["sources"]
    assert source["train"] == layouts and RunConfig.from_dict(tomllib.loads(result.output)).data.names() == ["a"]
    result = CliRunner().invoke(app, ["train", *layouts, str(two_sets[0]), "--dump-config"])
    assert (
        result.exit_code == 1 and "give either layout files (one data set together) or other data sets" in result.output
    )
