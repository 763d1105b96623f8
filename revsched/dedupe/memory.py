"""The flags past dedupe runs set, remembered so a later run neither drops nor sets one
again unless a record changed.

A flag (record -> the master it may duplicate) is remembered as a stage fired on the
flagged record, kept in the state store and in the org (`revsched.org_memory`, so a
rebuilt server remembers it too): "flagged to <master> <digest>", the digest of both
records' compared values as the run left them (the master's after its merges). While
both still hold those values:

- the flag holds though nothing links the two any more: what linked them was a record
  since merged into the master, and a merge deletes the record and what it alone held;
- a flag a reviewer cleared is not set again.

A record whose compared values changed is judged afresh, as if never flagged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from revsched.dedupe.cluster import REMEMBERED, Cluster, PairLink
from revsched.plan import Scalar
from revsched.play import Record

_STAGE = "flagged to "


def digest(flagged: Sequence[Scalar], master: Sequence[Scalar]) -> str:
    """A short digest of the two records' compared values (16 hex digits: the stage fits
    the org memory's 100 characters)."""
    text = json.dumps([list(flagged), list(master)], default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def flag_stage(master_id: str, values_digest: str) -> str:
    return f"{_STAGE}{master_id} {values_digest}"


@dataclass(frozen=True)
class FlagMemory:
    """The (flagged record, master, digest) triples past runs recorded."""

    flags: frozenset[tuple[str, str, str]]

    @classmethod
    def of(cls, fired: Iterable[tuple[str, str]]) -> FlagMemory:
        """The flags among a play's fired (record, stage) pairs."""
        triples = set()
        for record_id, stage in fired:
            if stage.startswith(_STAGE):
                master_id, _, values_digest = stage[len(_STAGE) :].partition(" ")
                triples.add((record_id, master_id, values_digest))
        return cls(frozenset(triples))

    def holds(self, record_id: str, master_id: str, values_digest: str) -> bool:
        """Whether a past run flagged the record to the master when both held these values."""
        return (record_id, master_id, values_digest) in self.flags


def remembered_links(
    records: Sequence[Record],
    clusters: Sequence[Cluster],
    flag_field: str,
    floor: float,
    memory: FlagMemory,
    values_digest: Callable[[Record, Record], str],
    names: Mapping[str, str],
) -> list[PairLink]:
    """A link for each flag a past run set that nothing links any more while neither
    record has changed since (the records that linked them were merged into the master):
    it keeps the flagged record in its master's cluster, where the past run left it."""
    if not memory.flags:
        return []
    by_id = {r["Id"]: r for r in records}
    linked = {tuple(sorted((link.a, link.b))) for cluster in clusters for link in cluster.links}
    links = []
    for record in records:
        master = by_id.get(record.get(flag_field))
        if master is None or master is record:
            continue
        a, b = sorted((record["Id"], master["Id"]))
        if (a, b) in linked or not memory.holds(
            record["Id"], master["Id"], values_digest(record, master)
        ):
            continue
        detail = f"flagged to {names[master['Id']]} by an earlier run; neither changed since"
        links.append(PairLink(a, b, floor, REMEMBERED, detail))
    return links
