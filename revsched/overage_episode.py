"""One account's overage episode as overage-upsell sees it (usage against contract, since
when, the dip it may be in, its opportunities), and what the AM is given and told about it:
the Overage or Upsell opportunity's fields, the alert's context, the leadership report's row.

Apart from the play so its module reads as its PLAYS.md paragraph; the settings read are
listed in `EpisodeSettings`, which the play's config provides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Protocol

from revsched.dedupe.normalize import registrable_domain
from revsched.naming import opportunity_name
from revsched.ownership import lookup_recipient
from revsched.plan import Recipient, RecordCreate, Scalar
from revsched.play import DecideContext, Record
from revsched.records import children

# The fields of the opportunities it creates, besides the type (config) and [org] key_field.
OPPORTUNITY_FIELDS = ("Name", "AccountId", "OwnerId", "StageName", "CloseDate", "Amount")


class EpisodeSettings(Protocol):
    """The settings of overage-upsell's config an episode is measured and told by."""

    account_type_field: str
    customer_types: Sequence[str]
    users_in_contract_field: str
    users_routed_field: str
    overage_pct: float
    start_date_field: str
    account_manager_field: str
    price_per_user_field: str
    website_field: str
    upsell_after_days: int
    grace_days: int
    opportunity_type_field: str
    overage_type: str
    upsell_type: str
    close_days: int
    key_field: str
    call_to_action: Sequence[str]


def opportunity_key(play: str, step: str, account_id: str, start: date) -> str:
    """An episode's opportunity External ID: one Overage and one Upsell per account and start."""
    return f"{play}:{step}:{account_id}:{start.isoformat()}"


class Episode:
    """One account's overage as the decision sees it."""

    def __init__(
        self,
        account: Record,
        ctx: DecideContext[Any],
        first_stage: str,
        dips: dict[tuple[str, date], date],
    ) -> None:
        config: EpisodeSettings = ctx.config
        self.account = account
        self.ctx = ctx
        self.config = config
        self.first_stage = first_stage
        self.contract = int(account[config.users_in_contract_field] or 0)
        self.routed = int(account[config.users_routed_field] or 0)
        start = account[config.start_date_field]
        self.start = date.fromisoformat(start) if start else None
        self.customer = account[config.account_type_field] in config.customer_types
        self.over = self.customer and self.routed > self.allowance
        self.opportunities = children(account, "Opportunities")
        # The first day of a dip at or under contract this episode is in, if any.
        self.dip = dips.get((account["Id"], self.start)) if self.start else None

    @property
    def allowance(self) -> float:
        """The users routed it may reach before it is in overage."""
        return self.contract * (1 + self.config.overage_pct / 100)

    @property
    def owner(self) -> Recipient | None:
        """The AM, else the account owner; None when neither is active."""
        am = lookup_recipient(self.account, self.config.account_manager_field, "AM")
        return am or lookup_recipient(self.account, "OwnerId", "account owner")

    @property
    def since(self) -> str | None:
        """The episode's start, and the dip it came back from when there was one."""
        if self.start is None:
            return None
        back = f" (over contract again after a dip on {self.dip})" if self.dip else ""
        return f"{self.start}{back}"

    def in_grace(self) -> bool:
        """At or under contract for fewer than `grace_days` days (counted from the first run
        that saw the dip): the episode and its clock go on."""
        dip = self.dip or self.ctx.as_of
        return (self.ctx.as_of - dip).days < self.config.grace_days

    @property
    def usage(self) -> str:
        return f"{self.routed} users routed for {self.contract} in contract"

    @property
    def pct_over(self) -> float:
        return round((self.routed - self.contract) * 100 / self.contract, 1) if self.contract else 0

    @property
    def keys(self) -> set[str]:
        return {o[self.config.key_field] for o in self.opportunities if o[self.config.key_field]}

    def open_of_type(self, kind: str) -> list[Record]:
        field = self.config.opportunity_type_field
        return [o for o in self.opportunities if o[field] == kind and not o["IsClosed"]]

    def hand_made(self, kind: str) -> Record | None:
        """An open opportunity of the type that revsched did not create."""
        prefix = f"{self.ctx.play}:"
        key_field = self.config.key_field
        for opp in self.open_of_type(kind):
            if not (opp[key_field] or "").startswith(prefix):
                return opp
        return None

    def near_miss(self) -> str:
        """Why an account with no overage episode is not in one."""
        config = self.config
        if not self.customer:
            return f"not a customer ({self.account[config.account_type_field]})"
        if self.routed <= self.contract:
            return f"within contract: {self.usage}"
        return (
            f"within the {config.overage_pct:g}% allowance: {self.usage}"
            f" (over above {self.allowance:g})"
        )


def opportunity_fields(episode: Episode, kind: str, owner: Recipient) -> dict[str, Scalar]:
    """The Overage or Upsell opportunity for the AM: named after the account, priced on the
    users over contract when the account has a price per user."""
    config = episode.config
    account = episode.account
    fields: dict[str, Scalar] = {
        "Name": opportunity_name(
            account["Name"], kind, registrable_domain(account[config.website_field])
        ),
        "AccountId": account["Id"],
        "OwnerId": owner.user_id,
        config.opportunity_type_field: kind,
        "StageName": episode.first_stage,
        "CloseDate": (episode.ctx.as_of + timedelta(days=config.close_days)).isoformat(),
    }
    price = account[config.price_per_user_field]
    if price:
        fields["Amount"] = round((episode.routed - episode.contract) * float(price), 2)
    return fields


def alert_context(
    episode: Episode,
    step: str,
    owner: Recipient,
    start: date,
    *,
    created: RecordCreate | None = None,
    existing: Record | None = None,
) -> dict[str, Any]:
    """What the AM reads: the usage against contract since when, the opportunity created or
    the one already open, and those to close."""
    config = episode.config
    account = episode.account
    to_close = [
        {"id": o["Id"], "name": o["Name"], "type": o[config.opportunity_type_field]}
        for kind in (config.overage_type, config.upsell_type)
        for o in episode.open_of_type(kind)
    ]
    return {
        "step": step,
        "account": {"id": account["Id"], "name": account["Name"]},
        "owner": owner.name,
        "users_routed": episode.routed,
        "users_in_contract": episode.contract,
        "pct_over": episode.pct_over,
        "overage_pct": config.overage_pct,
        "upsell_after_days": config.upsell_after_days,
        "since": start.isoformat(),
        "days": (episode.ctx.as_of - start).days,
        "created": None
        if created is None
        else {
            "key": created.key,
            "name": created.fields["Name"],
            "amount": created.fields.get("Amount"),
            "close_date": created.fields["CloseDate"],
        },
        "existing": None
        if existing is None
        else {"id": existing["Id"], "name": existing["Name"], "stage": existing["StageName"]},
        "to_close": to_close,
        "call_to_action": config.call_to_action,
    }


def report_row(episode: Episode, start: date, status: str) -> dict[str, Scalar]:
    """The episode's row in AM leadership's digest and the run's overage report."""
    account, owner = episode.account, episode.owner
    return {
        "account": account["Name"],
        "account_id": account["Id"],
        "owner": owner.name if owner else None,
        "users_in_contract": episode.contract,
        "users_routed": episode.routed,
        "pct_over": episode.pct_over,
        "since": start.isoformat(),
        "days_in_overage": (episode.ctx.as_of - start).days,
        "status": status,
    }
