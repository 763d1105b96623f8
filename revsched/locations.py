"""Where revsched finds its config file and keeps its state.

Apart from the config's models (pydantic) so that `revsched plays` can find both
without loading them when its listing is cached (revsched.plays_listing)."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV = "REVSCHED_CONFIG"
HOME_ENV = "REVSCHED_HOME"


def revsched_home() -> Path:
    """Where revsched keeps its state and the embedded demo org by default."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "revsched"


def find_config_file(explicit: Path | None) -> Path | None:
    """--config, then $REVSCHED_CONFIG, then ./revsched.toml; None means all defaults."""
    if explicit is not None:
        return explicit
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    local = Path("revsched.toml")
    return local if local.exists() else None
