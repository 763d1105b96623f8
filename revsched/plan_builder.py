"""Building a play's plan one record at a time, in the words of its rule: select or skip
the record with the reason, change its fields, create a record on a key, alert someone
with a template and its context, mark the stage fired.

`decide` makes one `PlanBuilder` from its context, says what it does with each record,
and returns `build()`: the plan, named after the play in the context. Each part of the
plan keeps the order the play said it in. A change, create or merge the play has not
declared (`ctx.declared`) is refused, so what doctor and the permission set check is
what a run writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from revsched.errors import PlayError
from revsched.plan import (
    Alert,
    Decision,
    Enrollment,
    FieldChange,
    Firing,
    LeadConversion,
    Merge,
    Plan,
    Recipient,
    RecordCreate,
    Scalar,
    diff_changes,
)
from revsched.play import DecideContext, Record, iso_week


class PlanBuilder:
    """The parts of one play's plan, collected as `decide` goes through the records."""

    def __init__(self, ctx: DecideContext[Any], sobject: str) -> None:
        """`sobject`: what the play's records are, unless a call says otherwise."""
        self.ctx = ctx
        self.sobject = sobject
        self.decisions: list[Decision] = []
        self.changes: list[FieldChange] = []
        self.creates: list[RecordCreate] = []
        self.merges: list[Merge] = []
        self.conversions: list[LeadConversion] = []
        self.enrollments: list[Enrollment] = []
        self.alerts: list[Alert] = []
        self.firings: list[Firing] = []
        # What the play declares it writes and creates; none: nothing is checked.
        declared = ctx.declared
        self._declared = (
            {"writes": frozenset(declared.writes), "creates": frozenset(declared.creates)}
            if declared is not None
            else {}
        )

    def select(
        self,
        record: Record,
        reason: str,
        stage: str | None = None,
        *,
        sobject: str = "",
        kind: str | None = None,
    ) -> None:
        """The record is acted on, and why; `kind` is what a summary counts it under
        when `stage` names records, dates or numbers."""
        self.decisions.append(
            Decision.of(sobject or self.sobject, record, "selected", reason, stage, kind)
        )

    def skip(
        self,
        record: Record,
        reason: str,
        stage: str | None = None,
        *,
        sobject: str = "",
        kind: str | None = None,
    ) -> None:
        """The record is left alone, and why: the near misses a dry run lists; `kind`
        is what a summary counts it under when `reason` names records, dates or numbers."""
        self.decisions.append(
            Decision.of(sobject or self.sobject, record, "skipped", reason, stage, kind)
        )

    def change(
        self,
        record: Record,
        targets: Mapping[str, tuple[Scalar, str]],
        reason_prefix: str = "",
        *,
        sobject: str = "",
    ) -> None:
        """Set each field to its (new value, why); one already holding its value is left."""
        sobject = sobject or self.sobject
        self._refuse_undeclared("writes", sobject, targets)
        self.changes += diff_changes(sobject, record, targets, reason_prefix)

    def create(
        self,
        sobject: str,
        key: str,
        fields: dict[str, Scalar],
        reason: str,
        parent_id: str | None = None,
    ) -> RecordCreate:
        """A record upserted on `key`, so it is never created twice; `parent_id` is the
        record it is for, whose alerts and stages wait if it fails."""
        self._refuse_undeclared("creates", sobject, fields)
        create = RecordCreate(
            sobject=sobject, key=key, fields=fields, reason=reason, parent_id=parent_id
        )
        self.creates.append(create)
        return create

    def convert(self, conversion: LeadConversion) -> None:
        """A lead converted onto an existing account."""
        self.conversions.append(conversion)

    def enroll(self, enrollment: Enrollment) -> None:
        """A person put in a sequence."""
        self.enrollments.append(enrollment)

    def merge(self, merges: list[Merge]) -> None:
        """Records merged into their master, a request at a time."""
        declared = self.ctx.declared
        for merge in merges:
            if declared is not None and merge.sobject not in declared.merges:
                raise PlayError(
                    f"{self.ctx.play} merges {merge.sobject} records, which it does not"
                    f" declare: add {merge.sobject!r} to its requirements' merges"
                )
        self.merges += merges

    def alert(
        self,
        template: str,
        record_id: str,
        stage: str,
        to: tuple[Recipient, ...],
        reason: str,
        context: dict[str, Any],
        covers: tuple[Firing, ...] = (),
    ) -> None:
        """An alert about a record at a stage, rendered from `template` with `context`;
        a digest `covers` the stages of the records it lists, fired once it is delivered."""
        self.alerts.append(
            Alert(
                template=template,
                record_id=record_id,
                stage=stage,
                recipients=to,
                reason=reason,
                context=context,
                covers=covers,
            )
        )

    def digest(
        self,
        template: str,
        to: tuple[Recipient, ...],
        stage: str,
        reason: str,
        context: dict[str, Any],
        covers: tuple[Firing, ...] = (),
    ) -> None:
        """One alert to a group (AM leadership, RevOps) at a stage, fired on its first member
        (with `covers`, the records it lists); nothing when nobody in the group is active or
        the stage has fired."""
        if not to or (to[0].user_id, stage) in self.ctx.fired:
            return
        self.alert(template, str(to[0].user_id), stage, to, reason, context, covers)
        self.mark_fired(str(to[0].user_id), stage)

    def listed_this_week(self, record_id: str) -> bool:
        """Whether a weekly digest delivered this week already listed the record."""
        return (record_id, iso_week(self.ctx.as_of)) in self.ctx.fired

    def weekly_digest(
        self,
        template: str,
        to: tuple[Recipient, ...],
        reason: str,
        listed: list[str],
        context: dict[str, Any],
    ) -> None:
        """The week's digest to a group, fired on its first member, listing the records
        `listed` (none: nothing is sent). A second run in the week that lists more sends
        its own, staged on the day."""
        if not listed:
            return
        week = iso_week(self.ctx.as_of)
        first = str(to[0].user_id)
        stage = f"{week} {self.ctx.as_of.isoformat()}" if (first, week) in self.ctx.fired else week
        covers = tuple(Firing(record_id=record_id, stage=week) for record_id in listed)
        self.alert(template, first, stage, to, f"{reason}, {week}", context, covers)
        self.mark_fired(first, stage)

    def mark_fired(self, record_id: str, stage: str) -> None:
        """The (record, stage) is handled: recorded once the plan applies, never again."""
        self.firings.append(Firing(record_id=record_id, stage=stage))

    def _refuse_undeclared(self, part: str, sobject: str, fields: Iterable[str]) -> None:
        """A field the play has not declared in its requirements' `part` (writes, creates)
        is a mistake in the play: doctor and the permission set would not have checked it."""
        declared = self._declared.get(part)
        if declared is None:
            return
        for field in fields:
            if (sobject, field) not in declared:
                verb = "changes" if part == "writes" else "creates"
                raise PlayError(
                    f"{self.ctx.play} {verb} {sobject}.{field}, which it does not declare: mark"
                    f' the config key naming it {part.capitalize()}("{sobject}"), or add'
                    f' ("{sobject}", "{field}") to its requirements\' {part}'
                )

    def build(self, **extra: Any) -> Plan:
        """The plan, with `extra` plan fields (cursors, reports, confirmation, ...)."""
        return Plan(
            play=self.ctx.play,
            as_of=self.ctx.as_of,
            decisions=tuple(self.decisions),
            changes=tuple(self.changes),
            creates=tuple(self.creates),
            merges=tuple(self.merges),
            conversions=tuple(self.conversions),
            enrollments=tuple(self.enrollments),
            alerts=tuple(self.alerts),
            firings=tuple(self.firings),
            **extra,
        )
