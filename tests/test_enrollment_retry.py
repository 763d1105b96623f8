"""Failed enrollments: one that failed for a reason that may pass (Outreach's 5xx, a 429
after its retries, a dropped connection, a locked record) is asked again by the play's
next runs and enrolled exactly once; a refusal is reported and never asked again; and
retries stop after `[enrollment] tries` runs. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeoutreach import TOKEN, FakeOutreach
from test_outreach import (
    SDR,
    SEQUENCE,
    TODAY,
    demo,
    enrollment,
    outreach_knowing,
    run,
    settings_for,
)

from revsched.config import ApiSettings
from revsched.enroll import FakeChannel, SalesforceFieldChannel
from revsched.localorg import FaultProfile
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.outreach import OutreachChannel, OutreachClient
from revsched.runner import RunResult
from revsched.state import EnrollmentOutcome, StateStore

LOCKED = EnrollmentOutcome(
    "failed",
    "salesforce-field",
    "Sequence_To_Enroll__c not written: UNABLE_TO_LOCK_ROW",
    retry=True,
)
REFUSED = EnrollmentOutcome(
    "failed",
    "salesforce-field",
    "Sequence_To_Enroll__c not written: FIELD_CUSTOM_VALIDATION_EXCEPTION: no",
)


@pytest.fixture
def outreach() -> Iterator[FakeOutreach]:
    fake = FakeOutreach()
    fake.add_sequence(SEQUENCE)
    fake.add_mailbox(SDR.email or "")
    yield fake
    fake.close()


def channel_for(
    fake: FakeOutreach, fallback: FakeChannel, tries: int = 3, **changes: object
) -> OutreachChannel:
    client = OutreachClient(settings_for(fake, **changes), TOKEN, sleep=lambda _: None)
    return OutreachChannel(lambda: client, fallback, tries)


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        (["503"] * 4, "outreach: GET prospects: serverError: Try again later."),
        (["429:0"] * 4, "outreach: GET prospects: rate limited"),
        (["drop"] * 4, "outreach: GET prospects: ConnectionError"),
    ],
)
def test_outreach_unavailable_and_the_field_locked_is_a_failure_that_may_pass(
    outreach: FakeOutreach, answers: list[str], why: str
):
    outreach.add_prospect("pat@sampleco.com")
    outreach.fail("GET prospects", *answers)
    fallback = FakeChannel(name="salesforce-field", scripted={"pat@sampleco.com": LOCKED})

    outcome = channel_for(outreach, fallback).enroll(enrollment())

    assert (outcome.status, outcome.retry) == ("failed", True)
    assert outcome.detail.startswith(why)


@pytest.mark.parametrize("fallback_answer", [LOCKED, REFUSED])
def test_a_refusal_by_outreach_is_retried_only_if_the_field_may_be_written_later(
    outreach: FakeOutreach, fallback_answer: EnrollmentOutcome
):
    outreach.add_prospect("pat@sampleco.com")
    fallback = FakeChannel(name="salesforce-field", scripted={"pat@sampleco.com": fallback_answer})

    outcome = channel_for(outreach, fallback).enroll(enrollment(sequence="No Such Sequence"))

    assert outcome.status == "failed"
    assert outcome.retry is fallback_answer.retry
    assert outcome.detail.startswith("outreach: no Outreach sequence is named 'No Such Sequence';")


@pytest.mark.parametrize(
    ("error", "retry"), [("UNABLE_TO_LOCK_ROW", True), ("FIELD_CUSTOM_VALIDATION_EXCEPTION", False)]
)
def test_the_field_channel_retries_a_locked_record_only(tmp_path: Path, error: str, retry: bool):
    org = build_demo_org(tmp_path / "org.sqlite", accounts=5, seed=7, today=TODAY)
    gateway = OrgGateway(org.salesforce, ApiSettings(retry_base_seconds=0, retry_max_seconds=0))
    [contact] = gateway.query("SELECT Id, Email FROM Contact LIMIT 1")
    org.faults = FaultProfile(fail_records={contact["Id"]: error})
    planned = enrollment(contact["Email"])
    person = planned.person.model_copy(update={"record_id": contact["Id"]})

    outcome = SalesforceFieldChannel(gateway).enroll(planned.model_copy(update={"person": person}))

    assert (outcome.status, outcome.retry) == ("failed", retry)
    assert outcome.detail.startswith(f"Sequence_To_Enroll__c not written: {error}")


def first_prospect_email(fake: FakeOutreach) -> str:
    return fake.calls("GET", "prospects")[0].params["filter[emails]"]


def answers(store: StateStore, run_id: int) -> dict[str, tuple[str, int, bool]]:
    row = store.run(run_id)
    assert row is not None
    return {e.email: (e.status, e.attempts, e.retry) for e in row.enrollments}


def test_a_failure_that_may_pass_is_enrolled_by_the_next_run_exactly_once(
    tmp_path: Path, state_url: str, outreach: FakeOutreach
):
    gateway, store = demo(tmp_path, state_url)
    emails = outreach_knowing(outreach, gateway, store)
    outreach.fail("GET prospects", *["503"] * 4)
    fallback = FakeChannel(name="salesforce-field", scripted=dict.fromkeys(emails, LOCKED))
    fallback.once = True
    channel = channel_for(outreach, fallback)

    first = run(gateway, store, channel)

    failed = first_prospect_email(outreach)
    assert first.status == "partial" and first.counts["enrollments_failed"] == 1
    assert answers(store, first.run_id)[failed] == ("failed", 1, True)

    second = run(gateway, store, channel)
    third = run(gateway, store, channel)

    assert second.settled.enrollments == 1 and third.settled.enrollments == 0
    assert answers(store, first.run_id)[failed] == ("enrolled", 2, False)
    assert sorted(e for e, _ in outreach.enrolled()) == emails  # each once
    assert len(outreach.calls("POST", "sequenceStates")) == len(emails)
    assert store.owed_enrollments("job-changes") == []


def test_a_refusal_is_reported_and_never_asked_again(
    tmp_path: Path, state_url: str, outreach: FakeOutreach
):
    gateway, store = demo(tmp_path, state_url)
    emails = outreach_knowing(outreach, gateway, store)
    unknown = emails[0]
    outreach.prospects = {i: p for i, p in outreach.prospects.items() if p["emails"] != [unknown]}
    fallback = FakeChannel(name="salesforce-field", scripted={unknown: REFUSED})
    channel = channel_for(outreach, fallback)

    first = run(gateway, store, channel)
    second = run(gateway, store, channel)

    assert first.status == "partial" and first.counts["enrollments_failed"] == 1
    status, attempts, retry = answers(store, first.run_id)[unknown]
    assert (status, attempts, retry) == ("failed", 1, False)
    row = next(e for e in store.run(first.run_id).enrollments if e.email == unknown)  # type: ignore[union-attr]
    assert row.detail == (
        f"outreach: no Outreach prospect has the email {unknown}; {REFUSED.detail}"
    )
    assert second.settled.enrollments == 0
    asked = [r for r in outreach.calls("GET", "prospects") if r.params["filter[emails]"] == unknown]
    assert len(asked) == 1


def three_runs_failing_twice(
    tmp_path: Path, state_url: str, outreach: FakeOutreach, tries: int
) -> tuple[StateStore, list[RunResult], str]:
    """Three runs of job-changes, Outreach down in the first two (its field locked): the
    store, the runs and the email of the person whose enrollment failed."""
    gateway, store = demo(tmp_path, state_url)
    emails = outreach_knowing(outreach, gateway, store)
    fallback = FakeChannel(name="salesforce-field", scripted=dict.fromkeys(emails, LOCKED))
    channel = channel_for(outreach, fallback, tries=tries)
    outreach.fail("GET prospects", *["503"] * 4)
    first = run(gateway, store, channel)
    failed = first_prospect_email(outreach)
    outreach.fail("GET prospects", *["503"] * 4)
    return store, [first, run(gateway, store, channel), run(gateway, store, channel)], failed


def test_retries_stop_after_the_configured_runs_and_say_so(
    tmp_path: Path, state_url: str, outreach: FakeOutreach
):
    store, (first, second, third), failed = three_runs_failing_twice(
        tmp_path, state_url, outreach, tries=2
    )

    assert (second.settled.enrollments, third.settled.enrollments) == (1, 0)
    assert answers(store, first.run_id)[failed] == ("failed", 2, False)
    row = next(e for e in store.run(first.run_id).enrollments if e.email == failed)  # type: ignore[union-attr]
    assert row.detail is not None and row.detail.endswith("; not retried: tried in 2 runs")
    asked = [r for r in outreach.calls("GET", "prospects") if r.params["filter[emails]"] == failed]
    assert len(asked) == 8  # four tries in each of two runs, none in the third
    assert (failed, SEQUENCE) not in outreach.enrolled()


def test_the_run_that_asks_again_tells_the_answer_in_its_own_audit(
    tmp_path: Path, state_url: str, outreach: FakeOutreach
):
    store, (first, second, third), failed = three_runs_failing_twice(
        tmp_path, state_url, outreach, tries=3
    )

    assert answers(store, second.run_id) == {failed: ("failed", 2, False)}
    assert (second.settled.enrollments_failed, third.settled.enrollments_failed) == (1, 0)
    assert second.counts["earlier_enrollments_failed"] == 1
    assert answers(store, third.run_id) == {failed: ("enrolled", 3, False)}
    told = (store.run(second.run_id) or store.run(first.run_id)).enrollments  # type: ignore[union-attr]
    [again] = told
    assert again.detail == (
        f"asked again for run {first.run_id}: outreach: GET prospects: serverError: Try again"
        f" later.; {LOCKED.detail}"
    )
    # The first run's row is the one retried: the third run asked once more, and only once.
    assert answers(store, first.run_id)[failed] == ("enrolled", 3, False)
    assert [e for e, _ in outreach.enrolled()].count(failed) == 1
