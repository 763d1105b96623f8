"""Files that hold org data (state, demo org, plans, reports) are their owner's alone.

Created 0600 in folders created 0700, whatever the umask: they carry customer
names and the old values of every field revsched changed.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """Create the folder and its missing parents 0700; an existing folder is left as it is."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        folder.chmod(FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create the file empty and 0600 if it does not exist (SQLite then opens it, and its
    journal files take the same mode); an existing file is left as it is."""
    private_folder(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    return path


def write_private(path: Path, *texts: str) -> None:
    """Write a text file 0600 from its parts, replacing any earlier one."""
    private_folder(path.parent)
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    os.chmod(descriptor, FILE_MODE)
    with open(descriptor, "w", encoding="utf-8", newline="") as stream:
        stream.writelines(texts)
