"""What engine tests share: a channel that confirms every alert, one win-back run, a play's
run on a gateway, and a play that finds its own records by its name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from simple_salesforce import Salesforce

from revsched.alerts import AlertRenderer, Notifier, RenderedAlert
from revsched.config import ApiSettings, Settings
from revsched.enroll import EnrollmentChannel
from revsched.errors import ConfigError
from revsched.localorg import LocalOrg
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Records, load_plays
from revsched.runner import RunResult, run_play
from revsched.soql import format_soql
from revsched.state import StateStore

TODAY = date(2026, 11, 23)


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[RenderedAlert] = []

    def deliver(self, alerts: Sequence[RenderedAlert]) -> dict[tuple[str, str], str | None]:
        self.sent.extend(alerts)
        return {alert.key: None for alert in alerts}


class NoAlerts:
    """A channel for plans that must send nothing."""

    def deliver(self, alerts: Sequence[RenderedAlert]) -> dict[tuple[str, str], str | None]:
        assert not alerts, "no alert expected"
        return {}


def run_on(
    play: Play[Any], gateway: OrgGateway, store: StateStore, dry_run: bool = False, **options: Any
) -> RunResult:
    """The play on TODAY, with the gateway's API settings and no alert channel."""
    options = {"notifier": NoAlerts(), "renderer": AlertRenderer(gateway.instance_url), **options}
    settings = Settings(api=gateway.api)
    return run_play(
        play, settings, as_of=TODAY, dry_run=dry_run, store=store, org=gateway, **options
    )


def demo_runs(
    name: str, demo_org: Path, tmp_path: Path
) -> tuple[LocalOrg, StateStore, Callable[..., RunResult]]:
    """The demo org on TODAY (faults settable), a fresh state store, and the play `name`
    run on them with alerts rendered, as `revsched run NAME` does it (no waits on retries)."""
    local = LocalOrg(demo_org, today=lambda: TODAY)
    org = OrgGateway(local.salesforce, ApiSettings(retry_base_seconds=0, retry_max_seconds=0))
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    return local, store, partial(run_named, name, org, store, renderer=AlertRenderer("https://x"))


def token_client(org: LocalOrg, logins: list[int]) -> Callable[[], Salesforce]:
    """A token-only client (as JWT deployments get): it cannot refresh itself, so an
    expired session is the gateway's to handle. Each login is counted in `logins`."""

    def login() -> Salesforce:
        logins.append(1)
        fresh = org.salesforce(username="revsched@x.example", password="pw", security_token="")
        return Salesforce(
            instance_url=f"https://{fresh.sf_instance}",
            session_id=fresh.session_id,
            session=fresh.session,
            version="62.0",
        )

    return login


def run_named(
    name: str,
    org: OrgGateway,
    store: StateStore,
    notifier: Notifier | None = None,
    *,
    settings: Settings | None = None,
    renderer: AlertRenderer | None = None,
    dry_run: bool = False,
    enroller: EnrollmentChannel | None = None,
) -> RunResult:
    """The play `name` on TODAY, as `revsched run NAME` does it."""
    settings = settings or Settings()
    return run_play(
        load_plays(settings)[name],
        settings,
        as_of=TODAY,
        dry_run=dry_run,
        store=store,
        org=org,
        renderer=renderer or AlertRenderer(org.instance_url),
        notifier=notifier or RecordingNotifier(),
        enroller=enroller,
    )


# win-back on TODAY, as `revsched run win-back` does it.
run_win_back = partial(run_named, "win-back")


def everything_written(tmp_path: Path, revsched_home: Path, *outputs: str) -> str:
    """Every output, log line and byte of state and plans a run left behind."""
    files = [p for p in [*tmp_path.rglob("*"), *revsched_home.rglob("*")] if p.is_file()]
    return "\n".join([*outputs, *(p.read_bytes().decode("latin-1") for p in files)])


def doctor_failures(play: str, config: str, tmp_path: Path) -> list[str]:
    """`revsched doctor` with this config: its failed lines about `play`, their prefix cut."""
    from typer.testing import CliRunner

    from revsched.cli import app

    path = tmp_path / "doctor.toml"
    path.write_text(config, encoding="utf-8")
    result = CliRunner().invoke(app, ["doctor", "--config", str(path)])
    prefix = f"FAIL {play}: "
    return [
        line.removeprefix(prefix) for line in result.stdout.splitlines() if line.startswith(prefix)
    ]


class OwnRecordsConfig(PlayConfig):
    # Its records' names begin "<prefix>: "; blank: the play's name.
    prefix: str = ""


def _own(ctx: DecideContext[OwnRecordsConfig]) -> str:
    """The LIKE pattern of the play's records' names."""
    prefix = ctx.config.prefix or ctx.play
    if ":" in prefix:
        raise ConfigError(f"plays.{ctx.play}.prefix: {prefix!r} holds the colon that ends it")
    return f"{prefix}: %"


def _select_own(records: Records, ctx: DecideContext[OwnRecordsConfig]) -> Plan:
    plan = PlanBuilder(ctx, "Account")
    for account in records["accounts"]:
        plan.select(account, "named after the play")
    for contact in records.get("contacts", []):
        plan.select(contact, "named after the play", sobject="Contact")
    return plan.build()


# A play that finds its own records by its name, in its queries (Accounts) and follow-ups
# (Contacts), as plays read back the records they keyed: what it selects shows the name
# its queries saw.
own_records = Play(
    "own-records",
    "Select the accounts and contacts named after the play",
    OwnRecordsConfig,
    lambda ctx: {
        "accounts": format_soql("SELECT Id, Name FROM Account WHERE Name LIKE {}", _own(ctx))
    },
    _select_own,
    follow_ups=lambda records, ctx: {
        "contacts": format_soql("SELECT Id, Name FROM Contact WHERE LastName LIKE {}", _own(ctx))
    },
)


def with_own_records(org: LocalOrg) -> tuple[list[str], list[str]]:
    """`own_records`' accounts and contacts in `org`, beside others': its records' Ids."""
    org.insert("Account", [{"Name": "Acme"}, {"Name": "other-play: Acme"}])
    org.insert("Contact", [{"LastName": "Smith"}])
    accounts = org.insert("Account", [{"Name": "own-records: Acme"}])
    contacts = org.insert("Contact", [{"LastName": "own-records: Smith"}])
    return accounts, contacts
