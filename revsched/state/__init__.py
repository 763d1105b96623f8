"""The state store: revsched's memory of runs, the per-field audit, alerts, fired stages
and cursors.

models.py holds the tables (what Alembic migrates); store.py the StateStore that reads
and writes them, composed of one class per responsibility (runs.py, history.py,
recovery.py, outbox.py, carryover.py, leases.py) over database.py. The names the rest
of revsched uses are re-exported here.
"""

from revsched.state.carryover import EnrollmentOutcome
from revsched.state.database import open_engine
from revsched.state.models import (
    AlertRow,
    Base,
    EnrollmentRow,
    LeaseRow,
    OccurrenceRow,
    Run,
    UTCDateTime,
)
from revsched.state.outbox import OutboxEntry, fired_by
from revsched.state.recovery import PlannedWrite
from revsched.state.store import StateStore

__all__ = [
    "AlertRow",
    "Base",
    "EnrollmentOutcome",
    "EnrollmentRow",
    "LeaseRow",
    "OccurrenceRow",
    "OutboxEntry",
    "PlannedWrite",
    "Run",
    "StateStore",
    "UTCDateTime",
    "fired_by",
    "open_engine",
]
