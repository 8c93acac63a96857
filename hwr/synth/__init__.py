"""Synthetic handwriting: lines of generated text rendered in hand-drawn fonts, with distortions.

It gives a fresh install something to train on and a test set whose texts were
never seen in training, without downloading any data.
"""

from hwr.synth.dataset import generate_dataset
from hwr.synth.render import available_fonts, render_line
from hwr.synth.text import TextSource

__all__ = ["TextSource", "available_fonts", "generate_dataset", "render_line"]
