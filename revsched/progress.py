"""Progress bars on long pulls and writes, shown only when a person is watching a terminal.

Commands switch them on with `shown()` on the console they print with, when it
is a terminal; under cron, systemd or CI nothing is drawn, and the library code
that reports progress does not need to know which. Printing through that same
console while a bar is up puts the text above the bar, never on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress

_progress: Progress | None = None


@contextmanager
def shown(console: Console | None) -> Iterator[None]:
    """Draw progress on `console` for the duration; None draws nothing."""
    global _progress
    if console is None:
        yield
        return
    with Progress(console=console, transient=True) as progress:
        _progress = progress
        try:
            yield
        finally:
            _progress = None


@contextmanager
def task(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar for one pull or write; yields `advance(n)`, a no-op when nothing is shown."""
    progress = _progress
    if progress is None:
        yield lambda done: None
        return
    task_id = progress.add_task(description, total=total)
    try:
        yield lambda done: progress.advance(task_id, done)
    finally:
        progress.remove_task(task_id)


@contextmanager
def status(description: str) -> Iterator[None]:
    """A status line (no count) for a step that takes a while: deciding, merging, rendering."""
    with task(description, None):
        yield


@contextmanager
def paused() -> Iterator[None]:
    """Take the bars off the screen meanwhile (for a question to the person watching)."""
    progress = _progress
    if progress is None:
        yield
        return
    progress.stop()
    try:
        yield
    finally:
        progress.start()
