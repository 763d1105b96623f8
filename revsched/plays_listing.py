"""The rows `revsched plays` lists, kept between runs in $REVSCHED_HOME/plays-listing.json.

Listing the plays imports every play module and validates the config (pydantic models):
most of the command's start, yet the rows change only when the code, the config or the
environment does. So the rows (all but the next run, found from the cron fields, the
zone and the clock each time) are saved with a digest of what they depend on, and a
later `plays` with the same digest loads neither the plays nor the config's models:

- revsched's version and every .py file of its package (path, size, mtime), so an
  editable install's edit counts; every .py file in the play_paths folders and in the
  folder of each play module installed by another package (a play added, a helper edited);
- the folders of sys.path (a distribution installed or removed changes its folder,
  and with it the entry points), and the working directory's name (relative
  play_paths; a distribution installed there is not noticed);
- the config file's path and bytes, and every REVSCHED* variable (hashed: only the
  digest is written), and HOME (`~` in play_paths).

The cache is only ever a shortcut: a file that is missing, unreadable, corrupt or from
another digest is a miss, and a home that cannot be written to lists all the same.
A changed config is a miss, so a bad config fails with its one-line error as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import astuple
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

import revsched
import revsched.jobs
from revsched.locations import find_config_file, revsched_home
from revsched.logs import logger
from revsched.private import write_private
from revsched.schedule import Schedule

if TYPE_CHECKING:
    from types import ModuleType

    from revsched.config import Settings

CACHE_FILE = "plays-listing.json"
# Changed when the file's layout or what the digest covers changes.
LAYOUT = 1


class Row(NamedTuple):
    """A play's line without its next run."""

    name: str
    enabled: bool
    schedule: Schedule
    summary: str


def listed_plays(config: Path | None) -> list[dict[str, Any]]:
    """Each play as `revsched plays` shows it (text and --json), with its next run from now."""
    key = _key(config)
    cached = _cached(key) if key is not None else None
    if cached is None:
        time_zone, rows, play_folders = _listing(config)
        if key is not None:
            _save(key, time_zone, rows, play_folders)
    else:
        time_zone, rows = cached
    zone = ZoneInfo(time_zone)
    now = datetime.now(zone)
    shown = []
    for row in rows:
        upcoming = row.schedule.next_fire(now, zone)
        shown.append(
            {
                "name": row.name,
                "enabled": row.enabled,
                "schedule": row.schedule.text,
                "cron": row.schedule.cron,
                "time_zone": time_zone,
                "next_run": upcoming.isoformat() if upcoming else None,
                "summary": row.summary,
            }
        )
    return shown


def _listing(config: Path | None) -> tuple[str, list[Row], list[str]]:
    """The time zone and rows from the config and the play modules themselves, and the
    folders outside revsched the plays were loaded from."""
    from revsched.config import load_settings
    from revsched.play import load_plays, play_modules

    settings = load_settings(config)
    modules = play_modules(settings)
    rows = [
        Row(play.name, *play.enabled_schedule(settings), play.summary)
        for play in load_plays(settings, modules).values()
    ]
    return settings.time_zone, rows, _play_folders(settings, modules)


def _play_folders(settings: Settings, modules: Iterable[ModuleType]) -> list[str]:
    """The play_paths folders, and the folder of each play module from outside revsched
    (installed by another package)."""
    folders = {str(directory.expanduser()) for directory in settings.play_paths}
    own = tuple(f"{folder}{os.sep}" for folder in _own_folders())
    for module in modules:
        file = getattr(module, "__file__", None)
        if file and not file.startswith(own):
            folders.add(os.path.dirname(file))
    return sorted(folders)


def _files_in(folders: Iterable[str]) -> list[list[Any]]:
    """The stamps of the .py files in the folders: a file added, removed or edited (a play
    or a helper module it imports) changes them."""
    return [_stamp(path) for folder in folders for path in sorted(_python_files(folder, False))]


def _own_folders() -> list[str]:
    """revsched's package folders (its plays ship apart in an editable install)."""
    return [*revsched.__path__, *revsched.jobs.__path__]


def _python_files(folder: str, recurse: bool) -> Iterator[str]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(".py"):
            yield entry.path
        elif recurse and entry.name != "__pycache__" and entry.is_dir():
            yield from _python_files(entry.path, recurse)


def _stamp(path: str) -> list[Any]:
    """[path, size, mtime_ns] of a file or folder; sizes None for one that is not there."""
    try:
        status = os.stat(path)
    except OSError:
        return [path, None, None]
    return [path, status.st_size, status.st_mtime_ns]


def _key(config: Path | None) -> str | None:
    """The digest of everything the rows depend on that is known before loading them;
    None when it cannot be found (an unreadable config: the full path says why)."""
    try:
        config_file = find_config_file(config)
        config_bytes = config_file.read_bytes() if config_file is not None else b""
        parts = {
            "layout": LAYOUT,
            "version": revsched.__version__,
            "python": sys.version,
            "code": [
                _stamp(path)
                for path in sorted(
                    {path for own in _own_folders() for path in _python_files(own, True)}
                )
            ],
            "sys.path": [_stamp(path) for path in _library_folders()],
            "cwd": os.getcwd(),
            "config": str(config_file.resolve()) if config_file is not None else None,
            "config_sha256": hashlib.sha256(config_bytes).hexdigest(),
            "environment": sorted(
                (name, value)
                for name, value in os.environ.items()
                if name.startswith("REVSCHED") or name == "HOME"
            ),
        }
    except OSError as error:
        logger.debug(f"plays listing cache not used: {error!r}")
        return None
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _library_folders() -> list[str]:
    """sys.path's folders, but the working directory (`python -m`, tests): any file written
    there changes its mtime, and its name is in the digest already."""
    cwd = os.getcwd()
    return [path for path in map(os.path.abspath, sys.path) if path != cwd]


def _cache_path() -> Path:
    return revsched_home() / CACHE_FILE


def _cached(key: str) -> tuple[str, list[Row]] | None:
    """The saved time zone and rows, when saved for `key` and their play sources are
    unchanged; None for any other file (missing, unreadable, corrupt, stale)."""
    try:
        saved = json.loads(_cache_path().read_text(encoding="utf-8"))
        if saved["key"] != key or _files_in(saved["play_folders"]) != saved["play_files"]:
            return None
        rows = [
            Row(row["name"], row["enabled"], Schedule(*row["schedule"]), row["summary"])
            for row in saved["plays"]
        ]
        ZoneInfo(saved["time_zone"])
        return saved["time_zone"], rows
    except FileNotFoundError:
        return None
    except Exception as error:  # the cache is only a shortcut: list without it
        logger.debug(f"plays listing cache not used: {error!r}")
        return None


def _save(key: str, time_zone: str, rows: list[Row], play_folders: list[str]) -> None:
    """Write the listing for the next `plays` (replaced whole: a reader never sees half)."""
    saved = {
        "key": key,
        "play_folders": play_folders,
        "play_files": _files_in(play_folders),
        "time_zone": time_zone,
        "plays": [row._replace(schedule=astuple(row.schedule))._asdict() for row in rows],
    }
    path = _cache_path()
    partial = path.with_name(f".{CACHE_FILE}.{os.getpid()}")
    try:
        write_private(partial, json.dumps(saved))
        os.replace(partial, path)
    except OSError as error:
        logger.debug(f"plays listing cache not saved: {error!r}")
        with suppress(OSError):
            partial.unlink(missing_ok=True)
