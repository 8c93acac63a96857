"""Test-wide settings: one torch thread (see hwr.threads), float64 where exactness is checked."""

from hwr.threads import configure_threads

configure_threads(1)
