"""How well hwr's confidences tell right readings from wrong ones, on the Hooker validation lines.

    python datasets/joseph_hooker/confidence.py MASKED_MANIFEST [-m MODEL] [--scale S]

Reads the valid split with the model (default: the shipped default) and prints, for lines and
for words (the word confidences ALTO's WC carries), the AUC of confidence against correctness
(the chance that a right one is more confident than a wrong one; 0.5 is no better than chance)
and the CER of the most and least confident tenth of the lines.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from hwr.api import load_model
from hwr.data.readers import read_lines
from hwr.metrics import line_errors, normalize
from hwr.recognizer import stream_files, word_confidence, words_of


def auc(scores: list[float], right: list[bool]) -> float:
    """Area under the ROC curve of ``scores`` for telling ``right`` from wrong (ties count half)."""
    scores_, right_ = np.asarray(scores), np.asarray(right)
    ranks = np.argsort(np.argsort(scores_, kind="stable"), kind="stable").astype(float) + 1
    for value in np.unique(scores_):  # average ranks of ties
        tied = scores_ == value
        ranks[tied] = ranks[tied].mean()
    positives, negatives = right_.sum(), (~right_).sum()
    return float((ranks[right_].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def word_matches(reference: list[str], hypothesis: list[str]) -> list[bool]:
    """For each hypothesis word, whether a minimum-edit alignment of the word lists matches it to an equal word."""
    n, m = len(reference), len(hypothesis)
    cost = np.zeros((n + 1, m + 1), int)
    cost[:, 0], cost[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = reference[i - 1] == hypothesis[j - 1]
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1, cost[i - 1, j - 1] + (0 if same else 1))
    matched = [False] * m
    i, j = n, m
    while i > 0 and j > 0:
        same = reference[i - 1] == hypothesis[j - 1]
        if cost[i, j] == cost[i - 1, j - 1] + (0 if same else 1):
            matched[j - 1] = same
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("-m", "--model", default=None)
    parser.add_argument("--scale", type=float, default=None)
    arguments = parser.parse_args()
    model = load_model(arguments.model, threads=1)
    if arguments.scale is not None:
        model.preprocessing = replace(model.preprocessing, scale=arguments.scale)
    lines = read_lines(arguments.manifest, split="valid").lines
    by_image = {line.image: line for line in lines}
    rows, word_scores, word_right = [], [], []
    for image, reading in stream_files(model, list(by_image), place=True):
        reference = normalize(by_image[image].text)
        errors = line_errors(reference, reading.text)
        rows.append((reading.confidence, errors.char_edits, errors.chars))
        words = [("".join(c.text for c in word), word_confidence(word)) for word in words_of(reading.characters)]
        for (_, score), right in zip(words, word_matches(reference.split(), [w for w, _ in words])):
            word_scores.append(score)
            word_right.append(right)
    confidence = np.array([r[0] for r in rows])
    edits, chars = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    order = np.argsort(-confidence)
    tenth = max(1, len(rows) // 10)
    top, bottom = order[:tenth], order[-tenth:]
    print(f"{len(rows)} valid lines, {len(word_scores)} words; model {arguments.model or 'default'}")
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| CER, all lines | {100 * edits.sum() / chars.sum():.2f}% |")
    print(f"| CER, most confident tenth | {100 * edits[top].sum() / chars[top].sum():.2f}% |")
    print(f"| CER, least confident tenth | {100 * edits[bottom].sum() / chars[bottom].sum():.2f}% |")
    print(f"| AUC, line confidence vs line without error | {auc(list(confidence), list(edits == 0)):.3f} |")
    print(f"| AUC, word confidence vs word read right | {auc(word_scores, word_right):.3f} |")
    print(f"| words read right | {100 * np.mean(word_right):.1f}% |")


if __name__ == "__main__":
    main()
