"""The models shipped with hwr: safetensors model files, each with its card (``NAME.md``).

This folder is installed as the package ``hwr.models`` so that a wheel carries the models
(see :mod:`hwr.shipped`); it holds no code.
"""
