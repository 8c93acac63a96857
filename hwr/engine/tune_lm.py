"""Adding a language model to a trained model and tuning its weights: what ``hwr lm`` does.

The n-gram and the lexicon come from the training transcriptions. The search settings
are chosen by validation CER in two steps: the n-gram's weight and the insertion bonus
over a grid, then the known-word bonus at the best of those (each trial is one beam
search pass over the validation lines; the network runs only once), so the word bonus
adds a few trials where a full grid would multiply them. ``workers`` forked processes share
each trial's lines.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from hwr.data.images import Preprocessing
from hwr.data.prepare import prepare
from hwr.data.readers import LineSet
from hwr.decoders.beam import BeamSettings
from hwr.decoders.language_model import LanguageModel
from hwr.errors import ConfigError
from hwr.metrics import error_rates
from hwr.model_file import Model
from hwr.recognizer import decode, line_log_probs


@dataclass(frozen=True)
class Trial:
    settings: BeamSettings
    cer: float
    wer: float


_searched: tuple[Model, list[np.ndarray]] | None = None
"""The model with its language model and the validation log-probabilities, set before the
workers fork so they inherit them."""


def _search(settings: BeamSettings, start: int, step: int) -> list[str]:
    """Texts of every ``step``-th validation line from ``start``, searched with ``settings``."""
    assert _searched is not None
    model, log_probs = _searched
    return [decode(model, lp, settings).text for lp in log_probs[start::step]]


def add_language_model(
    model: Model,
    train: LineSet,
    valid: Sequence[tuple[LineSet, Preprocessing]],
    order: int,
    weights: Sequence[float],
    bonuses: Sequence[float],
    word_bonuses: Sequence[float],
    base: BeamSettings | None = None,
    log: Callable[[str], None] = print,
    workers: int = 1,
    texts: Sequence[str] = (),
) -> tuple[Model, Trial, Trial]:
    """``model`` with an n-gram and lexicon from ``train``'s texts and ``texts`` (plain text), tuned on
    ``valid`` by ``workers`` processes: validation sets each read at its own preprocessing, as the
    run's sources were (a collection scanned at another resolution keeps its scale).

    Returns the new model, the best trial, and greedy decoding's result (its settings
    are ``base``, default :class:`BeamSettings`'s) for comparison; every trial is logged.
    """
    base = base or BeamSettings()
    corpus: list[str] = []
    for what, given in (("training texts", [line.text for line in train.lines]), ("lines of --text", texts)):
        usable = [text for text in given if not model.alphabet.unknown([text])]
        if len(usable) < len(given):
            unknown = model.alphabet.unknown(given)
            log(
                f"warning: {len(given) - len(usable)} {what} have characters outside the model's alphabet "
                f"({''.join(sorted(unknown))[:40]!r}); not counted"
            )
        corpus.extend(usable)
    if not corpus:
        raise ConfigError("no training text to count the language model on")
    language_model = LanguageModel(corpus, order, model.alphabet, base)
    references: list[str] = []
    log_probs: list[np.ndarray] = []
    for lines, preprocessing in valid:  # the network runs once; each trial only searches
        data = prepare(lines, model, "valid", log, for_training=False, preprocessing=preprocessing)
        by_index = dict(line_log_probs(model, data.images))
        references.extend(data.texts)
        log_probs.extend(by_index[i] for i in range(len(data.images)))
    greedy_model = Model(model.network, model.alphabet, model.preprocessing)
    rates = error_rates(references, [decode(greedy_model, lp).text for lp in log_probs])
    greedy = Trial(base, rates.cer, rates.wer)
    log(f"{len(corpus)} texts counted ({order}-gram); valid CER with greedy decoding: {100 * greedy.cer:.2f}%")

    global _searched
    _searched = (Model(model.network, model.alphabet, model.preprocessing, language_model), log_probs)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) if workers > 1 else None

    def search(settings: BeamSettings) -> list[str]:
        if pool is None:
            return _search(settings, 0, 1)
        texts = [""] * len(log_probs)
        for start, part in enumerate(pool.map(_search, [settings] * workers, range(workers), [workers] * workers)):
            texts[start::workers] = part
        return texts

    try:
        best = _tune(references, weights, bonuses, word_bonuses, base, log, search)
    finally:
        _searched = None
        if pool is not None:
            pool.shutdown()
    tuned_language_model = LanguageModel(corpus, order, model.alphabet, best.settings)  # recounting takes < 1 s
    tuned = Model(model.network, model.alphabet, model.preprocessing, tuned_language_model)
    return tuned, best, greedy


def _tune(
    references: Sequence[str],
    weights: Sequence[float],
    bonuses: Sequence[float],
    word_bonuses: Sequence[float],
    base: BeamSettings,
    log: Callable[[str], None],
    search: Callable[[BeamSettings], list[str]],
) -> Trial:
    """The best settings: the weight x insertion bonus grid first, then the word bonuses at its best."""

    def trial(settings: BeamSettings) -> Trial:
        rates = error_rates(references, search(settings))
        log(
            f"lm weight {settings.lm_weight:g}, insertion bonus {settings.insertion_bonus:g}, "
            f"word bonus {settings.word_bonus:g}: valid CER {100 * rates.cer:.2f}%  WER {100 * rates.wer:.2f}%"
        )
        return Trial(settings, rates.cer, rates.wer)

    first = replace(base, word_bonus=0.0)
    best = min(
        (trial(replace(first, lm_weight=weight, insertion_bonus=bonus)) for weight in weights for bonus in bonuses),
        key=lambda t: t.cer,
    )
    second = [trial(replace(best.settings, word_bonus=value)) for value in word_bonuses if value != 0]
    return min([best, *second], key=lambda t: t.cer)
