"""Python's cyclic garbage collector, told to run less often while a play runs.

A large run allocates objects that live until it ends (a planned change per field, the
rows of each page); at the default threshold the collector traverses them again and
again as they age, a fifth of a 100k-record run's CPU. During runs the threshold of the
youngest generation is raised; it is restored when the last run in the process ends
(runs may overlap in threads: the scheduler's).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations between two collections of the youngest generation during a run (default 700).
RUN_THRESHOLD = 20_000


class _Runs:
    """How many runs are under way, and the thresholds to restore after the last."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.saved = gc.get_threshold()


_runs = _Runs()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect less often for the duration (a threshold of 0, collection off, stays off)."""
    with _runs.lock:
        if _runs.count == 0:
            _runs.saved = gc.get_threshold()
            young, *older = _runs.saved
            if young:
                gc.set_threshold(max(young, RUN_THRESHOLD), *older)
        _runs.count += 1
    try:
        yield
    finally:
        with _runs.lock:
            _runs.count -= 1
            if _runs.count == 0:
                gc.set_threshold(*_runs.saved)
