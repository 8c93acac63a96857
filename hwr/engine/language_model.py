"""Adding a language model to a trained model: what ``hwr lm`` does.

The n-gram is counted on the training transcriptions; its weight and the insertion
bonus are chosen by validation CER, over a small grid (each point is one beam search
pass over the validation lines; the network runs only once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from hwr.data.readers import LineSet
from hwr.decoders.beam import BeamSettings, beam_decode
from hwr.decoders.language_model import LanguageModel
from hwr.engine.trainer import prepare
from hwr.metrics import error_rates
from hwr.model_file import Model
from hwr.recognizer import decode, line_log_probs


@dataclass(frozen=True)
class Trial:
    settings: BeamSettings
    cer: float
    wer: float


def add_language_model(
    model: Model,
    train: LineSet,
    valid: LineSet,
    order: int,
    weights: Sequence[float],
    bonuses: Sequence[float],
    base: BeamSettings = BeamSettings(),
    log: Callable[[str], None] = print,
) -> tuple[Model, Trial, Trial]:
    """``model`` with an n-gram counted on ``train``'s texts, tuned on ``valid``.

    Returns the new model, the best trial, and greedy decoding's result (its settings
    are ``base``) for comparison; every trial is logged.
    """
    corpus, unusable = [], 0
    for line in train.lines:
        if model.alphabet.unknown([line.text]):
            unusable += 1
        else:
            corpus.append(line.text)
    if unusable:
        log(f"warning: {unusable} training texts have characters outside the model's alphabet; not counted")
    if not corpus:
        raise ValueError("no training text to count the language model on")
    language_model = LanguageModel(corpus, order, model.alphabet, base)
    data = prepare(valid, model, "valid", log, for_training=False)
    by_index = dict(line_log_probs(model, data.images))  # the network runs once; each trial only searches
    log_probs = [by_index[i] for i in range(len(data.images))]
    greedy_model = Model(model.network, model.alphabet, model.preprocessing)
    rates = error_rates(data.texts, [decode(greedy_model, lp).text for lp in log_probs])
    greedy = Trial(base, rates.cer, rates.wer)
    log(f"{len(corpus)} texts counted ({order}-gram); valid CER with greedy decoding: {100 * greedy.cer:.2f}%")
    trials = []
    for weight in weights:
        for bonus in bonuses:
            settings = replace(base, lm_weight=weight, insertion_bonus=bonus)
            texts = [
                model.alphabet.decode(beam_decode(lp, language_model.ngram, settings).labels) for lp in log_probs
            ]
            rates = error_rates(data.texts, texts)
            trials.append(Trial(settings, rates.cer, rates.wer))
            log(f"lm weight {weight:g}, insertion bonus {bonus:g}: valid CER {100 * rates.cer:.2f}%  "
                f"WER {100 * rates.wer:.2f}%")
    best = min(trials, key=lambda trial: trial.cer)
    tuned_language_model = LanguageModel(corpus, order, model.alphabet, best.settings)  # recounting takes < 1 s
    tuned = Model(model.network, model.alphabet, model.preprocessing, tuned_language_model)
    return tuned, best, greedy
