"""The call gate every API call of the local org passes: latency, the fault profile's
schedule and the daily API request limit. REST, Bulk API 2.0 and SOAP share one gate."""

from __future__ import annotations

import time

from revsched.localorg.faults import FaultProfile, FaultState
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.storage import Storage


class CallGate:
    """Counts API calls against the daily limit and applies the fault profile in force."""

    def __init__(
        self, storage: Storage, daily_api_limit: int, faults: FaultProfile | None = None
    ) -> None:
        self.storage = storage
        self.daily_api_limit = daily_api_limit
        self._state: FaultState | None = None
        self.faults = faults

    @property
    def faults(self) -> FaultProfile | None:
        return self._state.profile if self._state else None

    @faults.setter
    def faults(self, profile: FaultProfile | None) -> None:
        """Assigning a profile (or None) restarts its schedule."""
        self._state = FaultState(profile) if profile is not None else None

    def delay(self) -> None:
        """Sleep the profile's latency (before taking the org's lock)."""
        if self._state is not None and self._state.profile.latency:
            time.sleep(self._state.profile.latency)

    def admit(self, token: str) -> bool:
        """Count one API call (faults first: an expired session is refused uncounted);
        raises the error the call gets instead; returns whether to drop its response."""
        fault, drop = self._state.before_call(token) if self._state is not None else (None, False)
        if fault is not None and fault.status == 401:
            raise fault
        used = self.storage.count_call()
        if fault is not None:
            raise fault
        if used > self.daily_api_limit:
            raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return drop

    def check_record(self, record_id: str | None) -> None:
        """Raise the error one record of a collection, bulk job or merge fails with, if any."""
        fault = self._state.record_fault(record_id) if self._state is not None else None
        if fault is not None:
            raise fault

    def usage_header(self) -> str:
        """Sforce-Limit-Info's value: api-usage=used/limit."""
        return f"api-usage={self.storage.calls_today()}/{self.daily_api_limit}"
