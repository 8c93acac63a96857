"""The ``hwr`` command line: a thin typer app over the :mod:`hwr` library."""
