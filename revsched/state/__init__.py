"""The state store: revsched's memory of runs, the per-field audit, alerts, fired stages
and cursors.

models.py holds the tables (what Alembic migrates); store.py the StateStore that reads
and writes them. The names the rest of revsched uses are re-exported here.
"""

from revsched.state.models import (
    AlertRow,
    Base,
    EnrollmentRow,
    LeaseRow,
    OccurrenceRow,
    Run,
    UTCDateTime,
)
from revsched.state.store import (
    EnrollmentOutcome,
    OutboxEntry,
    PlannedWrite,
    StateStore,
    fired_by,
    open_engine,
)

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
