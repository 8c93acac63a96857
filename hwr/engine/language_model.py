"""Adding a language model to a trained model: what ``hwr lm`` does.

The n-gram and the lexicon come from the training transcriptions. The search settings
are chosen by validation CER in two steps: the n-gram's weight and the insertion bonus
over a grid, then the known-word bonus at the best of those (each trial is one beam
search pass over the validation lines; the network runs only once), so the word bonus
adds a few trials where a full grid would multiply them.
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
    word_bonuses: Sequence[float],
    base: BeamSettings = BeamSettings(),
    log: Callable[[str], None] = print,
) -> tuple[Model, Trial, Trial]:
    """``model`` with an n-gram and lexicon from ``train``'s texts, tuned on ``valid``.

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

    def trial(settings: BeamSettings) -> Trial:
        texts = [
            model.alphabet.decode(beam_decode(lp, language_model.ngram, settings, language_model.lexicon).labels)
            for lp in log_probs
        ]
        rates = error_rates(data.texts, texts)
        log(f"lm weight {settings.lm_weight:g}, insertion bonus {settings.insertion_bonus:g}, "
            f"word bonus {settings.word_bonus:g}: valid CER {100 * rates.cer:.2f}%  WER {100 * rates.wer:.2f}%")
        return Trial(settings, rates.cer, rates.wer)

    first = replace(base, word_bonus=0.0)
    best = min(
        (trial(replace(first, lm_weight=weight, insertion_bonus=bonus)) for weight in weights for bonus in bonuses),
        key=lambda t: t.cer,
    )
    second = [trial(replace(best.settings, word_bonus=value)) for value in word_bonuses if value != 0]
    best = min([best, *second], key=lambda t: t.cer)
    tuned_language_model = LanguageModel(corpus, order, model.alphabet, best.settings)  # recounting takes < 1 s
    tuned = Model(model.network, model.alphabet, model.preprocessing, tuned_language_model)
    return tuned, best, greedy
