"""What a play is, and how plays are found.

A play is a module that exposes `play = Play(...)`: a name, a schedule, a typed
config model with a default for every field name, value and number it uses,
the SOQL it reads, and a pure `decide` function from those records, the date
and its config to a `Plan`. The runner does all I/O, so a play can be tested
with plain dicts.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import revsched.jobs
from revsched.config import (
    DEMO_USER_DOMAIN,
    PoolSettings,
    Settings,
    StrictModel,
    describe_validation_error,
)
from revsched.declared_writes import Creates, Writes, marked_fields
from revsched.errors import ConfigError, PlayError
from revsched.plan import Plan, Retry
from revsched.schedule import Schedule, ScheduleField, validate_schedule

Record = dict[str, Any]
Records = Mapping[str, list[Record]]


class PlayConfig(StrictModel):
    """Settings every play has; a play's own model adds its fields and defaults."""

    model_config = ConfigDict(validate_default=True)
    # Defaults on a real org ([org] kind = "salesforce"): no play runs until enabled, and
    # a play may add settings that stay off until set (dedupe's merge).
    REAL_ORG_DEFAULTS: ClassVar[dict[str, Any]] = {"enabled": False}

    enabled: bool = True
    # "daily 06:00", "weekly mon 07:00", "monthly 1", "every 15 minutes" or cron fields.
    schedule: ScheduleField = Field("daily", validate_default=True)

    @field_validator("schedule", mode="plain")
    @classmethod
    def _typed_schedule(cls, value: Any) -> Schedule:
        """Every shipped play declares `schedule: ScheduleField = Field(...)`, as the README's
        example does; a user's play written with `schedule: str = "..."` still gets a Schedule."""
        return validate_schedule(value)


C = TypeVar("C", bound=PlayConfig)


@dataclass(frozen=True)
class DecideContext(Generic[C]):
    """Everything besides the records that a decision may depend on."""

    as_of: date
    config: C
    pools: Mapping[str, PoolSettings] = field(default_factory=dict)
    # (record Id, stage) pairs this play has already fired.
    fired: frozenset[tuple[str, str]] = frozenset()
    # Round-robin cursor per pool: the position served next.
    cursors: Mapping[str, int] = field(default_factory=dict)
    # Assignments already made on the as-of date, by pool and Username (daily caps).
    assigned_today: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # The moment of the run in the org's time zone (working hours); as_of at noon if unset.
    now: datetime | None = None
    # Where the play's last fully applied run began reading the org (plays that read only
    # what changed since); None on a first run or a new state store.
    watermark: datetime | None = None
    # Records whose writes failed in the play's earlier runs (the watermark moved past
    # them), by Id: a watermarked play reads them again, and gives up after some runs.
    retries: Mapping[str, Retry] = field(default_factory=dict)
    # Key -> record Ids in the play's lookup index (see `Play.index`), for its follow-ups.
    lookup: Callable[[Collection[str]], dict[str, set[str]]] | None = None
    # The play the context is for, which its queries, follow-ups and decide name keys and
    # config keys in errors after: the runner, forecast and doctor set it, and so does
    # `Play.decide` (for a decision a test asks for).
    play: str = ""
    # What the play declares it writes, creates and merges, set by `Play.decide`:
    # `PlanBuilder` refuses anything else. None (a decide function called on its own):
    # nothing is checked.
    declared: Requirements | None = None

    @property
    def moment(self) -> datetime:
        return self.now or datetime.combine(self.as_of, time(12), tzinfo=UTC)


@dataclass(frozen=True)
class Requirements:
    """What a play needs the org (and config) to have, for `revsched doctor` to check.

    A play declares what its queries and config do not show: the fields the queries read
    are added (`Play.needs`), and so are those the config keys marked `Writes` and
    `Creates` name (`Play.declared`)."""

    # (sObject, field API name or relationship path such as Owner.Name) besides those the
    # queries read: a field only its decide or a child subquery reads.
    fields: tuple[tuple[str, str], ...] = ()
    # (sObject, picklist field, value) the play filters or writes on
    values: tuple[tuple[str, str, str], ...] = ()
    # Usernames that must exist and be active
    users: tuple[str, ...] = ()
    # Round-robin pools (in config) whose members must exist, one at least active
    pools: tuple[str, ...] = ()
    # Queues by DeveloperName
    queues: tuple[str, ...] = ()
    # (sObject, field, value) of records that must exist: a campaign by its Name
    records: tuple[tuple[str, str, str], ...] = ()
    # (sObject, field) it updates on existing records: the integration user must be able to
    # edit them. A play lists the fields no config key names (OwnerId).
    writes: tuple[tuple[str, str], ...] = ()
    # (sObject, field) it sets on the records it creates (upserted on [org] key_field)
    creates: tuple[tuple[str, str], ...] = ()
    # sObjects whose records it merges: Salesforce's merge() needs Delete on the object
    merges: tuple[str, ...] = ()
    # It converts leads (convertLead): the integration user needs the Convert Leads permission
    converts_leads: bool = False
    # Sequences it enrolls people in, and the pools whose members send them: with the
    # outreach channel, each sequence must exist and each sender have a mailbox
    sequences: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()

    def reading(self, fields: Iterable[tuple[str, str]]) -> Requirements:
        """These requirements with `fields` read too, each (sObject, field) once."""
        return replace(self, fields=tuple(dict.fromkeys([*self.fields, *fields])))

    def writing(
        self, writes: Iterable[tuple[str, str]], creates: Iterable[tuple[str, str]]
    ) -> Requirements:
        """These requirements with the fields `writes` updates and `creates` sets added,
        each (sObject, field) once."""
        return replace(
            self,
            writes=tuple(dict.fromkeys([*self.writes, *writes])),
            creates=tuple(dict.fromkeys([*self.creates, *creates])),
        )


def object_fields(sobject: str, *names: str) -> tuple[tuple[str, str], ...]:
    """(sObject, field) for each name, once, in order: what `writes` and `creates` list."""
    return tuple((sobject, name) for name in dict.fromkeys(names))


@dataclass(frozen=True)
class RecordIndex:
    """An index of org records a play looks keys up in, kept between runs by the runner
    (revsched.record_index): each record of `sobject` under the keys `keys` gives it."""

    # Its name among the play's (the runner keeps it under `<play>:<name>`).
    name: str
    sobject: str
    # The fields `keys` reads (Id comes with every record).
    fields: tuple[str, ...]
    keys: Callable[[Record], Iterable[str]]


@dataclass(frozen=True)
class Play(Generic[C]):
    name: str
    summary: str
    config_model: type[C]
    # Named SOQL queries for the context (fired and cursors unused); the runner runs them all.
    queries: Callable[[DecideContext[C]], dict[str, str]]
    decide: Callable[[Records, DecideContext[C]], Plan]
    # What `revsched doctor` checks against the org before the first run, besides the
    # fields the queries read and those the config keys marked `Writes`/`Creates` hold
    # (see `needs`).
    requirements: Callable[[C], Requirements] = field(default=lambda config: Requirements())
    # Named SOQL queries built from what `queries` returned (the accounts of the leads
    # read), run after them; their records join the others for `decide`.
    follow_ups: Callable[[Records, DecideContext[C]], dict[str, str]] | None = None
    # An index of org records kept between runs, which follow-ups look keys up in.
    index: Callable[[C], RecordIndex] | None = None
    # False when decide reads no date or clock (ctx.as_of, ctx.now) beyond stamping the
    # plan: the same records then give the same plan any day, and a forecast decides
    # again only on a day they changed (a dedupe play's matching is its costly part).
    reads_the_date: bool = True
    # The query whose records the play can decide a page at a time (its decide on a page
    # gives exactly that page's part of the plan: a per-record rule, no count or digest
    # over them all): the runner then saves each page's plan as it is decided and holds
    # none of its records or changes (a run of a million records). None: all at once.
    streams: str | None = None

    def record_index(self, config: C) -> RecordIndex | None:
        """The play's index as the state store keeps it: named for the play, so two plays
        (or one play's copy under another name) never share one."""
        if self.index is None:
            return None
        index = self.index(config)
        return replace(index, name=f"{self.name}:{index.name}")

    def all_queries(self, ctx: DecideContext[C]) -> dict[str, str]:
        """Every query the play runs, its follow-ups built as for no records: what doctor
        runs and reads the fields from."""
        queries = self.queries(ctx)
        if self.follow_ups is not None:
            queries |= self.follow_ups({name: [] for name in queries}, ctx)
        return queries

    def needs(self, config: C, queries: Iterable[str]) -> Requirements:
        """What doctor checks: the declared requirements and the fields `queries` read.

        Id and Name are left out (every object a play reads has them), and so is a
        relationship path the play fixes (`Owner.Email`: a standard field behind a lookup it
        reads); a path whose field config names (`Account.PS_Consultant__c`) is kept."""
        from revsched.soql_syntax import fields_read  # the parser loads only to check

        named = {value for _key, value in config_strings(config)}
        read = [
            (sobject, path)
            for soql in queries
            for sobject, path in fields_read(soql)
            if path.lower() not in ("id", "name")
            and ("." not in path or path in named or path.rpartition(".")[2] in named)
        ]
        return self.declared(config).reading(read)

    def declared(self, config: C) -> Requirements:
        """The play's requirements with the fields its config keys marked `Writes` and
        `Creates` hold: everything it may write, which `PlanBuilder` holds it to."""
        writes, creates = marked_fields(config, Writes), marked_fields(config, Creates)
        return self.requirements(config).writing(writes, creates)

    def __post_init__(self) -> None:
        """`decide` sees the play's name and what it declares it writes in its context
        (`ctx.play`, `ctx.declared`), however it is called: by the runner, a forecast or a
        test."""
        if self.streams is not None and self.follow_ups is not None:
            raise PlayError(f"play {self.name}: a play that streams its records has no follow-ups")
        rule = self.decide

        def decide(records: Records, ctx: DecideContext[C]) -> Plan:
            declared = self.declared(ctx.config)
            return rule(records, replace(ctx, play=self.name, declared=declared))

        object.__setattr__(self, "decide", decide)

    def configure(self, settings: Settings, *, to_run: bool = False) -> C:
        """This play's config from its `[plays.<name>]` section, with defaults.

        On a real org the play is off until enabled, and when it is enabled (or `to_run`,
        run by hand) every demo default it would use is an error naming the key to set.
        """
        section = settings.plays.get(self.name, {})
        real_org = settings.org.kind == "salesforce"
        if real_org:
            section = {**self.config_model.REAL_ORG_DEFAULTS, **section}
        try:
            config = self.config_model.model_validate(section)
        except ValidationError as error:
            raise ConfigError(
                describe_validation_error(
                    error, f"plays.{self.name}", settings.source, settings.environment
                )
            ) from None
        if real_org and (config.enabled or to_run):
            self._check_real_org(config, settings)
        return config

    def enabled_schedule(self, settings: Settings) -> tuple[bool, Schedule]:
        """Whether the play is enabled, and its schedule, as `configure` finds them; for a
        play the config has no section for, from its defaults without validating them
        (every play's defaults are valid), so listing plays builds no config model."""
        if self.name in settings.plays:
            config = self.configure(settings)
            return config.enabled, config.schedule
        fields = self.config_model.model_fields
        shown = {name: fields[name].get_default() for name in ("enabled", "schedule")}
        if settings.org.kind == "salesforce":
            shown |= self.config_model.REAL_ORG_DEFAULTS
        return shown["enabled"], validate_schedule(shown["schedule"])

    def _check_real_org(self, config: C, settings: Settings) -> None:
        """Every key still holding a demo default, in one line: users and pools to set."""
        defaults = {
            key.split(".")[0]
            for key, value in config_strings(config)
            if DEMO_USER_DOMAIN in value and key.split(".")[0] not in config.model_fields_set
        }
        unset = [f"plays.{self.name}.{key}" for key in type(config).model_fields if key in defaults]
        missing = [p for p in self.requirements(config).pools if p not in settings.pools]
        unset += [f"[pools.{pool}]" for pool in missing]
        if unset:
            where = f"{settings.source}: " if settings.source else ""
            raise ConfigError(
                f"{where}{self.name} on a real org needs {', '.join(unset)} set to your org's"
                " Usernames (the defaults are the demo org's users and pools)"
            )


def config_strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(key, string) for every string a config holds, however nested, keys of tables too:
    ("status_fields.Industry", "Industry"), ("holding_users", "revops@acme.com")."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, BaseModel):
        for name, item in value:
            yield from config_strings(item, f"{key}.{name}" if key else name)
    elif isinstance(value, dict):
        for name, item in value.items():
            yield key, str(name)
            yield from config_strings(item, f"{key}.{name}")
    elif isinstance(value, list | tuple):
        for item in value:
            yield from config_strings(item, key)


def days_text(count: int) -> str:
    """ "1 day", "3 days": how a count of days reads in a decision's reason."""
    return f"{count} day" if count == 1 else f"{count} days"


def iso_week(day: date) -> str:
    """The ISO week a day falls in, e.g. 2026-W48: the stage of a weekly play's digest."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def _shipped_modules() -> Iterator[ModuleType]:
    for info in pkgutil.iter_modules(revsched.jobs.__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"revsched.jobs.{info.name}")


def _user_modules(directory: Path) -> Iterator[ModuleType]:
    if not directory.is_dir():
        raise PlayError(f"play_paths: {directory} is not a directory")
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = f"revsched_user_plays.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PlayError(f"{path}: cannot be loaded as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            raise PlayError(f"{path}: failed to import: {error}") from error
        yield module


# Installed packages name their play modules in this entry point group.
ENTRY_POINT_GROUP = "revsched.plays"


def _installed_modules() -> Iterator[ModuleType]:
    """Play modules other packages ship: each entry point of the `revsched.plays` group
    names one (`renewal-nudge = "my_plays.renewal_nudge"`)."""
    from importlib.metadata import entry_points  # already loaded by the CLI's libraries

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            module = importlib.import_module(entry.module)
        except Exception as error:
            raise PlayError(
                f"entry point {entry.name} = {entry.value!r} ({ENTRY_POINT_GROUP}): "
                f"failed to import: {error}"
            ) from error
        yield module


def play_modules(settings: Settings) -> list[ModuleType]:
    """The modules plays come from: the shipped ones, those installed packages declare
    under the `revsched.plays` entry point group, then those in `play_paths`."""
    modules = [*_shipped_modules(), *_installed_modules()]
    for directory in settings.play_paths:
        modules.extend(_user_modules(directory.expanduser()))
    return modules


def load_plays(
    settings: Settings, modules: Sequence[ModuleType] | None = None
) -> dict[str, Play[Any]]:
    """All plays by name, from `modules` (by default `play_modules`: each loaded anew)."""
    plays: dict[str, Play[Any]] = {}
    for module in play_modules(settings) if modules is None else modules:
        play = getattr(module, "play", None)
        if not isinstance(play, Play):
            raise PlayError(f"{module.__name__}: a play module must define `play = Play(...)`")
        if play.name in plays:
            raise PlayError(f"{module.__name__}: a play named {play.name!r} already exists")
        plays[play.name] = play
    for section, named in (("plays", settings.plays), ("alerts.plays", settings.alerts.plays)):
        unknown = sorted(set(named) - set(plays))
        if unknown:
            raise ConfigError(
                f"{section}.{unknown[0]}: no such play; known plays: {', '.join(sorted(plays))}"
            )
    return plays


def get_play(plays: Mapping[str, Play[Any]], name: str) -> Play[Any]:
    if name not in plays:
        raise PlayError(f"unknown play {name!r}; known plays: {', '.join(sorted(plays))}")
    return plays[name]
