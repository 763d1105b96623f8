"""What a play writes is declared once: a config key marked `Writes` or `Creates` declares
the field it names, as configured, and a play's plan may change, create and merge only
what it declares, so doctor and the permission set check what a run really writes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import pytest

from revsched.declared_writes import Creates, Writes
from revsched.errors import PlayError
from revsched.plan import Merge, MergedRecord, Plan
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Records, Requirements
from revsched.soql import FieldName

TODAY = date(2026, 11, 23)
ACME = {"Id": "001A", "Name": "Acme", "OwnerId": "005A", "Rating": "Hot", "Score__c": 10}


class RatingConfig(PlayConfig):
    rating_field: Annotated[FieldName, Writes("Account")] = "Rating"
    # The Task's field the rating is copied to; "" sets none.
    task_field: Annotated[FieldName | Literal[""], Creates("Task")] = ""
    # Also set on the account (not declared: a mistake the plan refuses).
    undeclared_field: FieldName | Literal[""] = ""


def rate(records: Records, ctx: DecideContext[RatingConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Account")
    for account in records["accounts"]:
        targets = {config.rating_field: ("Warm", "rated"), "OwnerId": ("005B", "to Bo")}
        if config.undeclared_field:
            targets[config.undeclared_field] = ("x", "undeclared")
        plan.change(account, targets)
        task = {"Subject": "Rated", **({config.task_field: "Warm"} if config.task_field else {})}
        plan.create("Task", f"rate:{account['Id']}", task, "rated", account["Id"])
    return plan.build()


RATE = Play(
    "rate",
    "Rate accounts",
    RatingConfig,
    lambda ctx: {},
    rate,
    requirements=lambda config: Requirements(
        writes=(("Account", "OwnerId"),), creates=(("Task", "Subject"),)
    ),
)


def _decide(**config: str) -> Plan:
    ctx = DecideContext(as_of=TODAY, config=RatingConfig(**config))
    return RATE.decide({"accounts": [ACME]}, ctx)


def test_a_key_marked_writes_declares_the_field_it_is_set_to():
    config = RatingConfig(rating_field="Score__c", task_field="Description")

    needs = RATE.needs(config, [])

    assert needs.writes == (("Account", "OwnerId"), ("Account", "Score__c"))
    assert needs.creates == (("Task", "Subject"), ("Task", "Description"))
    plan = _decide(rating_field="Score__c", task_field="Description")
    assert [(c.field, c.new) for c in plan.changes] == [("Score__c", "Warm"), ("OwnerId", "005B")]
    assert plan.creates[0].fields == {"Subject": "Rated", "Description": "Warm"}


def test_a_key_left_empty_declares_nothing():
    assert RATE.needs(RatingConfig(), []).creates == (("Task", "Subject"),)


def test_a_change_to_a_field_the_play_does_not_declare_is_refused():
    with pytest.raises(PlayError) as refused:
        _decide(undeclared_field="Industry")

    assert str(refused.value) == (
        "rate changes Account.Industry, which it does not declare: mark the config key"
        ' naming it Writes("Account"), or add ("Account", "Industry") to its'
        " requirements' writes"
    )


def test_a_created_field_the_play_does_not_declare_is_refused():
    undeclared = Play(
        "rate",
        "Rate accounts",
        RatingConfig,
        lambda ctx: {},
        rate,
        requirements=lambda c: Requirements(writes=(("Account", "OwnerId"),)),
    )
    ctx = DecideContext(as_of=TODAY, config=RatingConfig())

    with pytest.raises(PlayError, match=r"^rate creates Task\.Subject, which it does not"):
        undeclared.decide({"accounts": [ACME]}, ctx)


def test_a_merge_the_play_does_not_declare_is_refused():
    """dedupe with `merge = false` declares no merges: a plan merging anyway is a mistake."""
    acme_inc = MergedRecord(record_id="001B", record_name="Acme Inc", fields={"Name": "Acme Inc"})
    merge = Merge(
        sobject="Account",
        master_id="001A",
        master_name="Acme",
        merged=(acme_inc,),
        master_before={},
        master_after={},
        reason="same domain",
    )
    ctx = DecideContext(as_of=TODAY, config=PlayConfig(), play="rate", declared=Requirements())

    with pytest.raises(PlayError) as refused:
        PlanBuilder(ctx, "Account").merge([merge])

    assert str(refused.value) == (
        "rate merges Account records, which it does not declare: add 'Account' to its"
        " requirements' merges"
    )
