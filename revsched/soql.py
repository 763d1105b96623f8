"""Building SOQL safely.

Values always go through simple-salesforce's `format_soql`, which quotes
strings and renders dates as SOQL literals. Field and object names cannot be
quoted in SOQL, so config validates them against `FIELD_PATH` instead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Annotated, Any
from urllib.parse import quote_plus

from pydantic import StringConstraints

__all__ = [
    "MAX_QUERY_URI",
    "FieldName",
    "FieldPath",
    "format_soql",
    "id_chunks",
    "relationship_name",
    "users_filter",
]

# An API name (`Churn_Date__c`) or a relationship path (`Owner.Email`).
FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
FieldPath = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
]

# A query goes in the URL, and Salesforce refuses a request line and headers over
# 16,384 bytes (431/414): each query of `id_chunks` stays under this many encoded characters.
MAX_QUERY_URI = 12_000


def format_soql(query: str, *args: Any, **kwargs: Any) -> str:
    """simple-salesforce's `format_soql`, imported on first use: loading the plays (to list
    them) must not load the Salesforce client."""
    from simple_salesforce.format import format_soql as quote

    return quote(query, *args, **kwargs)


# The org's open opportunity stages, earliest first: the order a play falls back on when
# its config names none.
OPEN_STAGES = (
    "SELECT ApiName, SortOrder FROM OpportunityStage"
    " WHERE IsActive = true AND IsClosed = false ORDER BY SortOrder"
)


def relationship_name(field: str) -> str:
    """The relationship a lookup field is traversed by: SDR__c -> SDR__r, OwnerId -> Owner."""
    if field.endswith("__c"):
        return field[:-3] + "__r"
    if field.endswith("Id"):
        return field[:-2]
    raise ValueError(f"{field} is not a lookup field name (expected ...Id or ...__c)")


def user_lookup_fields(field: str) -> list[str]:
    """A user lookup and what plays read of the user behind it: the name, the email (how
    Slack finds them) and whether they are active (an inactive owner works nothing)."""
    user = relationship_name(field)
    return [field, f"{user}.Name", f"{user}.Email", f"{user}.IsActive"]


def users_filter(roles: list[str], usernames: list[str], user: str = "") -> str:
    """A condition matching a team: users whose role (UserRole.Name) is listed, or these Usernames.

    `user` is the path to the User from the queried object ("Owner." on Account);
    at least one of `roles` and `usernames` must be non-empty.
    """
    parts = []
    if roles:
        parts.append(format_soql(f"{user}UserRole.Name IN {{}}", roles))
    if usernames:
        parts.append(format_soql(f"{user}Username IN {{}}", usernames))
    return " OR ".join(parts)


def id_chunks(select: str, values: Collection[str]) -> Iterator[list[str]]:
    """The values in lists whose query, URL-encoded, fits in MAX_QUERY_URI."""
    budget = MAX_QUERY_URI - len(quote_plus(f"{select} WHERE Id IN () ORDER BY Id"))
    chunk: list[str] = []
    used = 0
    for value in sorted(values):
        cost = len(quote_plus(format_soql("{},", value)))
        if chunk and used + cost > budget:
            yield chunk
            chunk, used = [], 0
        chunk.append(value)
        used += cost
    if chunk:
        yield chunk
