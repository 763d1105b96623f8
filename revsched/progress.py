"""Progress bars on long pulls and writes, shown only when a person is watching a terminal.

Commands switch them on with `shown()` when stderr is a terminal; under cron,
systemd or CI nothing is drawn, and the library code that reports progress
does not need to know which.
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
