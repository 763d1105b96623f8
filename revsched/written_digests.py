"""A digest told once its run's writes are known: it lists only the records written.

A digest (an alert that `covers` the records it lists) is rendered before anything is
written. When some of the records it lists were written and others were not (their write
failed, or they were left alone), it is rendered again without the rows about the latter,
saying how many were left out: nobody reads "opportunity created" of one that was not.
A digest none of whose listed writes succeeded is held back whole by the outbox instead.
Apart from the apply path because it knows how a digest's context lists records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revsched.alerts import AlertRenderer, RenderedAlert
from revsched.plan import Alert, Plan
from revsched.state import StateStore


def told_written(
    plan: Plan,
    rendered: tuple[RenderedAlert, ...],
    not_written: Mapping[str, str],
    renderer: AlertRenderer,
    store: StateStore,
    run_id: int,
) -> tuple[RenderedAlert, ...]:
    """The run's digests listing both written records and some not written (`not_written`:
    Id -> why), rendered again listing only the written ones; the outbox owes the new texts.
    What was written is read from the run's audit: a streamed plan's changes are there."""
    digests = [a for a in plan.alerts if {f.record_id for f in a.covers} & set(not_written)]
    written = store.written(run_id) if digests else set()
    texts: dict[tuple[str, str], str] = {}
    for alert in digests:
        listed = {f.record_id for f in alert.covers}
        if listed & written:
            left_out = listed & set(not_written)
            texts[(alert.record_id, alert.stage)] = _told(alert, left_out, run_id, renderer)
    if not texts:
        return rendered
    store.rewrite_alerts(run_id, texts)
    return tuple(RenderedAlert(r.alert, texts.get(r.key, r.text)) for r in rendered)


def _told(alert: Alert, left_out: set[str], run_id: int, renderer: AlertRenderer) -> str:
    """The digest without the rows of the records left out; one that only counts them (no
    row of theirs to leave out) says how many of those it counts were not done."""
    context = _without(alert.context, left_out)
    text = renderer.render(alert.model_copy(update={"context": context})).text.rstrip()
    listed = left_out & _strings(alert.context)
    for count, what in (
        (len(listed), "Not listed"),
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
