"""Test-wide settings: one torch thread (see hwr.threads), malloc as ``hwr`` sets it, float64 where exactness is checked."""

from hwr.allocator import retain_freed_memory
from hwr.threads import configure_threads

configure_threads(1)
retain_freed_memory()  # as the command line does
