"""Transcription: a saved and reloaded model gives the same text and confidence as the one in memory;
with two threads the beam search runs beside the network, for the same results."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import cv2
import pytest
import torch

import hwr.recognizer
from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.data.readers import read_lines
from hwr.decoders.beam import BeamSettings, search_is_compiled
from hwr.decoders.language_model import LanguageModel
from hwr.model_file import Model, load_model, save_model
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig
from hwr.recognizer import Transcription, stream_files, transcribe_files
from hwr.synth import generate_dataset


def test_save_load_transcribe_gives_the_same_text(tmp_path):
    lines = read_lines(generate_dataset(tmp_path / "data", 12, seed=2)).lines
    alphabet = Alphabet.from_texts(line.text for line in lines)
    torch.manual_seed(0)
    config = NetworkConfig(
        len(alphabet), input_block=(2, 2), hidden_sizes=(2, 6), subsample_sizes=(6,), subsample_blocks=((4, 1),)
    )
    network = MDLSTMNetwork(config)
    with torch.no_grad():  # a random but decisive network, so its transcriptions are non-trivial
        network.output.bias.copy_(torch.linspace(-2, 2, len(alphabet) + 1))
        network.output.weight.mul_(20)
    model = Model(network, alphabet, Preprocessing(height=24))
    paths = [line.image for line in lines]
    before, problems = transcribe_files(model, paths, batch_size=5)
    assert not problems and any(t.text for t in before.values())
    save_model(tmp_path / "m.safetensors", model)
    after, _ = transcribe_files(load_model(tmp_path / "m.safetensors"), paths, batch_size=3)
    assert after == before


def test_with_two_threads_the_search_runs_beside_the_network_for_the_same_results(tmp_path, monkeypatch):
    if not search_is_compiled():
        pytest.skip("no C++ compiler here: the Python search holds the GIL, so it runs in turn")
    lines = read_lines(generate_dataset(tmp_path / "data", 12, seed=2)).lines
    alphabet = Alphabet.from_texts(line.text for line in lines)
    torch.manual_seed(0)
    network = MDLSTMNetwork(
        NetworkConfig(
            len(alphabet), input_block=(2, 2), hidden_sizes=(2, 6), subsample_sizes=(6,), subsample_blocks=((4, 1),)
        )
    )
    with torch.no_grad():
        network.output.weight.mul_(20)
    model = Model(network, alphabet, Preprocessing(height=24))
    model.language_model = LanguageModel([line.text for line in lines], 3, alphabet, BeamSettings(beam_width=8))
    searched_on, network_threads = set(), set()
    searching, running = hwr.recognizer.decode, hwr.recognizer.line_log_probs

    def search(*args, **kwargs):
        searched_on.add(threading.get_ident())
        return searching(*args, **kwargs)

    def run(*args, **kwargs):
        for item in running(*args, **kwargs):
            network_threads.add(torch.get_num_threads())
            yield item

    monkeypatch.setattr(hwr.recognizer, "decode", search)
    monkeypatch.setattr(hwr.recognizer, "line_log_probs", run)
    paths = [line.image for line in lines]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        alone, _ = transcribe_files(model, paths, batch_size=5)
        assert searched_on == {threading.get_ident()} and network_threads == {1}
        searched_on.clear()
        torch.set_num_threads(2)
        beside, _ = transcribe_files(model, paths, batch_size=5)
        assert threading.get_ident() not in searched_on and network_threads == {1}, "one thread lent to the search"
        assert torch.get_num_threads() == 2, "and given back"
    finally:
        torch.set_num_threads(threads)
    assert beside == alone and any(t.text for t in alone.values())


def test_unreadable_images_are_reported_not_fatal(tmp_path):
    lines = read_lines(generate_dataset(tmp_path / "data", 2, seed=2)).lines
    (tmp_path / "bad.png").write_bytes(b"garbage")
    alphabet = Alphabet.from_texts(line.text for line in lines)
    model = Model(
        MDLSTMNetwork(NetworkConfig(len(alphabet), hidden_sizes=(2,), subsample_sizes=(), subsample_blocks=())),
        alphabet,
        Preprocessing(height=16),
    )
    results, problems = transcribe_files(model, [lines[0].image, tmp_path / "bad.png", lines[1].image])
    assert list(results) == [lines[0].image, lines[1].image]
    assert len(problems) == 1 and "bad.png: not an image or corrupt" in problems[0]


def test_files_stream_a_chunk_at_a_time_in_order(tmp_path):
    """The 9th image (batch size 1: chunks of 8) is read only after the first results came out."""
    manifest = generate_dataset(tmp_path / "d", 9, seed=4)
    paths = [line.image for line in read_lines(manifest).lines]
    late = paths[8].read_bytes()
    paths[8].unlink()
    alphabet = Alphabet.from_texts(line.text for line in read_lines(manifest).lines)
    model = Model(
        MDLSTMNetwork(NetworkConfig(len(alphabet), hidden_sizes=(2,), subsample_sizes=(), subsample_blocks=())),
        alphabet,
        Preprocessing(height=16),
    )
    stream = stream_files(model, paths, batch_size=1)
    first = next(stream)
    paths[8].write_bytes(late)
    rest = list(stream)
    assert [path for path, _ in [first, *rest]] == paths
    assert all(isinstance(outcome, Transcription) for _, outcome in [first, *rest])
    arrays = [cv2.imread(str(path), cv2.IMREAD_COLOR) for path in paths[:2]]
    assert [t.text for t in model.transcribe(arrays)] == [t.text for _, t in [first, rest[0]]]


PEAK_RSS = """
import resource, sys
from pathlib import Path
from hwr.model_file import load_model
from hwr.recognizer import stream_files
paths = sorted(Path(sys.argv[1]).glob("*.png"))[: int(sys.argv[2])]
done = sum(1 for _ in stream_files(load_model(sys.argv[3]), paths, batch_size=16))
print(done, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_memory_stays_bounded_transcribing_thousands_of_lines(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 50, seed=2)
    lines = read_lines(manifest).lines
    alphabet = Alphabet.from_texts(line.text for line in lines)
    model = Model(
        MDLSTMNetwork(NetworkConfig(len(alphabet), hidden_sizes=(2,), subsample_sizes=(), subsample_blocks=())),
        alphabet,
        Preprocessing(height=32),  # 5,000 lines held at once would take ~60 MB more
    )
    save_model(tmp_path / "m.safetensors", model)
    folder = tmp_path / "many"
    folder.mkdir()
    for k in range(5000):  # links to 50 real images: 5,000 files to read
        (folder / f"{k:05d}.png").hardlink_to(lines[k % 50].image)
    peaks = {}
    for count in (500, 5000):
        command = [sys.executable, "-c", PEAK_RSS, str(folder), str(count), str(tmp_path / "m.safetensors")]
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HWR_THREADS": "1"})
        assert result.returncode == 0, result.stderr
        done, peaks[count] = map(int, result.stdout.split())
        assert done == count
    print(f"peak RSS: {peaks[500] / 1024:.0f} MB for 500 lines, {peaks[5000] / 1024:.0f} MB for 5,000")
    assert peaks[5000] < peaks[500] + 30 * 1024  # KiB: ten times the lines, not ten times the memory
