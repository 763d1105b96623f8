"""The Outreach enrollment channel against a fake Outreach on 127.0.0.1, and the runner's
enrollment audit: enrolled, already, opted out, rate limits, 5xx, a refused token, and
nothing enrolled twice after a crash between the enrollment and its audit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fakeoutreach import TOKEN, FakeOutreach
from harness import everything_written, run_named

from revsched.config import ApiSettings, OutreachSettings, SecretRef, Settings
from revsched.enroll import EnrollmentChannel, FakeChannel, SalesforceFieldChannel
from revsched.enroll_config import enrollment_channel
from revsched.errors import ConfigError
from revsched.jobs.job_changes import play
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.outreach import OutreachChannel, OutreachClient, retry_after_seconds
from revsched.plan import Enrollment, Person, Recipient
from revsched.report import show_csv, show_json
from revsched.runner import RunResult, plan_play
from revsched.state import EnrollmentOutcome, StateStore

TODAY = date(2026, 11, 23)
SEQUENCE = "UserGems - Sales Leaders"
SDR = Recipient(role="Acct SDR", user_id="005A", name="Fay Nguyen", email="fay@acme.dev")


@pytest.fixture
def outreach() -> Iterator[FakeOutreach]:
    fake = FakeOutreach()
    fake.add_sequence("UserGems - RevOps")
    fake.add_sequence(SEQUENCE)
    fake.add_mailbox(SDR.email or "")
    yield fake
    fake.close()


def settings_for(fake: FakeOutreach, **changes: object) -> OutreachSettings:
    return OutreachSettings(
        base_url=fake.base_url,
        token=SecretRef(env="TEST_OUTREACH_TOKEN"),
        retry_base_seconds=0,
        **changes,  # type: ignore[arg-type]
    )


def channel_for(
    fake: FakeOutreach, sleeps: list[float] | None = None, token: str = TOKEN
) -> tuple[OutreachChannel, FakeChannel]:
    fallback = FakeChannel(name="salesforce-field")
    client = OutreachClient(
        settings_for(fake), token, sleep=(sleeps if sleeps is not None else []).append
    )
    return OutreachChannel(lambda: client, fallback), fallback


def enrollment(email: str = "pat@sampleco.com", sequence: str = SEQUENCE) -> Enrollment:
    return Enrollment(
        key=f"job-changes:{email}:{sequence}",
        person=Person(sobject="Contact", record_id="003A", name="Pat Prospect", email=email),
        sequence=sequence,
        sender=SDR,
        field="Sequence_To_Enroll__c",
        reason="persona Sales Leader",
    )


def test_enrolls_the_prospect_in_the_sequence_from_the_senders_mailbox(outreach: FakeOutreach):
    prospect = outreach.add_prospect("Pat@SampleCo.com")
    channel, fallback = channel_for(outreach)

    outcome = channel.enroll(enrollment())

    assert outcome == EnrollmentOutcome(
        "enrolled", "outreach", f"enrolled in {SEQUENCE} from fay@acme.dev", "101"
    )
    assert outreach.states == {101: (prospect, 2, 1, "active")}
    [create] = outreach.calls("POST", "sequenceStates")
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    assert create.headers["content-type"] == "application/vnd.api+json"
    assert create.body == {
        "data": {
            "type": "sequenceState",
            "relationships": {
                "prospect": {"data": {"type": "prospect", "id": prospect}},
                "sequence": {"data": {"type": "sequence", "id": 2}},
                "mailbox": {"data": {"type": "mailbox", "id": 1}},
            },
        }
    }
    assert outreach.calls("GET", "prospects")[0].params["filter[emails]"] == "pat@sampleco.com"
    assert fallback.calls == []


def test_already_in_the_sequence_is_not_enrolled_again(outreach: FakeOutreach):
    prospect = outreach.add_prospect("pat@sampleco.com")
    outreach.states[7] = (prospect, 2, 1, "finished")
    channel, fallback = channel_for(outreach)

    outcome = channel.enroll(enrollment())

    assert outcome == EnrollmentOutcome(
        "already", "outreach", f"already in {SEQUENCE} (finished)", "7"
    )
    assert outreach.calls("POST", "sequenceStates") == [] and fallback.calls == []


def test_active_in_another_sequence_is_skipped(outreach: FakeOutreach):
    prospect = outreach.add_prospect("pat@sampleco.com")
    outreach.states[7] = (prospect, 1, 1, "active")
    channel, _ = channel_for(outreach)

    outcome = channel.enroll(enrollment())

    assert (outcome.status, outcome.detail) == (
        "skipped",
        "active in another Outreach sequence (sequence state 7)",
    )
    assert outreach.calls("POST", "sequenceStates") == []


def test_opted_out_in_outreach_is_skipped_and_nothing_is_written(outreach: FakeOutreach):
    outreach.add_prospect("pat@sampleco.com", opted_out=True)
    channel, fallback = channel_for(outreach)

    outcome = channel.enroll(enrollment())

    assert (outcome.status, outcome.detail) == ("skipped", "prospect 1 opted out")
    assert outreach.states == {} and fallback.calls == []


def test_rate_limited_waits_for_retry_after_then_enrolls_once(outreach: FakeOutreach):
    outreach.add_prospect("pat@sampleco.com")
    outreach.fail("POST sequenceStates", "429:7")
    outreach.fail("GET prospects", "429:3")
    sleeps: list[float] = []
    channel, _ = channel_for(outreach, sleeps)

    outcome = channel.enroll(enrollment())

    assert outcome.status == "enrolled"
    assert sleeps == [3.0, 7.0]
    assert len(outreach.states) == 1
    assert [r.status for r in outreach.calls("POST", "sequenceStates")] == [429, 201]


def test_rate_limit_retries_are_bounded_then_the_field_is_written(outreach: FakeOutreach):
    outreach.add_prospect("pat@sampleco.com")
    outreach.fail("GET prospects", *["429:1"] * 10)
    sleeps: list[float] = []
    fallback = FakeChannel(name="salesforce-field")
    client = OutreachClient(
        settings_for(outreach, rate_limit_retries=2), TOKEN, sleep=sleeps.append
    )

    outcome = OutreachChannel(lambda: client, fallback).enroll(enrollment())

    assert sleeps == [1.0, 1.0]
    assert outcome.status == "enrolled" and outcome.channel == "salesforce-field"
    assert outcome.detail.startswith("outreach: GET prospects: rate limited (rateLimitExceeded")
    assert [e.person.email for e in fallback.calls] == ["pat@sampleco.com"]


def test_server_errors_are_retried_and_a_lost_create_is_found_not_repeated(
    outreach: FakeOutreach,
):
    outreach.add_prospect("pat@sampleco.com")
    outreach.fail("GET prospects", "503", "drop")
    # The create lands but its answer is lost: the retry looks first and finds it.
    outreach.fail("POST sequenceStates", "lost:502")
    channel, fallback = channel_for(outreach)

    outcome = channel.enroll(enrollment())

    assert (outcome.status, outcome.reference) == ("already", "101")
    assert outreach.enrolled() == [("pat@sampleco.com", SEQUENCE)]
    assert len(outreach.calls("POST", "sequenceStates")) == 1
    assert [r.status for r in outreach.calls("GET", "prospects")] == [503, 0, 200]
    assert fallback.calls == []


def test_maintenance_is_waited_out_until_the_time_outreach_gives(outreach: FakeOutreach):
    from datetime import UTC, datetime, timedelta

    outreach.add_prospect("pat@sampleco.com")
    back = (datetime.now(UTC) + timedelta(seconds=90)).replace(microsecond=0, tzinfo=None)
    outreach.fail("GET prospects", f"maintenance:{back.isoformat()}")
    sleeps: list[float] = []
    channel, _ = channel_for(outreach, sleeps)

    outcome = channel.enroll(enrollment())

    assert outcome.status == "enrolled"
    [slept] = sleeps
    assert 80 < slept <= 90


def test_outreach_down_writes_the_field_instead_and_says_why(outreach: FakeOutreach):
    outreach.add_prospect("pat@sampleco.com")
    outreach.fail("GET prospects", *["500"] * 4)
    channel, fallback = channel_for(outreach)

    outcome = channel.enroll(enrollment())

    assert outcome == EnrollmentOutcome(
        "enrolled",
        "salesforce-field",
        f"outreach: GET prospects: serverError: Try again later.; enrolled in {SEQUENCE} instead",
    )
    assert len(fallback.calls) == 1


@pytest.mark.parametrize(
    ("setup", "why"),
    [
        (lambda fake: None, "no Outreach prospect has the email pat@sampleco.com"),
        (
            lambda fake: (fake.add_prospect("pat@sampleco.com"), fake.mailboxes.clear()),
            "no Outreach mailbox for Fay Nguyen (fay@acme.dev)",
        ),
    ],
)
def test_what_outreach_cannot_enroll_goes_to_the_field(outreach: FakeOutreach, setup, why):
    setup(outreach)
    channel, fallback = channel_for(outreach)

    outcome = channel.enroll(enrollment())

    assert outcome.channel == "salesforce-field"
    assert outcome.detail.startswith(f"outreach: {why};")
    assert len(fallback.calls) == 1 and outreach.states == {}


def test_unknown_sequence_goes_to_the_field(outreach: FakeOutreach):
    outreach.add_prospect("pat@sampleco.com")
    channel, _ = channel_for(outreach)

    outcome = channel.enroll(enrollment(sequence="No Such Sequence"))

    assert outcome.detail.startswith("outreach: no Outreach sequence is named 'No Such Sequence';")


def test_a_refused_token_is_one_clear_line_without_the_token(outreach: FakeOutreach):
    channel, fallback = channel_for(outreach, token="expired-token-value")

    with pytest.raises(ConfigError) as error:
        channel.prepare([enrollment()])

    message = str(error.value)
    assert message == (
        "outreach: GET sequences refused the access token in environment variable"
        " TEST_OUTREACH_TOKEN (unauthorized: Invalid or expired token.); renew the token or"
        " grant it the prospects.read, sequences.read, mailboxes.read and sequenceStates.all"
        " scopes"
    )
    assert "\n" not in message and "expired-token-value" not in message
    assert fallback.calls == []


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("12", 12.0),
        ("Wed, 25 Nov 2026 10:00:30 GMT", 30.0),
        ("2026-11-25T10:01:00", 60.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_http_dates_and_iso_times(value, seconds):
    from datetime import UTC, datetime

    now = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)

    assert retry_after_seconds(value, now) == seconds


def test_the_outreach_channel_needs_its_token_set(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OUTREACH_ACCESS_TOKEN", raising=False)
    settings = Settings.model_validate({"enrollment": {"kind": "outreach"}})

    channel = enrollment_channel(settings, None, None)  # type: ignore[arg-type]
    channel.prepare([])  # a run that enrolls nobody needs no token

    with pytest.raises(ConfigError, match=r"enrollment\.outreach\.token: environment variable"):
        channel.prepare([enrollment()])


# --- The runner: audit, crash, rerun, on the demo org ------------------------------------


def demo(tmp_path: Path, state_url: str | None = None) -> tuple[OrgGateway, StateStore]:
    org = build_demo_org(tmp_path / "org.sqlite", accounts=20, seed=7, today=TODAY)
    store = StateStore(state_url or f"sqlite:///{tmp_path / 's.sqlite'}")
    api = ApiSettings(retry_base_seconds=0, retry_max_seconds=0)
    return OrgGateway(org.salesforce, api), store


def run(gateway: OrgGateway, store: StateStore, channel: EnrollmentChannel) -> RunResult:
    return run_named("job-changes", gateway, store, enroller=channel)


def sequence_fields(gateway: OrgGateway) -> dict[str, str]:
    """Email -> the trigger field, for the contacts and leads that have it set."""
    found = {}
    for sobject in ("Contact", "Lead"):
        soql = (
            f"SELECT Email, Sequence_To_Enroll__c FROM {sobject}"
            " WHERE Sequence_To_Enroll__c != null"
        )
        found |= {r["Email"]: r["Sequence_To_Enroll__c"] for r in gateway.query(soql)}
    return found


def outreach_knowing(fake: FakeOutreach, gateway: OrgGateway, store: StateStore) -> list[str]:
    """Give the fake every person, sequence and sender the demo plan enrolls; their emails."""
    plan = plan_play(play, Settings(), TODAY, store, gateway)
    assert plan.enrollments
    for item in plan.enrollments:
        fake.add_prospect(item.person.email)
        if item.sequence not in fake.sequences.values():
            fake.add_sequence(item.sequence)
        if item.sender.email not in fake.mailboxes.values():
            fake.add_mailbox(item.sender.email or "")
    return sorted(item.person.email for item in plan.enrollments)


def test_runner_enrolls_through_the_channel_and_audits_each_answer(
    tmp_path: Path, outreach: FakeOutreach
):
    gateway, store = demo(tmp_path)
    emails = outreach_knowing(outreach, gateway, store)
    channel, fallback = channel_for(outreach)
    before = sequence_fields(gateway)

    result = run(gateway, store, channel)

    assert result.status == "succeeded"
    assert result.counts["enrolled"] == len(emails)
    assert sorted(e for e, _ in outreach.enrolled()) == emails
    run_row = store.run(result.run_id)
    assert run_row is not None
    assert {(r.email, r.status, r.channel) for r in run_row.enrollments} == {
        (e, "enrolled", "outreach") for e in emails
    }
    # A converted lead is enrolled, and audited, as the contact it became.
    rhea = next(r for r in run_row.enrollments if r.email.startswith("rhea.quill@"))
    assert rhea.sobject == "Contact" and rhea.record_id.startswith("003")
    shown = show_json(run_row)["enrollments"]
    assert {(e["email"], e["status"], e["channel"]) for e in shown} == {
        (e, "enrolled", "outreach") for e in emails
    }
    assert "enrollment,Contact," in show_csv(run_row)
    assert fallback.calls == []
    # Outreach enrolled them: the trigger field is left alone.
    assert sequence_fields(gateway) == before


def test_a_crash_between_enrollment_and_audit_enrolls_nobody_twice(
    tmp_path: Path, state_url: str, outreach: FakeOutreach, monkeypatch: pytest.MonkeyPatch
):
    gateway, store = demo(tmp_path, state_url)
    emails = outreach_knowing(outreach, gateway, store)
    channel, _ = channel_for(outreach)
    audited = store.record_enrollment
    answers: list[EnrollmentOutcome] = []

    def killed_after_the_second(row_id: int, outcome: EnrollmentOutcome, tries: int) -> None:
        answers.append(outcome)
        if len(answers) == 2:
            raise KeyboardInterrupt("killed between the enrollment and its audit")
        audited(row_id, outcome, tries)

    monkeypatch.setattr(store, "record_enrollment", killed_after_the_second)
    with pytest.raises(KeyboardInterrupt):
        run(gateway, store, channel)
    monkeypatch.setattr(store, "record_enrollment", audited)
    assert len(outreach.enrolled()) == 2

    second = run(gateway, store, channel)

    assert second.settled.enrollments == len(emails) - 1
    assert sorted(e for e, _ in outreach.enrolled()) == emails
    assert len(outreach.calls("POST", "sequenceStates")) == len(emails)
    first_run = store.run(second.run_id - 1)
    assert first_run is not None and first_run.status == "interrupted"
    statuses = sorted(r.status for r in first_run.enrollments)
    assert statuses == sorted(["enrolled"] * (len(emails) - 1) + ["already"])
    assert store.owed_enrollments(play.name) == []


def test_a_record_not_written_is_not_enrolled(tmp_path: Path):
    from revsched.localorg import FaultProfile

    org = build_demo_org(tmp_path / "org.sqlite", accounts=20, seed=7, today=TODAY)
    store = StateStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    gateway = OrgGateway(org.salesforce, ApiSettings(retry_base_seconds=0, retry_max_seconds=0))
    plan = plan_play(play, Settings(), TODAY, store, gateway)
    lead = next(e.person for e in plan.enrollments if e.person.sobject == "Lead")
    org.faults = FaultProfile(fail_records={lead.record_id: "UNABLE_TO_LOCK_ROW"})
    channel = FakeChannel()

    result = run(gateway, store, channel)

    assert lead.email not in {e.person.email for e in channel.calls}
    assert result.counts["enrollments_skipped"] >= 1


def test_the_salesforce_field_channel_writes_the_sequence(tmp_path: Path):
    gateway, store = demo(tmp_path)

    result = run(gateway, store, SalesforceFieldChannel(gateway))

    assert result.status == "succeeded" and result.counts["enrolled"] >= 1
    rows = gateway.query(
        "SELECT Name, Sequence_To_Enroll__c FROM Contact WHERE Sequence_To_Enroll__c != null"
    )
    assert {r["Name"]: r["Sequence_To_Enroll__c"] for r in rows}.items() >= {
        "Rhea Quill": SEQUENCE
    }.items()


# --- As a user runs it --------------------------------------------------------------------


def outreach_knowing_the_dry_run(fake: FakeOutreach, run_json, as_of: list[str]) -> None:
    """Give the fake every person, sequence and sender `revsched run --dry-run` enrolls."""
    for item in run_json("job-changes", "--dry-run", *as_of)["plan"]["enrollments"]:
        fake.add_prospect(item["person"]["email"])
        if item["sender"]["email"] not in fake.mailboxes.values():
            fake.add_mailbox(item["sender"]["email"])
        if item["sequence"] not in fake.sequences.values():
            fake.add_sequence(item["sequence"])


def test_run_with_the_outreach_channel_and_a_refused_token_writes_nothing(
    demo_org: Path,
    revsched_home: Path,
    tmp_path: Path,
    outreach: FakeOutreach,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    run_json,
):
    caplog.set_level(logging.DEBUG)
    from typer.testing import CliRunner

    from revsched.cli import app
    from revsched.localorg import LocalOrg

    config = revsched_home / "revsched.toml"
    config.write_text(
        '[enrollment]\nkind = "outreach"\n[enrollment.outreach]\n'
        f'base_url = "{outreach.base_url}"\n'
        'token = { env = "TEST_OUTREACH_TOKEN" }\nretry_base_seconds = 0\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("REVSCHED_CONFIG", str(config))
    monkeypatch.setenv("TEST_OUTREACH_TOKEN", "revoked-token-0000")
    as_of = ["--as-of", TODAY.isoformat()]
    before = LocalOrg(demo_org).salesforce().query("SELECT COUNT() FROM Task")["totalSize"]

    refused = CliRunner().invoke(app, ["run", "job-changes", *as_of])

    assert refused.exit_code == 2
    [line] = refused.stderr.strip().splitlines()
    assert "outreach: GET sequences refused the access token in environment variable" in line
    assert "revoked-token-0000" not in refused.output
    after = LocalOrg(demo_org).salesforce().query("SELECT COUNT() FROM Task")["totalSize"]
    assert after == before

    monkeypatch.setenv("TEST_OUTREACH_TOKEN", TOKEN)
    outreach_knowing_the_dry_run(outreach, run_json, as_of)

    outreach.fail("POST sequenceStates", "429:0", "503")
    applied = run_json("job-changes", *as_of)

    assert applied["status"] == "succeeded"
    assert applied["counts"]["enrolled"] == len(outreach.states) > 0
    assert run_json("job-changes", *as_of)["plan"]["enrollments"] == []
    shown = CliRunner().invoke(app, ["show", str(applied["run_id"]), "--format", "json"])
    written = everything_written(tmp_path, revsched_home, refused.output, shown.output, caplog.text)
    assert "POST /api/v2/sequenceStates" in caplog.text  # urllib3 logged every call
    assert TOKEN not in written and "revoked-token-0000" not in written


def test_doctor_checks_the_sequences_and_the_senders_mailboxes(
    demo_org: Path, revsched_home: Path, outreach: FakeOutreach, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from revsched.cli import app
    from revsched.localorg import LocalOrg

    config = revsched_home / "revsched.toml"
    config.write_text(
        '[enrollment]\nkind = "outreach"\n[enrollment.outreach]\n'
        f'base_url = "{outreach.base_url}"\ntoken = {{ env = "TEST_OUTREACH_TOKEN" }}\n'
        '[plays.job-changes.persona_sequences]\n"Sales Leader" = "UserGems - Sales Leaders"\n'
        '"RevOps" = "UserGems - Rev Ops"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("REVSCHED_CONFIG", str(config))
    monkeypatch.setenv("TEST_OUTREACH_TOKEN", TOKEN)
    outreach.add_sequence("UserGems - Job Changers")
    sf = LocalOrg(demo_org).salesforce()
    sdrs = ["fay.nguyen", "gus.romero", "hana.kim", "ivan.petrov"]
    for row in sf.query_all("SELECT Username, Email FROM User")["records"]:
        if row["Username"].split("@")[0] in sdrs[:3]:
            outreach.add_mailbox(row["Email"])

    lines = CliRunner().invoke(app, ["doctor"]).stdout.splitlines()

    assert " ok  job-changes: Outreach sequence 'UserGems - Sales Leaders': exists" in lines
    assert (
        "FAIL job-changes: Outreach sequence 'UserGems - Rev Ops':"
        " plays.job-changes.persona_sequences.RevOps = UserGems - Rev Ops:"
        " no Outreach sequence has this name" in lines
    )
    assert (
        "FAIL job-changes: Outreach mailboxes of pool job-changes-sdr: 3 of 4 members have"
        " one; none for ivan.petrov@demo.revsched.dev (their enrollments write the field)" in lines
    )


def test_the_alert_says_when_the_channel_did_not_enroll_the_person(
    tmp_path: Path, outreach: FakeOutreach
):
    from harness import RecordingNotifier

    gateway, store = demo(tmp_path)
    outreach_knowing(outreach, gateway, store)
    rhea = next(i for i, a in outreach.prospects.items() if a["emails"][0].startswith("rhea."))
    outreach.prospects[rhea]["optedOut"] = True
    notifier = RecordingNotifier()
    channel, _ = channel_for(outreach)

    result = run_named("job-changes", gateway, store, notifier, enroller=channel)

    assert result.counts["enrollments_skipped"] == 1 and result.status == "succeeded"
    texts = {a.text.split(" <", 1)[0]: a.text for a in notifier.sent}
    rhea_text = texts["*New UserGems Contact Alert for Rhea Quill"]
    assert f"- Not added to a sequence: prospect {rhea} opted out\n" in rhea_text
    assert "has been added to the" not in rhea_text
    gwen_text = texts["*New UserGems Contact Alert for Gwen Free"]
    assert f"- This Contact has been added to the {SEQUENCE} sequence" in gwen_text
    [row] = [a for a in store.run(result.run_id).alerts if "Rhea Quill" in a.text]  # type: ignore[union-attr]
    assert "Not added to a sequence" in row.text


def test_a_token_that_expires_during_the_run_writes_the_field_for_the_rest(
    outreach: FakeOutreach,
):
    outreach.add_prospect("pat@sampleco.com")
    channel, fallback = channel_for(outreach)
    channel.prepare([enrollment()])
    outreach.token = "the-token-after-expiry"

    outcome = channel.enroll(enrollment())

    assert (outcome.status, outcome.channel) == ("enrolled", "salesforce-field")
    assert outcome.detail.startswith("outreach: GET prospects refused the access token in")
    assert len(fallback.calls) == 1 and outreach.states == {}


def test_a_reviewed_plan_is_applied_later_through_outreach(
    demo_org: Path, revsched_home: Path, outreach: FakeOutreach, monkeypatch: pytest.MonkeyPatch
):
    import json

    from typer.testing import CliRunner

    from revsched.cli import app

    config = revsched_home / "revsched.toml"
    config.write_text(
        '[enrollment]\nkind = "outreach"\n[enrollment.outreach]\n'
        f'base_url = "{outreach.base_url}"\ntoken = {{ env = "TEST_OUTREACH_TOKEN" }}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("REVSCHED_CONFIG", str(config))
    plan_file = revsched_home / "plan.json"
    as_of = ["--as-of", TODAY.isoformat()]

    # Reviewed with no token at all: a dry run enrolls nobody, so needs none.
    reviewed = CliRunner().invoke(
        app, ["run", "job-changes", "--dry-run", *as_of, "--out", str(plan_file)]
    )
    assert reviewed.exit_code == 0, reviewed.output
    saved = json.loads(plan_file.read_text(encoding="utf-8"))["plan"]["enrollments"]
    assert saved and outreach.requests == []
    for item in saved:
        outreach.add_prospect(item["person"]["email"])
        if item["sender"]["email"] not in outreach.mailboxes.values():
            outreach.add_mailbox(item["sender"]["email"])
        if item["sequence"] not in outreach.sequences.values():
            outreach.add_sequence(item["sequence"])
    monkeypatch.setenv("TEST_OUTREACH_TOKEN", TOKEN)

    applied = CliRunner().invoke(app, ["apply", str(plan_file), "--yes", "--json"])

    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout)["counts"]["enrolled"] == len(saved)
    assert sorted(e for e, _ in outreach.enrolled()) == sorted(i["person"]["email"] for i in saved)


def test_a_failed_enrollment_makes_the_run_partial_and_the_alert_says_why(tmp_path: Path):
    from harness import RecordingNotifier

    gateway, store = demo(tmp_path)
    email = "rhea.quill@tamsinrobotics.com"
    why = "fake: the sender's mailbox is disconnected"
    channel = FakeChannel(scripted={email: EnrollmentOutcome("failed", "fake", why)})
    notifier = RecordingNotifier()

    result = run_named("job-changes", gateway, store, notifier, enroller=channel)

    assert result.status == "partial"
    assert result.counts["enrollments_failed"] == 1
    assert result.counts["enrolled"] == len(channel.calls) - 1
    [rhea] = [a.text for a in notifier.sent if "Rhea Quill" in a.text.splitlines()[0]]
    assert f"- Not added to a sequence: {why}\n" in rhea
    rows = {r.email: r for r in store.run(result.run_id).enrollments}  # type: ignore[union-attr]
    assert (rows[email].status, rows[email].detail) == ("failed", why)
