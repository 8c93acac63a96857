"""Decoders: CTC outputs -> text."""
