"""Rule findings about records, each owed once to its person and once to RevOps.

A hygiene play reports what its rules find in people's digests and RevOps'
summaries; a finding's stages (the person's and RevOps') make each delivery count
once, apart from the other's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from revsched.plan import Firing, Recipient
from revsched.plan_builder import PlanBuilder
from revsched.play import Record


@dataclass(frozen=True)
class Finding:
    """One rule's finding about one record, for a person's digest and RevOps' summary."""

    rule: str
    sobject: str
    record: Record
    stage: str
    what: str
    # User Ids of whose digest it goes in; empty: RevOps' summary only.
    to: tuple[str, ...]
    # What they are to the record: "owner" or "manager".
    role: str = "owner"

    @property
    def summary_stage(self) -> str:
        """The stage RevOps' summary fires: apart from the person's, so neither message's
        delivery counts as the other's (a digest held back lists its findings again)."""
        return f"{self.stage} to RevOps"

    def owed_to_person(self, fired: Collection[tuple[str, str]]) -> bool:
        return bool(self.to) and (self.record["Id"], self.stage) not in fired

    def owed_to_revops(self, fired: Collection[tuple[str, str]]) -> bool:
        return (self.record["Id"], self.summary_stage) not in fired

    def row(self) -> dict[str, Any]:
        company = self.record.get("Company")
        return {
            "sobject": self.sobject,
            "id": self.record["Id"],
            "name": self.record["Name"] + (f" ({company})" if company else ""),
            "what": self.what,
        }


def finding_key(play: str, rule: str, record_id: str, began: date) -> str:
    """A finding's key: its rule, the record and the date the state it is about began."""
    return f"{play}:{rule}:{record_id}:{began.isoformat()}"


def next_business_day(day: date) -> date:
    """The next weekday after `day`: what a created Task is due on."""
    following = day + timedelta(days=1)
    while following.weekday() >= 5:
        following += timedelta(days=1)
    return following


def covers(findings: list[Finding], summary: bool = False) -> tuple[Firing, ...]:
    """The firings a message delivering these findings completes."""
    return tuple(
        Firing(record_id=f.record["Id"], stage=f.summary_stage if summary else f.stage)
        for f in findings
    )


def _unfired(record_id: str, stage: str, fired: Collection[tuple[str, str]]) -> str:
    """The stage, or its first numbered sequel (`stage (2)`) the record has not fired."""
    count, candidate = 1, stage
    while (record_id, candidate) in fired:
        count += 1
        candidate = f"{stage} ({count})"
    return candidate


@dataclass(frozen=True)
class Reporting:
    """How a play tells its findings: each rule's title (in the order messages list them),
    User rows by Id for the people findings name, RevOps and the config key naming them,
    the digest's and the summary's templates, and what the digest's findings are about."""

    rules: Mapping[str, str]
    users: Mapping[str, Record]
    revops: tuple[Recipient, ...]
    revops_key: str
    digest_template: str
    summary_template: str
    about: str

    def tell(self, findings: list[Finding], plan: PlanBuilder) -> None:
        """Each finding is owed to its person (owner or manager) and to RevOps, apart; it
        fires for each with their message, once delivered: one held back is listed again."""
        fired = plan.ctx.fired
        to_people = [f for f in findings if f.owed_to_person(fired)]
        to_revops = [f for f in findings if self.revops and f.owed_to_revops(fired)]
        for finding in findings:
            self._decision(finding, plan)
        self._digests(to_people, plan)
        self._summaries(to_revops, plan)

    def _decision(self, finding: Finding, plan: PlanBuilder) -> None:
        """A finding owed to its person or RevOps is selected; one told already, or one nobody
        can be told of (no owner, no active RevOps user), is skipped, saying which."""
        fired, revops = plan.ctx.fired, bool(self.revops)
        what = f"{self.rules[finding.rule]}: {finding.what}"
        if finding.owed_to_person(fired) or (revops and finding.owed_to_revops(fired)):
            plan.select(finding.record, what, finding.stage, sobject=finding.sobject)
            return
        if not finding.to and not revops:
            why = f"nobody to tell: no owner, and {self.revops_key} names nobody active"
        else:
            why = "already reported"
        plan.skip(finding.record, f"{what} ({why})", finding.stage, sobject=finding.sobject)

    def _digest_context(self, user: Record, items: list[Finding], as_of: date) -> dict[str, Any]:
        """What a person reads: their findings of the day, by rule."""
        return {
            "person": user["Name"],
            "as_of": as_of.isoformat(),
            "rules": [
                {"rule": self.rules[rule], "findings": [f.row() for f in items if f.rule == rule]}
                for rule in self.rules
                if any(f.rule == rule for f in items)
            ],
        }

    def _digests(self, findings: list[Finding], plan: PlanBuilder) -> None:
        """One message a day per person, listing every finding addressed to them; a run later
        that day with findings still owed (found since, or left out of the first for want of
        their writes) sends another, staged apart, so the first's delivery does not stand for
        it."""
        as_of = plan.ctx.as_of
        by_person: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            for user_id in finding.to:
                by_person[user_id].append(finding)
        for user_id, items in by_person.items():
            user = self.users[user_id]
            recipient = Recipient(
                role="owner" if any(f.role == "owner" for f in items) else "manager",
                user_id=user_id,
                name=user["Name"],
                email=user["Email"],
            )
            stage = _unfired(user_id, f"digest {as_of.isoformat()}", plan.ctx.fired)
            plan.alert(
                self.digest_template,
                user_id,
                stage,
                to=(recipient,),
                reason=f"{len(items)} {self.about}",
                context=self._digest_context(user, items, as_of),
                covers=covers(items),
            )
            plan.mark_fired(user_id, stage)

    def _summaries(self, findings: list[Finding], plan: PlanBuilder) -> None:
        """RevOps: one summary per rule with findings, the unaddressed ones marked."""
        as_of = plan.ctx.as_of
        for rule, title in self.rules.items():
            items = [f for f in findings if f.rule == rule]
            if not items:
                continue
            context = {
                "rule": title,
                "as_of": as_of.isoformat(),
                "items": [f.row() | {"unaddressed": not f.to} for f in items],
            }
            plan.digest(
                self.summary_template,
                self.revops,
                f"summary {rule} {as_of.isoformat()}",
                f"{title}: {len(items)} findings",
                context,
                covers(items, summary=True),
            )
