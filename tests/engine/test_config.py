"""Run configs: TOML and JSON files, layering, the record in model files, and the recipes' files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hwr.engine.config import (
    RunConfig,
    TrainConfig,
    changed_settings,
    merge_settings,
    preset_network,
    read_config_file,
)
from hwr.errors import ConfigError
from hwr.network_config import NetworkConfig

RECIPE = Path(__file__).resolve().parents[2] / "datasets" / "joseph_hooker"


def test_toml_round_trips_every_setting_and_leaves_out_only_none():
    run = RunConfig.from_dict(
        {
            "data": {"train": 'a "quoted" path.tsv', "partition": 0.8},
            "network": {"conv_channels": [4], "conv_pools": [[2, 1]], "sequence_lstm": [8], "dropout": [0.0, 0.1, 0.2]},
            "preprocessing": {"height": 48, "scale": 0.5},
            "training": {"augment": False, "max_minutes": 1e-5, "augmentation": {"blur": 1.5}},
        }
    )
    text = run.to_toml()
    assert "valid" not in text and "lr_patience" not in text  # None: the default, left out
    assert RunConfig.from_dict(tomllib.loads(text)) == run


def test_files_layer_table_by_table_and_unknown_settings_are_refused(tmp_path):
    (tmp_path / "a.toml").write_text("[training]\nepochs = 3\n[training.augmentation]\nblur = 1.0\n")
    (tmp_path / "b.json").write_text('{"training": {"augmentation": {"shift": 0.1}}}')
    merged = merge_settings(read_config_file(tmp_path / "a.toml"), read_config_file(tmp_path / "b.json"))
    training = RunConfig.from_dict(merged).training
    assert training.epochs == 3 and training.augmentation.blur == 1.0 and training.augmentation.shift == 0.1
    for name, text, message in [
        ("c.toml", "[training]\nepoch = 3\n", "unknown training settings: epoch"),
        ("d.toml", "[nework]\n", "unknown run settings: nework"),
        ("e.toml", "[training\n", r"e\.toml: not valid TOML"),
        ("f.json", "[1, 2]", r"f\.json: a config file holds tables of settings"),
        ("g.yaml", "training: {}", r"g\.yaml: a config file must be \.toml or \.json"),
        ("h.toml", "[network]\nhidden_sizes = [2, 3]\n", "2 MDLSTM levels need 1 subsampling layers"),
    ]:
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=message):
            RunConfig.from_dict(read_config_file(tmp_path / name))
    with pytest.raises(ConfigError, match="cannot read config file"):
        read_config_file(tmp_path / "missing.toml")


def test_the_network_defaults_live_in_one_place():
    assert RunConfig().network_config(5) == NetworkConfig(num_classes=5)
    graves = preset_network("graves2009")
    assert graves["input_block"] == (4, 3) and graves["hidden_sizes"] == NetworkConfig(1).hidden_sizes
    with pytest.raises(ConfigError, match="unknown network preset 'lstm'; choose one of hwr, graves2009"):
        preset_network("lstm")


def test_changed_settings_names_each_differing_leaf():
    old = RunConfig().to_dict()
    new = RunConfig.from_dict(merge_settings(old, {"training": {"epochs": 7, "augmentation": {"blur": 1.0}}})).to_dict()
    assert changed_settings(old, new) == {"training.augmentation.blur": (0.0, 1.0), "training.epochs": (50, 7)}


def test_records_from_before_augment_read_none_as_off():
    assert TrainConfig.from_dict({"augmentation": None}).augment is False


@pytest.mark.parametrize("network", ["a", "b", "c", "d"])
def test_the_hooker_recipe_files_make_valid_runs(network):
    settings = merge_settings(read_config_file(RECIPE / "common.toml"), read_config_file(RECIPE / f"{network}.toml"))
    run = RunConfig.from_dict(settings)
    assert run.preprocessing.scale == 0.74 and run.training.epochs == 32
    assert run.network_config(82).width_reduction == 8


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"training": {"epochs": "3"}}, r"training setting epochs must be an integer, got '3'"),
        ({"training": {"optimizer": "sgd"}}, r"training setting optimizer must be 'adam' or 'rmsprop', got 'sgd'"),
        ({"training": {"augment": 1}}, r"training setting augment must be true or false, got 1"),
        ({"network": {"hidden_sizes": "2,3"}}, r"network setting hidden_sizes must be a list of \(an integer\)"),
        (
            {"network": {"input_block": [2, 2, 2]}},
            r"network setting input_block must be a list of 2 \(an integer, an integer\)",
        ),
        ({"network": {"num_classes": 5}}, "num_classes comes from the training data's alphabet"),
        ({"preprocessing": {"scale": "big"}}, r"preprocessing setting scale must be a number or none, got 'big'"),
        ({"data": []}, r"run setting data must be a table of settings, got \[\]"),
        ({"training": {"augmentation": {"blur": [1]}}}, r"augmentation setting blur must be a number, got \[1\]"),
    ],
)
def test_a_setting_of_the_wrong_type_is_one_clear_error(settings, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict(settings)
