"""The state store: runs, the per-field audit, alerts, fired stages and cursors.

This is revsched's memory: what fired, what changed from what to what, and where each
round robin stands. StateStore composes one class per responsibility, each in its
own module over the shared database (database.py).
"""

from revsched.state.carryover import Carryover
from revsched.state.history import RunHistory
from revsched.state.leases import Leases
from revsched.state.outbox import Outbox
from revsched.state.planned import PlannedChanges
from revsched.state.recovery import Recovery
from revsched.state.runs import RunLog
from revsched.state.tokens import OAuthTokens


class StateStore(
    Leases, Carryover, RunLog, PlannedChanges, RunHistory, Recovery, Outbox, OAuthTokens
):
    """The state store the runner, CLI and reports open on `state.url`."""
