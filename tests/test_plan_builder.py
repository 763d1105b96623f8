"""The PlanBuilder a play's decide says its rule on: the plan it builds is named after the
play, writes only what differs, and sends a group digest once."""

from __future__ import annotations

from datetime import date

from revsched.plan import Plan, Recipient
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Records, Requirements

TODAY = date(2026, 11, 23)
ACME = {"Id": "001A", "Name": "Acme", "Industry": "Retail", "Rating": "Hot"}
REVOPS = (Recipient(role="RevOps", user_id="005R", name="Rae Ops"),)


def rate_retail(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
    plan = PlanBuilder(ctx, "Account")
    for account in records["accounts"]:
        plan.select(account, "a retail account", "rated")
        plan.change(account, {"Industry": ("Retail", "kept"), "Rating": ("Warm", "retail")})
        plan.mark_fired(account["Id"], "rated")
    plan.digest("digest.j2", REVOPS, f"digest {ctx.as_of}", "the day's ratings", {"n": 1})
    return plan.build(reports={"rated": [{"account": "Acme"}]})


PLAY = Play(
    "rate-retail",
    "Rate retail accounts",
    PlayConfig,
    lambda ctx: {},
    rate_retail,
    requirements=lambda config: Requirements(
        writes=(("Account", "Industry"), ("Account", "Rating"))
    ),
)


def test_the_plan_is_named_after_the_play_whoever_calls_decide():
    plan = PLAY.decide({"accounts": [ACME]}, DecideContext(as_of=TODAY, config=PlayConfig()))

    assert (plan.play, plan.as_of) == ("rate-retail", TODAY)
    [decision] = plan.decisions
    assert (decision.sobject, decision.record_name, decision.outcome, decision.stage) == (
        "Account",
        "Acme",
        "selected",
        "rated",
    )
    assert plan.reports == {"rated": [{"account": "Acme"}]}


def test_only_fields_that_differ_are_changed():
    plan = PLAY.decide({"accounts": [ACME]}, DecideContext(as_of=TODAY, config=PlayConfig()))

    assert [(c.field, c.old, c.new, c.reason) for c in plan.changes] == [
        ("Rating", "Hot", "Warm", "retail")
    ]


def test_a_digest_fires_on_the_groups_first_member_once():
    ctx = DecideContext(as_of=TODAY, config=PlayConfig())
    first = PLAY.decide({"accounts": [ACME]}, ctx)
    [digest] = first.alerts
    assert (digest.record_id, digest.stage, digest.recipients) == (
        "005R",
        f"digest {TODAY}",
        REVOPS,
    )
    assert [(f.record_id, f.stage) for f in first.firings] == [
        ("001A", "rated"),
        ("005R", f"digest {TODAY}"),
    ]

    fired = frozenset((f.record_id, f.stage) for f in first.firings)
    again = PLAY.decide(
        {"accounts": [ACME]}, DecideContext(as_of=TODAY, config=PlayConfig(), fired=fired)
    )
    assert again.alerts == ()
