"""The play's lease: one run of a play at a time, across processes and machines.

Separate from the runner because planning (the record index), settling other plays
and every run hold it.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from revsched.errors import LockedError
from revsched.state import StateStore

# Renewed every third of this while a run holds it; a killed run's lease lapses after it.
LEASE_TTL = timedelta(minutes=5)


@contextmanager
def play_lease(store: StateStore, play: str) -> Iterator[None]:
    """Hold the play's lease for the run, so no other process or server runs it meanwhile.

    The lease is short and renewed in the background: a killed run's lease lapses
    within LEASE_TTL instead of blocking the next scheduled run for hours.
    """
    name = f"play:{play}"
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    current = store.acquire_lease(name, holder, LEASE_TTL)
    if current is not None:
        raise LockedError(
            f"another run of {play} holds the lock ({current.holder}, until "
            f"{current.expires_at:%Y-%m-%d %H:%M:%S} UTC); try again when it has finished"
        )
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(LEASE_TTL.total_seconds() / 3):
            store.acquire_lease(name, holder, LEASE_TTL)

    renewer = threading.Thread(target=renew, name=f"lease {name}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        store.release_lease(name, holder)
