"""What every run-like command opens: settings, the state store, the org and alert
delivery, each on first use. The composition lives here, not in the CLI, so other front
ends (the scheduler, the report commands, a notebook) open a run the same way.

The command line imports this module to build its commands (`revsched --help` too): the
settings and the console's library are loaded when a session opens or a console is made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revsched.logs import logger

if TYPE_CHECKING:
    from rich.console import Console

    from revsched.config import Settings
    from revsched.enroll import EnrollmentChannel
    from revsched.notify import AlertDelivery
    from revsched.org import OrgGateway
    from revsched.play import Play
    from revsched.runner import PlanHook, RunResult
    from revsched.state import StateStore


def make_console(stderr: bool = False) -> Console:
    """Output as wide as the terminal, or $COLUMNS (80 by default) when piped. No emoji
    codes: what it prints is data (a record named "Acme :x:" keeps its name), and rich
    loads its table of emoji codes for the first string it renders with them on."""
    from rich.console import Console

    return Console(stderr=stderr, emoji=False)


def local_today(settings: Settings) -> date:
    return datetime.now(settings.zone).date()


@dataclass(frozen=True)
class Session:
    """What every run-like command opens: settings, state, and (on first use) org and alerts."""

    settings: Settings
    console: Console
    # With --json, stdout carries only the JSON document: alerts printed go to stderr.
    alert_console: Console

    @classmethod
    def open(cls, config: Path | None, as_json: bool) -> Session:
        from revsched.config import load_settings

        return cls.of(load_settings(config), as_json)

    @classmethod
    def of(cls, settings: Settings, as_json: bool) -> Session:
        console = make_console()
        return cls(
            settings=settings,
            console=console,
            alert_console=make_console(stderr=True) if as_json else console,
        )

    @cached_property
    def store(self) -> StateStore:
        """Opened when first needed: a command refusing its arguments creates no file."""
        from revsched.state import StateStore

        return StateStore(self.settings.state.database_url())

    @cached_property
    def org(self) -> OrgGateway:
        """Logged in when first needed: a scheduled run that lost its claim never logs in."""
        from revsched.org import connect_org

        return connect_org(self.settings, local_today(self.settings))

    def delivery(self, play: str, dry_run: bool = False) -> AlertDelivery:
        """The play's renderer and notifier; a dry run sends nothing, so needs no secret."""
        from revsched.alerts import TerminalNotifier
        from revsched.notify import AlertDelivery, alert_delivery, renderer_for

        if dry_run:
            renderer = renderer_for(self.settings, play, self.org.instance_url)
            return AlertDelivery(renderer, TerminalNotifier(self.alert_console))
        return alert_delivery(
            self.settings, play, self.store, self.org.instance_url, self.alert_console
        )

    @cached_property
    def enroller(self) -> EnrollmentChannel:
        """The [enrollment] channel; Outreach's token is read only for a run that writes."""
        from revsched.enroll_config import enrollment_channel

        return enrollment_channel(self.settings, self.org, lambda: self.store)

    @property
    def org_name(self) -> str:
        from revsched.org import describe_org

        return describe_org(self.settings, self.org.instance_url)

    def run(
        self,
        play: Play[Any],
        as_of: date | None,
        dry_run: bool,
        on_plan: PlanHook | None = None,
        confirmed: bool = False,
    ) -> RunResult:
        from revsched.runner import run_play, settle_other_plays

        delivery = self.delivery(play.name, dry_run)
        if not dry_run:
            settle_other_plays(play.name, self.store, self.org, self.delivery)
        result = run_play(
            play,
            self.settings,
            as_of=as_of or local_today(self.settings),
            dry_run=dry_run,
            store=self.store,
            org=self.org,
            renderer=delivery.renderer,
            notifier=delivery.notifier,
            on_plan=on_plan,
            confirmed=confirmed,
            enroller=None if dry_run else self.enroller,
        )
        if not dry_run and self.settings.state.report_dir is not None:
            self.write_reports(result, self.settings.state.report_dir)
        return result

    def write_reports(self, result: RunResult, directory: Path) -> list[Path]:
        """The run's report page and CSVs (revsched.report_files); the paths written."""
        from revsched.report_files import write_reports

        return write_reports(result, directory, self.org, self.settings, self.org_name)

    def run_scheduled(self, play: Play[Any]) -> RunResult | None:
        """Claim the play's latest occurrence and run it; None when someone else claimed it."""
        from revsched.occurrences import claim_latest

        schedule = play.configure(self.settings).schedule
        claim = claim_latest(self.store, play.name, schedule, self.settings.zone, datetime.now(UTC))
        logger.info(claim.message())
        return None if claim.taken_by else self.run(play, None, dry_run=False)
