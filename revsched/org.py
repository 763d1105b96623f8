"""The only place revsched talks to Salesforce: connecting, reading, writing.

Plays never see a client; the runner hands them records read here and gives
their plan back here to write. Salesforce's errors become one-line OrgErrors
that carry Salesforce's own error code.

`OrgGateway` is put together here from its reads (`org_reads.py`) and writes
(`org_writes.py`), both made through one call path (`org_calls.py`: retries,
re-login, API budget); it keeps the describe cache.
"""

from __future__ import annotations

import math
import time
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.parser import isoparse

from revsched.auth import salesforce_login
from revsched.config import Settings
from revsched.logs import logger
from revsched.org_composite import SideQuery, describe_read
from revsched.org_reads import OrgReads
from revsched.org_writes import OrgWrites

# Longer than a run, shorter than the life of a scheduler's session.
DESCRIBE_MAX_AGE = timedelta(minutes=10)


class OrgGateway(OrgReads, OrgWrites):
    """Reads with SOQL and writes with sObject Collections, frugally and resiliently.

    Every call is retried on transient faults with exponential backoff and
    jitter, logs in again once when the session expires, and is refused when
    the org's daily API usage has reached our budget share.
    """

    def describe(self, sobject: str, side: SideQuery | None = None) -> dict[str, Any]:
        """The object's describe (its fields and their types), fetched once for a run: every
        Bulk read of the object is typed with it. A scheduler's gateway lives for weeks, so
        a describe older than DESCRIBE_MAX_AGE is fetched again (an admin may change a
        field's type). A `side` query not yet read is read in the describe's call (one
        composite call), or alone when the describe is not fetched."""
        fetched, described = self._describes.get(sobject, (-math.inf, {}))
        if time.monotonic() - fetched > DESCRIBE_MAX_AGE.total_seconds():
            described = self.carrying(
                describe_read(sobject), lambda sf: getattr(sf, sobject).describe(), side
            )
            self._describes[sobject] = (time.monotonic(), described)
        if side is not None and not side.settled:
            self.read_side(side)
        return described


def same_value(held: Any, written: Any) -> bool:
    """Whether a value read from the org is the one written: numbers compared as numbers,
    dateTimes as instants to the millisecond (Salesforce reads back as
    2026-11-23T00:04:07.931+0000 what was written as 2026-11-23T00:04:07.931Z)."""
    if isinstance(held, int | float) and isinstance(written, int | float):
        return float(held) == float(written)
    if isinstance(held, str) and isinstance(written, str) and held != written:
        instant = _instant(held)
        return instant is not None and instant == _instant(written)
    return bool(held == written)


def _instant(text: str) -> datetime | None:
    """A dateTime value to the millisecond, or None when the text is no dateTime."""
    if "T" not in text:
        return None
    try:
        moment = isoparse(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def connect_org(settings: Settings, today: date) -> OrgGateway:
    """The configured org; with none configured, the embedded demo org (built on first use)."""
    org = settings.org
    if org.kind == "local":
        # Here only: a run on a real org loads none of the local org, and a run on a served
        # one only its client's transport (not the server, its parser and storage).
        if org.url:
            from revsched.localorg import connect

            url = org.url
            return OrgGateway(
                lambda: connect(url), settings.api, org.key_field, settings.state.org_memory
            )
        from revsched.localorg import LocalOrg
        from revsched.localorg.demo import build_demo_org

        path = org.local_path()
        if not path.exists():
            logger.info(
                "building the demo org (%d accounts dated around %s) at %s: first use",
                org.demo_accounts,
                today,
                path,
            )
            build_demo_org(path, accounts=org.demo_accounts, seed=org.demo_seed, today=today)
        local = LocalOrg(path)
        return OrgGateway(local.salesforce, settings.api, org.key_field, settings.state.org_memory)
    return OrgGateway(salesforce_login(org), settings.api, org.key_field, settings.state.org_memory)


def describe_org(settings: Settings, instance_url: str) -> str:
    """Which org a run talks to, for its header: demo, local file or server, or Salesforce."""
    org = settings.org
    if org.kind == "local":
        if org.url:
            return f"local org server {org.url}"
        return f"{'local org' if org.path else 'demo org'} {org.local_path()}"
    # Sandboxes log in at test.salesforce.com, or at a My Domain under .sandbox.
    sandbox = org.domain == "test" or ".sandbox." in f"{instance_url}.{org.domain}."
    return f"Salesforce {instance_url} ({'sandbox' if sandbox else 'production'})"
