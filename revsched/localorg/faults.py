"""Faults and latency on demand: a local org that misbehaves the way Salesforce does, on a
seeded schedule so that a test sees the same faults on every run.

Python API::

    from revsched.localorg import FaultProfile, LocalOrg

    org = LocalOrg(path, faults=FaultProfile(seed=7, error_rate=0.1))
    org.faults = FaultProfile(record_failure_rate=0.05, record_error="UNABLE_TO_LOCK_ROW")
    org.faults = FaultProfile(fail_records={"001...": "FIELD_CUSTOM_VALIDATION_EXCEPTION"})
    org.faults = FaultProfile(session_expires_after=3)   # 4th call with a token -> 401
    org.faults = FaultProfile(api_limit_after=100)       # 101st call -> 403
    org.faults = FaultProfile(drop_rate=1.0)             # every response cut off
    org.faults = FaultProfile(latency=0.05)              # 50 ms per call
    org.faults = None                                     # behave again

Assigning a profile starts its schedule afresh (its own call counter and random stream).
The same profile from a file, for `revsched org serve --faults FILE` (TOML or JSON, keys
as the FaultProfile fields)::

    seed = 7
    error_rate = 0.1
    error_statuses = [500, 503]
    record_failure_rate = 0.05
    record_error = "UNABLE_TO_LOCK_ROW"
    fail_records = { "001...AAA" = "FIELD_CUSTOM_VALIDATION_EXCEPTION" }
    session_expires_after = 1000
    api_limit_after = 5000
    drop_rate = 0.01
    latency = 0.02

What each fault looks like to a client (each as Salesforce sends it):

- `error_rate`: that share of API calls fails before doing anything with 500
  `UNKNOWN_EXCEPTION` or 503 `SERVER_UNAVAILABLE` (a JSON error list; `error_statuses`
  picks which). Status codes: REST API Developer Guide, "Status Codes and Error Responses".
- `record_failure_rate` / `fail_records`: single records of an sObject Collections request
  (create, update, upsert, delete) or of a Bulk API 2.0 ingest job fail with
  `record_error` (UNABLE_TO_LOCK_ROW or FIELD_CUSTOM_VALIDATION_EXCEPTION) while the
  others succeed; `fail_records` maps record Ids to the error they always get.
- `session_expires_after`: a session (access token) is good for N API calls; the next
  one gets 401 `[{"errorCode": "INVALID_SESSION_ID", ...}]` and so does every later call
  with that token. A new login (OAuth token endpoint or SOAP login) issues a fresh one.
- `api_limit_after`: after N calls the daily allowance counts as exhausted: 403
  `REQUEST_LIMIT_EXCEEDED` ("TotalRequests Limit exceeded.").
- `drop_rate`: the call is processed (a write is committed) but the connection drops
  halfway through the response: in-process, requests raises ChunkedEncodingError; over
  HTTP the server closes the socket mid-body.
- `latency`: seconds slept before every call.

Faults apply to the API resources (/services/data, /services/Soap); the OAuth token
endpoint only gets the latency.
"""

from __future__ import annotations

import json
import random
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from revsched.localorg import ids
from revsched.localorg.salesforce_errors import SalesforceError

RECORD_ERRORS = ("UNABLE_TO_LOCK_ROW", "FIELD_CUSTOM_VALIDATION_EXCEPTION")


@dataclass(frozen=True)
class FaultProfile:
    """What should go wrong, and how often. Every field defaults to "never"."""

    seed: int = 0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    record_failure_rate: float = 0.0
    record_error: str = "UNABLE_TO_LOCK_ROW"
    fail_records: dict[str, str] = field(default_factory=dict)
    session_expires_after: int | None = None
    api_limit_after: int | None = None
    drop_rate: float = 0.0
    latency: float = 0.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "record_failure_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if any(s not in (500, 503) for s in self.error_statuses) or not self.error_statuses:
            raise ValueError("error_statuses must be 500 and/or 503")
        for code in (self.record_error, *self.fail_records.values()):
            if code not in RECORD_ERRORS:
                raise ValueError(f"record errors are {', '.join(RECORD_ERRORS)}, not {code}")
        canonical = {}
        for record_id, code in self.fail_records.items():
            normal = ids.normalize(record_id)
            if normal is None:
                raise ValueError(f"fail_records: {record_id} is not a record Id")
            canonical[normal] = code
        object.__setattr__(self, "fail_records", canonical)
        object.__setattr__(self, "error_statuses", tuple(self.error_statuses))

    @classmethod
    def from_file(cls, path: str | Path) -> FaultProfile:
        """A profile from a TOML (.toml) or JSON file whose keys are this class's fields."""
        path = Path(path)
        text = path.read_text()
        data: dict[str, Any] = (
            json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown fault settings: {', '.join(unknown)}")
        if "error_statuses" in data:
            data["error_statuses"] = tuple(data["error_statuses"])
        return cls(**data)


def load_faults(path: str | Path | None) -> FaultProfile | None:
    """For `revsched org serve --faults FILE`: None when no file is given."""
    return None if path is None else FaultProfile.from_file(path)


class FaultState:
    """One profile's schedule: a call counter, per-token call counts and two seeded random
    streams (one drawn a fixed number of times per call, one per record), so the faults a
    test sees depend only on the seed and the order of its calls."""

    def __init__(self, profile: FaultProfile) -> None:
        self.profile = profile
        self.calls = 0
        self.token_calls: dict[str, int] = {}
        self.expired: set[str] = set()
        self._calls_rng = random.Random(profile.seed)
        self._records_rng = random.Random(profile.seed + 1)

    def before_call(self, token: str) -> tuple[SalesforceError | None, bool]:
        """Count a call; returns (the error to answer with instead, drop the response?)."""
        p = self.profile
        self.calls += 1
        error_draw, status_draw, drop_draw = (self._calls_rng.random() for _ in range(3))
        if token in self.expired:
            return _expired(), False
        if p.session_expires_after is not None:
            used = self.token_calls.get(token, 0) + 1
            self.token_calls[token] = used
            if used > p.session_expires_after:
                self.expired.add(token)
                return _expired(), False
        if p.api_limit_after is not None and self.calls > p.api_limit_after:
            return (
                SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
                False,
            )
        if error_draw < p.error_rate:
            status = p.error_statuses[int(status_draw * len(p.error_statuses))]
            return server_error(status), False
        return None, drop_draw < p.drop_rate

    def record_fault(self, record_id: str | None) -> SalesforceError | None:
        """The error a single record of a collection or bulk job fails with, if any."""
        p = self.profile
        draw = self._records_rng.random()
        code = p.fail_records.get(record_id or "")
        if code is None and draw < p.record_failure_rate:
            code = p.record_error
        if code is None:
            return None
        if code == "UNABLE_TO_LOCK_ROW":
            target = f"1 records: {record_id}" if record_id else "this record"
            return SalesforceError(
                400,
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record or {target}",
            )
        return SalesforceError(
            400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Record rejected by a validation rule"
        )


def _expired() -> SalesforceError:
    return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def server_error(status: int) -> SalesforceError:
    if status == 503:
        return SalesforceError(
            503, "SERVER_UNAVAILABLE", "Server temporarily unavailable; try again later"
        )
    return SalesforceError(
        500,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "0-0-0 (-0)",
    )
