"""Transcribing line images with a trained model: batched by width, then CTC decoding per line.

A model with a language model is decoded by beam search with it, others greedily; a
:class:`~hwr.ensemble.RescoringEnsemble` by its groups' proposals, rescored (see
:mod:`hwr.decoders.rescoring`). Given two threads or more (or a GPU), the beam search of a batch
runs on a thread of its own while the network reads the next batch: on two cores, one network
thread and a decoding thread read 58-60 lines/s where two network threads read 50-58 and one
thread 40-43 (``bench/bench_decode_overlap.py``, the base model with its language model, five
rounds). On one thread nothing can overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from hwr.data.alphabet import Alphabet
from hwr.data.batching import collate, width_batches
from hwr.data.images import Preprocessing, looks_like_a_page, normalize_line, read_gray, to_gray
from hwr.data.readers import Line, LineImages
from hwr.decoders.alignment import align
from hwr.decoders.beam import BeamSettings, beam_decode, search_is_compiled
from hwr.decoders.greedy import greedy_decode
from hwr.decoders.rescoring import rescoring_decode
from hwr.devices import device_of
from hwr.ensemble import RescoringEnsemble, networks_of
from hwr.errors import HwrError, failure
from hwr.model_file import Model
from hwr.threads import thread_lent


@dataclass(frozen=True)
class Character:
    """One character of a reading, placed on the line image as it was read (before normalising)."""

    text: str
    start: int
    """First pixel column of the frames it was read from."""
    end: int
    """One past the last pixel column before the next character's (the line's last: of its own frames)."""
    confidence: float
    """Its highest probability on those frames (see :mod:`hwr.decoders.alignment`)."""

    def to_dict(self) -> dict[str, str | int | float]:
        """As JSON output gives it: its text, first column, width and confidence."""
        return {
            "text": self.text,
            "x": self.start,
            "width": self.end - self.start,
            "confidence": round(self.confidence, 4),
        }


def words_of(characters: Sequence[Character]) -> list[tuple[Character, ...]]:
    """The words of a reading: its runs of characters between spaces."""
    words, current = [], []
    for character in (*characters, None):
        if character is not None and not character.text.isspace():
            current.append(character)
        elif current:
            words.append(tuple(current))
            current = []
    return words


def word_confidence(characters: Sequence[Character]) -> float:
    """A word's confidence: the geometric mean of its characters'."""
    return float(np.exp(np.mean(np.log([max(c.confidence, 1e-12) for c in characters]))))


@dataclass(frozen=True)
class Transcription:
    text: str
    confidence: float
    """Per-frame geometric mean of the decoded text's probability (see :mod:`hwr.decoders`)."""
    characters: tuple[Character, ...] = ()
    """Each character's place and confidence, where asked for."""


@torch.no_grad()
def line_log_probs(
    model: Model, images: Sequence[np.ndarray], batch_size: int = 16
) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, CTC log-probabilities (frames, classes))`` of each normalised image, a batch
    at a time (in width order), so a caller that decodes as they come holds one batch.
    A rescoring ensemble's are ``(groups, frames, classes)``."""
    model.network.eval()
    device = device_of(model.network)
    for batch in width_batches([im.shape[1] for im in images], batch_size):
        tensor, sizes = collate([images[i] for i in batch])
        log_probs, lengths = model.network(tensor.to(device), sizes.to(device))
        log_probs = log_probs.cpu()
        for b, (i, length) in enumerate(zip(batch, lengths.tolist())):
            yield i, log_probs[..., :length, b, :].numpy()


def decode(
    model: Model, log_probs: np.ndarray, settings: BeamSettings | None = None, widths: tuple[int, int] | None = None
) -> Transcription:
    """One line's text from its log-probabilities ``(frames, classes)``, or ``(groups, frames, classes)``;
    ``settings`` replace the language model's own search settings (``hwr lm`` tries several).
    With the line image's ``widths`` (before normalising, and after), each character is placed on it."""
    lm = model.language_model
    search = (lm.ngram, settings or lm.settings, lm.lexicon) if lm is not None else ()
    if isinstance(model.network, RescoringEnsemble):
        decoded = rescoring_decode(log_probs, model.network.weights, *search)
    elif search:
        decoded = beam_decode(log_probs, *search)
    else:
        decoded = greedy_decode(torch.from_numpy(log_probs).unsqueeze(1), torch.tensor([len(log_probs)]))[0]
    labels = _tidy(decoded.labels, model.alphabet)
    text = model.alphabet.decode(labels)
    if widths is None:
        return Transcription(text, decoded.confidence)
    return Transcription(text, decoded.confidence, _placed(model, log_probs, labels, *widths))


def _tidy(labels: list[int], alphabet: Alphabet) -> list[int]:
    """``labels`` without whitespace at either end or repeated within: a reading is written as the
    text it is, and read back from PAGE or ALTO (whose words hold no spaces) the same."""
    tidy: list[int] = []
    for label in labels:
        if alphabet.decode([label]).isspace():
            if not tidy or alphabet.decode([tidy[-1]]).isspace():
                continue
        tidy.append(label)
    while tidy and alphabet.decode([tidy[-1]]).isspace():
        tidy.pop()
    return tidy


def _placed(
    model: Model, log_probs: np.ndarray, labels: list[int], width: int, normalized: int
) -> tuple[Character, ...]:
    """The characters of ``labels`` on a line image ``width`` pixels wide (``normalized`` once
    normalised), by their frames: frame t read the normalised columns t*r to (t+1)*r, for the
    network's width reduction r."""
    network = model.network
    if isinstance(network, RescoringEnsemble):  # the groups' frames line up: align on their weighted mean
        log_probs = np.tensordot(np.asarray(network.weights, np.float64), log_probs, axes=1)
    reduction = networks_of(network)[0].config.width_reduction
    columns = width / normalized  # original pixels per normalised one
    spans = align(log_probs, labels)
    # CTC reads a character in a frame or two of its own: its place runs on to the next one's.
    ends = [following.first for following in spans[1:]] + [spans[-1].last + 1] if spans else []
    characters = []
    for span, end_frame in zip(spans, ends):
        start = min(width - 1, int(span.first * reduction * columns))
        end = max(start + 1, min(width, round(end_frame * reduction * columns)))
        characters.append(Character(model.alphabet.decode([span.label]), start, end, span.confidence))
    return tuple(characters)


def transcribe_normalized(
    model: Model, images: Sequence[np.ndarray], batch_size: int = 16, widths: Sequence[int] | None = None
) -> list[Transcription]:
    """Transcriptions of already normalised images (:func:`hwr.data.images.normalize_line`), in order;
    with the images' ``widths`` before normalising, their characters placed on them."""

    def read(i: int, log_probs: np.ndarray) -> Transcription:
        placed = (widths[i], images[i].shape[1]) if widths is not None else None
        return decode(model, log_probs, widths=placed)

    results: list[Transcription | None] = [None] * len(images)
    on_gpu = device_of(model.network).type != "cpu"
    beside = model.language_model is not None and (on_gpu or torch.get_num_threads() > 1) and search_is_compiled()
    if not beside:
        for i, log_probs in line_log_probs(model, images, batch_size):
            results[i] = read(i, log_probs)
        return results  # type: ignore[return-value]
    # The compiled search releases the GIL: a batch is searched while the network reads the next.
    with nullcontext() if on_gpu else thread_lent(), ThreadPoolExecutor(1) as decoder:
        searches = [
            (i, decoder.submit(read, i, log_probs)) for i, log_probs in line_log_probs(model, images, batch_size)
        ]
        for i, search in searches:
            results[i] = search.result()
    return results  # type: ignore[return-value]


LINES_PER_CHUNK = 8
"""Batches read, normalised and transcribed together: the width batching has lines to sort
within, and memory holds only this many batches of images however many files there are."""


def stream_files(
    model: Model,
    paths: Sequence[Path | Line],
    batch_size: int = 16,
    place: bool = False,
    page_guard: Callable[[str], None] | None = None,
) -> Iterator[tuple[Path | Line, Transcription | HwrError]]:
    """Each line file (or line of a page) with its transcription, or the error that made it
    unreadable, in the order of ``paths``, a chunk of batches at a time: results come as they are
    made. With ``place``, each character is placed on its line image. With ``page_guard``, an
    image that looks like a page is told to it (which may raise ImageError to skip the image).
    A line that fails in any way (a bug included, see :func:`~hwr.errors.failure`) gets its error
    and the others are read."""
    chunk = batch_size * LINES_PER_CHUNK
    read = LineImages()
    for start in range(0, len(paths), chunk):
        part = paths[start : start + chunk]
        outcomes: list[Transcription | HwrError | None] = [None] * len(part)
        images, widths, readable = [], [], []
        for k, path in enumerate(part):
            try:
                gray = read(path)
                if page_guard is not None and looks_like_a_page((gray.shape[1], gray.shape[0]), model.preprocessing):
                    page_guard(
                        f"{path}: {gray.shape[1]}x{gray.shape[0]} pixels looks like a page, not a line: read as a line "
                        "(--segment never); leave --segment out to find its lines, or give its layout"
                    )
                images.append(normalize_line(gray, _preprocessing(model, path)))
                widths.append(gray.shape[1])
                readable.append(k)
            except Exception as exc:
                outcomes[k] = failure(_where(path), exc)
        try:
            placed: list[Transcription | HwrError] = list(
                transcribe_normalized(model, images, batch_size, widths if place else None)
            )
        except Exception:  # one line's fault, or the batch's: read each alone to tell
            placed = [
                _transcribe_alone(model, image, width, place, _where(part[k]))
                for image, width, k in zip(images, widths, readable)
            ]
        for k, transcription in zip(readable, placed):
            outcomes[k] = transcription
        yield from zip(part, outcomes)  # type: ignore[misc]


def _preprocessing(model: Model, item: Path | Line) -> Preprocessing:
    """How ``item`` is normalised: at its own scale where it has one."""
    scale = item.scale if isinstance(item, Line) else None
    return model.preprocessing if scale is None else replace(model.preprocessing, scale=scale)


def _transcribe_alone(model: Model, image: np.ndarray, width: int, place: bool, where: str) -> Transcription | HwrError:
    try:
        return transcribe_normalized(model, [image], 1, [width] if place else None)[0]
    except Exception as exc:
        return failure(where, exc)


def _where(item: Path | Line) -> str:
    return f"{item.image}: line {item.id}" if isinstance(item, Line) and item.polygon is not None else str(item)


def transcribe_files(
    model: Model, paths: Sequence[Path | Line], batch_size: int = 16, progress: Callable[[int], None] | None = None
) -> tuple[dict[Path | Line, Transcription], list[str]]:
    """Transcriptions of the readable images among ``paths`` (line files, or lines of pages), and one
    message per unreadable one; ``progress(1)`` is called as each image is done."""
    results: dict[Path | Line, Transcription] = {}
    problems: list[str] = []
    for path, outcome in stream_files(model, paths, batch_size):
        if isinstance(outcome, HwrError):
            problems.append(str(outcome))
        else:
            results[path] = outcome
        if progress is not None:
            progress(1)
    return results, problems


def transcribe(model: Model, items: Sequence[str | Path | np.ndarray], batch_size: int = 16) -> list[Transcription]:
    """Transcriptions of line images given as files or as arrays (gray, or colour in OpenCV's BGR
    order), in order; an unreadable file raises :class:`~hwr.errors.ImageError`."""
    images = [
        normalize_line(to_gray(item) if isinstance(item, np.ndarray) else read_gray(item), model.preprocessing)
        for item in items
    ]
    return transcribe_normalized(model, images, batch_size)
