"""Model files: round trip, atomic writes, and refusal of pickles and damaged files."""

from __future__ import annotations

import pickle

import pytest
import torch

from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.decoders.beam import BeamSettings
from hwr.decoders.language_model import LanguageModel
from hwr.errors import ModelFileError
from hwr.model_file import Model, load_model, save_model
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig


@pytest.fixture
def model():
    torch.manual_seed(0)
    alphabet = Alphabet.from_texts(["Dear Hemsley"])
    network = MDLSTMNetwork(
        NetworkConfig(num_classes=len(alphabet), hidden_sizes=(2, 3), subsample_sizes=(4,), subsample_blocks=((2, 2),))
    )
    return Model(network, alphabet, Preprocessing(height=16))


def test_round_trip_gives_the_same_outputs(tmp_path, model):
    save_model(tmp_path / "m.hwr", model)
    loaded_model = load_model(tmp_path / "m.hwr")
    loaded, network = loaded_model.network, model.network
    assert loaded_model.alphabet == model.alphabet and loaded.config == network.config
    assert loaded_model.preprocessing == model.preprocessing
    images, sizes = torch.rand(2, 16, 40), torch.tensor([[16, 40], [12, 30]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(images, sizes)[0], network(images, sizes)[0], rtol=0, atol=0)
    assert [p.name for p in tmp_path.iterdir()] == ["m.hwr"], "no temporary files left behind"


def test_a_pickle_is_refused_without_being_unpickled(tmp_path, model):
    torch.save(model.network.state_dict(), tmp_path / "torch.pt")
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps({"a": 1}))
    for name in ("torch.pt", "plain.pkl"):
        with pytest.raises(ModelFileError, match=f"{name}: is a pickle .* can execute arbitrary code"):
            load_model(tmp_path / name)


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "missing"])
def test_damaged_files_give_one_clear_error_naming_the_file(tmp_path, model, damage):
    path = tmp_path / "m.hwr"
    save_model(path, model)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(b"not a model at all" * 10)
    else:
        path.unlink()
    with pytest.raises(ModelFileError, match=r"m\.hwr: "):
        load_model(path)


def test_a_failed_save_keeps_the_previous_file(tmp_path, model, monkeypatch):
    path = tmp_path / "m.hwr"
    save_model(path, model)
    before = path.read_bytes()
    monkeypatch.setattr("os.fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        save_model(path, model)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.hwr"]


def test_a_header_length_starting_with_the_pickle_byte_still_loads(tmp_path, model):
    # A safetensors file starts with its header length; a length of 0x..80 once looked like a pickle.
    path = tmp_path / "m.hwr"
    for pad in range(0, 400, 1):
        save_model(path, model, extra_header={"pad": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80
    assert load_model(path).alphabet == model.alphabet


def test_tampered_weights_or_header_are_refused(tmp_path, model):
    path = tmp_path / "m.hwr"
    save_model(path, model)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40  # a bit flipped in the last tensor's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"m\.hwr: the contents do not match the file's checksum"):
        load_model(path)
    save_model(path, model)
    for old, new in ((b'\\"height\\": 16', b'\\"height\\": 17'), (b'\\"height\\": 16', b'\\"height\\": 1x')):
        save_model(path, model)
        data = path.read_bytes()
        assert old in data
        path.write_bytes(data.replace(old, new))  # same length: the file still parses
        with pytest.raises(ModelFileError, match=r"m\.hwr: (the contents do not match|not a valid)"):
            load_model(path)


def test_a_language_model_round_trips_and_decodes_the_same(tmp_path, model):
    settings = BeamSettings(lm_weight=0.6, insertion_bonus=1.5, beam_width=4)
    model.language_model = LanguageModel(["Dear Hemsley", "Hemsley"], 3, model.alphabet, settings)
    save_model(tmp_path / "m.hwr", model)
    loaded = load_model(tmp_path / "m.hwr").language_model
    assert loaded.corpus == model.language_model.corpus and loaded.order == 3 and loaded.settings == settings
    for context in ([], [1, 2], [5, 5, 3]):
        assert (loaded.ngram.log_probs(context) == model.language_model.ngram.log_probs(context)).all()


def test_a_language_model_with_characters_outside_the_alphabet_is_refused(model):
    with pytest.raises(ValueError, match="language model text, line 2: characters not in the alphabet: 'Zo'"):
        LanguageModel(["Dear", "Zoo"], 3, model.alphabet, BeamSettings())


def test_the_language_model_loads_from_its_tables_without_counting(tmp_path, model, monkeypatch):
    """Its counts and words are tensors of the file: loading counts nothing (the base's 6-gram took 3 s)."""
    import json

    from safetensors.torch import load, save

    import hwr.decoders.ngram
    import hwr.model_file

    model.language_model = LanguageModel(["Dear Hemsley", "Hemsley Dear"], 3, model.alphabet, BeamSettings())
    save_model(tmp_path / "m.hwr", model)

    def no_counting(*args, **kwargs):
        raise AssertionError("counted at load")

    with monkeypatch.context() as patched:
        patched.setattr(hwr.decoders.ngram.CharNgram, "__init__", no_counting)
        loaded = load_model(tmp_path / "m.hwr").language_model
    assert loaded.lexicon.words == model.language_model.lexicon.words
    for context in ([], [1, 2], [5, 5, 3], [3, 1]):
        assert (loaded.ngram.log_probs(context) == model.language_model.ngram.log_probs(context)).all()
    # A file written before the tables existed is counted at load, as then.
    data = (tmp_path / "m.hwr").read_bytes()
    header = json.loads(json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])["__metadata__"]["hwr"])
    tensors = {k: t for k, t in load(data).items() if not k.startswith("language_model.")}
    header["sha256"] = hwr.model_file._digest(header, tensors)
    (tmp_path / "old.hwr").write_bytes(save(tensors, metadata={"hwr": json.dumps(header)}))
    old = load_model(tmp_path / "old.hwr").language_model
    assert old.lexicon.words == loaded.lexicon.words
    assert (old.ngram.log_probs([1, 2]) == loaded.ngram.log_probs([1, 2])).all()
    # Tables that do not cut their arrays (a file made by hand, checksum and all) are refused.
    bad = {**load(data)}
    bad["language_model.context_offsets"] = bad["language_model.context_offsets"] + 1
    header["sha256"] = hwr.model_file._digest(header, bad)
    (tmp_path / "bad.hwr").write_bytes(save(bad, metadata={"hwr": json.dumps(header)}))
    with pytest.raises(ModelFileError, match="inconsistent model file .*offsets of the contexts"):
        load_model(tmp_path / "bad.hwr")
