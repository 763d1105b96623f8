"""Progress bars on long pulls and writes, shown only when a person is watching a terminal.

Commands switch them on with `shown()` on the console they print with, when it
is a terminal; under cron, systemd or CI nothing is drawn, and the library code
that reports progress does not need to know which. Printing through that same
console while a bar is up puts the text above the bar, never on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # rich.progress is loaded when a bar is first shown, not by every command
    from rich.console import Console
    from rich.progress import Progress, TaskID

_progress: Progress | None = None


class Tracker:
    """What a pull or write reports as it goes: `tracker(n)` when n more are done, and for a
    job that runs on the server (a Bulk API job), `tracker.state(...)` as its state changes.
    Does nothing when no bar is shown."""

    def __init__(self, progress: Progress | None, task_id: TaskID, description: str):
        self._progress, self._task_id, self._description = progress, task_id, description
        self._done = 0
        # The job's state, and the word its count is shown with (None: no count shown).
        self._state: str | None = None
        self._noun: str | None = None

    def __call__(self, done: int) -> None:
        self._done += done
        self._draw()

    def state(self, state: str, processed: int | None = None, noun: str = "processed") -> None:
        """The job's state beside the description and, when known, how many it has
        processed (the bar then follows that count rather than sitting at 0%); counting
        on from there with `tracker(n)` shows the count as `noun`."""
        self._state = state
        if processed is not None:
            self._done, self._noun = processed, noun
        self._draw()

    def _draw(self) -> None:
        if self._progress is None:
            return
        description = self._description
        if self._state is not None:
            counted = f", {self._done:,} {self._noun}" if self._noun else ""
            description = f"{description} ({self._state}{counted})"
        self._progress.update(self._task_id, description=description, completed=self._done)


@contextmanager
def shown(console: Console | None) -> Iterator[None]:
    """Draw progress on `console` for the duration; None draws nothing."""
    global _progress
    if console is None:
        yield
        return
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        _progress = progress
        try:
            yield
        finally:
            _progress = None


@contextmanager
def task(description: str, total: int | None) -> Iterator[Tracker]:
    """A bar for one pull or write; yields its Tracker, a no-op when nothing is shown."""
    progress = _progress
    if progress is None:
        yield Tracker(None, cast("TaskID", 0), description)
        return
    task_id = progress.add_task(description, total=total)
    # Drawn now, not at the next tick: a short step is seen as it happens.
    progress.refresh()
    try:
        yield Tracker(progress, task_id, description)
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
