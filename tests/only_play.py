"""Config that leaves a single shipped play enabled, for tests of per-play scheduling."""

from __future__ import annotations

from revsched.config import Settings
from revsched.play import load_plays


def others_disabled(keep: str) -> dict[str, dict[str, bool]]:
    return {name: {"enabled": False} for name in load_plays(Settings()) if name != keep}


def others_disabled_toml(keep: str) -> str:
    return "".join(f"[plays.{name}]\nenabled = false\n" for name in others_disabled(keep))
