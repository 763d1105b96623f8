"""A digest told once its run's writes are known: it lists and counts only the records
written.

A digest (an alert that `covers` the records it lists) is rendered before anything is
written, and its outbox row keeps what it was rendered from. Once the run's writes are
known, by the run itself or, after a kill, by the settle that reads them back, it is told:
when some of the records it lists were written and others were not (their write failed,
they were left alone, or the run was killed before writing them), it is rendered again
without the rows about the latter, saying how many were left out: nobody reads
"opportunity created" of one that was not, nor counts a contact that did not move. A
digest none of whose listed writes succeeded is held back whole by the outbox instead.
Apart from the apply path because it knows how a digest's context lists records, and
settling earlier runs tells theirs the same way.
"""

from __future__ import annotations

import json
from typing import Any

from revsched.alerts import AlertKey, AlertRenderer
from revsched.plan import Alert
from revsched.state import StateStore


def tell_written(
    play: str, store: StateStore, renderer: AlertRenderer, run_id: int | None = None
) -> dict[AlertKey, str]:
    """Tell the play's untold digests, those of run `run_id` (None: of its ended runs), as
    their run's writes came out (from the audit: a streamed plan's changes are there).
    Returns the texts rendered again, by alert key."""
    untold = store.untold_digests(play, run_id)
    if not untold:
        return {}
    unwritten = store.unwritten({row.run_id for row in untold})
    written: dict[int, set[str]] = {}
    texts: dict[int, str | None] = {}
    for row in untold:
        listed = {record for record, _ in json.loads(row.covers or "[]")}
        left_out = {record for record in listed if (row.run_id, record) in unwritten}
        texts[row.id] = None
        if not left_out:
            continue  # told as it was rendered: the common case reads the audit once
        if row.run_id not in written:
            written[row.run_id] = store.written(row.run_id)
        if listed & written[row.run_id]:
            alert = Alert.model_validate_json(row.source or "")
            texts[row.id] = _told(alert, left_out, row.run_id, renderer)
    store.tell(texts)
    return {
        (row.record_id, row.stage): text for row in untold if (text := texts[row.id]) is not None
    }


def _told(alert: Alert, left_out: set[str], run_id: int, renderer: AlertRenderer) -> str:
    """The digest without the rows of the records left out; one that only counts them (no
    row of theirs to leave out) says how many of those it counts were not done."""
    context = _without(alert.context, left_out)
    text = renderer.render(alert.model_copy(update={"context": context})).text.rstrip()
    listed = left_out & _strings(alert.context)
    for count, what in (
        (len(listed), "Left out"),
        (len(left_out - listed), "Counted above but not done"),
    ):
        if count:
            whose = "record whose write" if count == 1 else "records whose writes"
            text += f"\n\n{what}: {count} {whose} did not go through"
    return f"{text} (`revsched show {run_id}` says why); a later run tries again."


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return {found for item in value for found in _strings(item)}
    return {value} if isinstance(value, str) else set()


def _without(value: Any, left_out: set[str]) -> Any:
    """The context without its rows (dicts in lists) naming a record left out, nor the
    groups those rows were all of."""
    if isinstance(value, dict):
        return {key: _without(item, left_out) for key, item in value.items()}
    if not isinstance(value, list | tuple):
        return value
    kept = []
    for item in value:
        if isinstance(item, dict) and _names(item, left_out):
            continue
        pruned = _without(item, left_out)
        if isinstance(item, dict) and _emptied(item, pruned):
            continue
        kept.append(pruned)
    return kept


def _names(row: dict[str, Any], left_out: set[str]) -> bool:
    return any(isinstance(v, str) and v in left_out for v in row.values())


def _emptied(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a group listed rows and has none left."""
    return any(
        isinstance(items, list | tuple) and items and not after[key]
        for key, items in before.items()
    )
