"""RevOps' daily digest of the leads route-leads left unrouted, and why.

Once a day from `digest_time`: the leads counted by reason, the first `digest_rows`
listed; a day with none only marks the digest as fired. Separate from the play so its
module holds the routing itself; reads the play's digest settings.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from revsched.plan import Scalar
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Record
from revsched.roundrobin import active_recipients


def digest_stage(ctx: DecideContext[Any]) -> str:
    return f"digest:{ctx.as_of.isoformat()}"


def digest_due(ctx: DecideContext[Any]) -> bool:
    """From digest_time on, until today's digest has gone (known here or, with a new
    state store, recalled from the org's memory before deciding)."""
    stage = digest_stage(ctx)
    return ctx.moment.time() >= ctx.config.digest_time and all(s != stage for _, s in ctx.fired)


def _digest_context(unrouted: list[tuple[Record, str]], ctx: DecideContext[Any]) -> dict[str, Any]:
    """What RevOps reads: the leads left unrouted, counted by reason, the first rows listed."""
    config = ctx.config
    reasons = Counter(reason for _, reason in unrouted)
    return {
        "as_of": ctx.as_of.isoformat(),
        "total": len(unrouted),
        "reasons": [{"reason": r, "count": n} for r, n in reasons.most_common()],
        "rows": [
            {
                "lead": lead["Name"],
                "lead_id": lead["Id"],
                "company": lead["Company"],
                "reason": reason,
            }
            for lead, reason in unrouted[: config.digest_rows]
        ],
        "more": max(0, len(unrouted) - config.digest_rows),
    }


def unrouted_row(lead: Record, why: str) -> dict[str, Scalar]:
    return {"lead_id": lead["Id"], "lead": lead["Name"], "company": lead["Company"], "reason": why}


def revops_digest(
    unrouted: list[tuple[Record, str]],
    users: list[Record],
    plan: PlanBuilder,
    ctx: DecideContext[Any],
) -> None:
    """RevOps' daily digest of the leads left unrouted; nothing to say: only the day's
    firing, so its query stops."""
    config = ctx.config
    revops = active_recipients(
        "revops", f"plays.{ctx.play}.revops_users", config.revops_users, users
    )
    stage, reason = digest_stage(ctx), f"daily digest of {len(unrouted)} unrouted leads"
    if unrouted:
        plan.digest(config.digest_template, revops, stage, reason, _digest_context(unrouted, ctx))
    else:
        plan.mark_fired(str(revops[0].user_id if revops else ctx.play), stage)
