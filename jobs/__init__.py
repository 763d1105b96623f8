"""Plays shipped with revsched: one module per play."""
