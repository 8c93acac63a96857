r"""Multi-directional two-dimensional LSTM (MDLSTM), Graves & Schmidhuber 2009.

The equations, written once; every implementation in this package follows them.

A layer runs four scans over an image, one from each corner. Each scan d has its
own weights and sees the image in its own order, so that for scan d the two
predecessors of position (i, j) are the positions just before it along each axis:
``up = (i-1, j)`` and ``left = (i, j-1)`` in that scan's (flipped) coordinates.
With input x = x(i, j), hidden size N and states h, c::

    a  = W x + b + U_up h(up) + U_left h(left)            (5N pre-activations)
    ι  = σ(a_ι  + p_ι  ⊙ (c(up) + c(left)))               input gate
    φ1 = σ(a_φ1 + p_φ1 ⊙ c(up))                            forget gate, vertical
    φ2 = σ(a_φ2 + p_φ2 ⊙ c(left))                          forget gate, horizontal
    g  = tanh(a_g)                                         cell input
    c  = ι ⊙ g + φ1 ⊙ c(up) + φ2 ⊙ c(left)
    ω  = σ(a_ω + p_ω ⊙ c)                                  output gate
    h  = ω ⊙ tanh(c)

The p are peephole weights (zero and frozen when peepholes are off). States
outside the image, and outside each image's real size in a padded batch, are
zero: every image is a top-left-aligned ``(height, width)`` region of the batch,
and the scans from the right and from the bottom start at that image's own edge.
The layer's output concatenates the four scans' h, giving 4N features.

The 5N pre-activations are stored in the gate order ``[ι, φ1, φ2, ω, g]``.

Implementations (same parameters, same results):

- :mod:`hwr.mdlstm.reference`: a plain loop over pixels with autograd, the
  executable form of the equations above; slow, used to test the others.
- :mod:`hwr.mdlstm.wavefront`: pure PyTorch, one step per anti-diagonal with the
  whole batch and all four scans at once, hand-written backward; any device.
- :mod:`hwr.mdlstm.compiled`: the same scan as a C++ CPU kernel, built on first use.
"""

from hwr.mdlstm.layer import MDLSTM2d, available_backends

__all__ = ["MDLSTM2d", "available_backends"]
