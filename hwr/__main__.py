"""``python -m hwr``: the ``hwr`` command (how torchrun and ``hwr train --processes`` start it)."""

from cli.main import app

app(prog_name="hwr")
