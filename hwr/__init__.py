"""hwr: offline handwritten text recognition with multidimensional LSTMs (Graves & Schmidhuber 2009)."""

__version__ = "0.1.0"
