"""Reads made together in one composite call, so a small read a run needs costs no call
of its own.

REST API Developer Guide, "Send Multiple Requests Using Composite": up to 25
subrequests, up to 5 of them queries (Query, QueryAll, query-more), for every sObject
resource (so sObject Describe) and the Query resource, and "the entire series of requests
counts as a single call toward your API limits". Each subrequest answers on its own
(allOrNone false): a refused one is told as the same one-line error as the read made
alone, and the others are still answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from revsched.errors import RevschedError
from revsched.org_calls import salesforce_errors
from revsched.play import Record


@dataclass(frozen=True)
class Read:
    """One GET subrequest: its path under /services/data/vXX.X/, its headers, and what its
    refusal says (the action refused, and what to fix)."""

    path: str
    action: str
    hint: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def query_read(soql: str, action: str, hint: str | None, batch_size: int) -> Read:
    """A Query subrequest; its page size in its own headers (a subrequest takes any header
    its resource takes, and the composite call's own are not passed on)."""
    options = {"Sforce-Query-Options": f"batchSize={batch_size}"}
    return Read(f"query/?{urlencode({'q': soql})}", action, hint, options)


def describe_read(sobject: str) -> Read:
    """An sObject Describe subrequest, refused as the gateway's own describe is."""
    return Read(f"sobjects/{sobject}/describe", f"describe {sobject}")


def together(reads: Sequence[Read]) -> Callable[[Salesforce], list[dict[str, Any]]]:
    """The composite call of `reads`, for the gateway's `call`; gives each subrequest's
    result. A subrequest that met a server fault fails the call, which is then retried
    as a whole (reads only: nothing is done twice)."""

    def request(sf: Salesforce) -> list[dict[str, Any]]:
        body = {
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "GET",
                    "url": f"/services/data/v{sf.sf_version}/{read.path}",
                    "referenceId": f"read{number}",
                    "httpHeaders": dict(read.headers),
                }
                for number, read in enumerate(reads)
            ],
        }
        results: list[dict[str, Any]] = sf.restful("composite", method="POST", json=body)[
            "compositeResponse"
        ]
        for read, result in zip(reads, results, strict=True):
            if result["httpStatusCode"] >= 500:
                raise _refusal(read, result)
        return results

    return request


def answer(read: Read, result: Mapping[str, Any]) -> Any:
    """A subrequest's body; a refused one raised as the read made alone would be (one
    line naming its action, with its hint)."""
    if result["httpStatusCode"] < 300:
        return result["body"]
    with salesforce_errors(read.action, read.hint):
        raise _refusal(read, result)


def _refusal(read: Read, result: Mapping[str, Any]) -> SalesforceError:
    return SalesforceError(read.path, result["httpStatusCode"], read.path, result["body"])


class SideQuery:
    """A small query read in the first call of a larger read (beside its first page, or
    its object's describe), so it costs no call of its own; read alone when no call
    carries it. What it read, or the error that refused it, is kept for `rows()`: the
    caller tells that error where its own go, not as the larger read's."""

    def __init__(self, soql: str, action: str, hint: str | None = None) -> None:
        self.soql = soql
        self.action = action
        self.hint = hint
        self._rows: list[Record] | None = None
        self._error: RevschedError | None = None

    @property
    def settled(self) -> bool:
        """Whether it has been read (or refused)."""
        return self._rows is not None or self._error is not None

    def settle(self, read: Callable[[], list[Record]]) -> None:
        """Read it now with `read`, keeping its rows or its error."""
        try:
            self._rows = read()
        except RevschedError as error:
            self._error = error

    def rows(self) -> list[Record]:
        """Its rows; its refusal raised here. Asked before it is read, a bug."""
        if self._error is not None:
            raise self._error
        if self._rows is None:
            raise RuntimeError(f"{self.action}: asked for its rows before it was read")
        return self._rows
