"""Outreach OAuth refresh against the fake Outreach on 127.0.0.1: access tokens live two
hours, refresh tokens rotate, the rotated pair is kept sealed in the state store that every
server shares (SQLite and PostgreSQL), the token file of an earlier revsched only seeds it,
a call refused with 401 is made once more, and no token or client secret reaches logs,
plans or audit."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakeoutreach import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, REFRESH_TOKEN, FakeOutreach
from harness import everything_written
from test_outreach import SDR, SEQUENCE, enrollment, outreach_knowing_the_dry_run

from revsched.config import OutreachOAuthSettings, OutreachSettings, SecretRef
from revsched.enroll import FakeChannel
from revsched.errors import ConfigError
from revsched.outreach import OutreachChannel, OutreachClient
from revsched.outreach_auth import RefreshingToken
from revsched.private import write_private
from revsched.state import StateStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def outreach(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOutreach]:
    monkeypatch.setenv("TEST_OUTREACH_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("TEST_OUTREACH_REFRESH_TOKEN", REFRESH_TOKEN)
    fake = FakeOutreach()
    fake.token = "an-access-token-nobody-holds-yet"
    fake.add_sequence(SEQUENCE)
    fake.add_mailbox(SDR.email or "")
    fake.add_prospect("pat@sampleco.com")
    fake.add_prospect("lee@sampleco.com")
    yield fake
    fake.close()


def oauth_for(fake: FakeOutreach, token_file: Path | None = None) -> OutreachOAuthSettings:
    return OutreachOAuthSettings(
        client_id=CLIENT_ID,
        client_secret=SecretRef(env="TEST_OUTREACH_CLIENT_SECRET"),
        redirect_uri=REDIRECT_URI,
        refresh_token=SecretRef(env="TEST_OUTREACH_REFRESH_TOKEN"),
        token_file=token_file,
        token_url=fake.token_url,
    )


def channel_for(
    fake: FakeOutreach,
    store: StateStore,
    clock: Clock | None = None,
    token_file: Path | None = None,
) -> tuple[OutreachChannel, FakeChannel]:
    """A server's Outreach channel: its own process, the state store all servers share."""
    oauth = oauth_for(fake, token_file)
    settings = OutreachSettings(base_url=fake.base_url, oauth=oauth, retry_base_seconds=0)
    token = RefreshingToken(oauth, 5, store, clock=clock or Clock())
    client = OutreachClient(settings, token, sleep=lambda _: None)
    fallback = FakeChannel(name="salesforce-field")
    return OutreachChannel(lambda: client, fallback), fallback


@pytest.fixture
def store(state_url: str) -> StateStore:
    return StateStore(state_url)


def stored(store: StateStore) -> str:
    """The store's row of the pair, as a reader of the database sees it."""
    kept = store.oauth_token(CLIENT_ID)
    assert kept is not None
    return kept.sealed + kept.seed


def test_the_first_refresh_token_is_spent_once_and_the_rotated_pair_kept_sealed_in_the_store(
    outreach: FakeOutreach, store: StateStore, tmp_path: Path
):
    channel, fallback = channel_for(outreach, store)

    outcome = channel.enroll(enrollment())

    assert (outcome.status, outcome.channel) == ("enrolled", "outreach")
    assert fallback.calls == []
    [refresh] = outreach.refreshes()
    assert refresh.body == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "grant_type": "refresh_token",
        "refresh_token": REFRESH_TOKEN,
    }
    assert outreach.refresh_token != REFRESH_TOKEN
    # Another process finds the pair: it refreshes nothing, and nobody reading the store can
    # use what it holds.
    again = RefreshingToken(oauth_for(outreach), 5, store, clock=Clock())
    assert again.current() == outreach.token and len(outreach.refreshes()) == 1
    assert not any(secret in stored(store) for secret in outreach.issued)
    assert list(tmp_path.glob("**/*.json")) == []


def test_a_token_refused_with_401_is_refreshed_and_the_call_made_once_more(
    outreach: FakeOutreach, store: StateStore
):
    channel, fallback = channel_for(outreach, store)
    channel.enroll(enrollment())
    first_rotation = outreach.refresh_token
    outreach.token = "revoked-by-outreach-early"  # Outreach expires it before its time

    outcome = channel.enroll(enrollment("lee@sampleco.com"))

    assert (outcome.status, outcome.channel) == ("enrolled", "outreach")
    assert len(outreach.refreshes()) == 2
    assert outreach.refreshes()[1].body["refresh_token"] == first_rotation
    assert RefreshingToken(oauth_for(outreach), 5, store, clock=Clock()).current() == (
        outreach.token
    )
    assert sorted(outreach.enrolled()) == [
        ("lee@sampleco.com", SEQUENCE),
        ("pat@sampleco.com", SEQUENCE),
    ]
    assert fallback.calls == []


def test_a_scheduler_running_for_days_refreshes_before_each_token_expires(
    outreach: FakeOutreach, store: StateStore
):
    clock = Clock()
    channel, _ = channel_for(outreach, store, clock)
    channel.enroll(enrollment())

    for hours in range(1, 73):  # three days, a run every hour
        clock.now = NOW + timedelta(hours=hours)
        assert channel.mailbox_exists(f"sdr{hours}@acme.dev") is False

    assert len(outreach.refreshes()) == 1 + 72 // 2  # every two hours, none wasted
    assert {r.status for r in outreach.requests if r.resource != "oauth/token"} == {200, 201}


def test_two_servers_sharing_the_store_refresh_in_turn_never_spending_a_refresh_token_twice(
    outreach: FakeOutreach, store: StateStore
):
    clock = Clock()
    first, _ = channel_for(outreach, store, clock)
    second, _ = channel_for(outreach, store, clock)
    first.enroll(enrollment())
    second.enroll(enrollment("lee@sampleco.com"))
    clock.now = NOW + timedelta(hours=3)

    first.enroll(enrollment())
    clock.now = NOW + timedelta(hours=6)
    second.enroll(enrollment("lee@sampleco.com"))
    # A server rebuilt from scratch: the config's refresh token only, long spent.
    rebuilt, fallback = channel_for(outreach, store, clock)
    rebuilt.enroll(enrollment())

    assert len(outreach.refreshes()) == 3
    assert {r.status for r in outreach.refreshes()} == {200}
    assert fallback.calls == []


def test_processes_refreshing_at_once_refresh_once(outreach: FakeOutreach, store: StateStore):
    tokens = [RefreshingToken(oauth_for(outreach), 5, store, clock=Clock()) for _ in range(4)]

    with ThreadPoolExecutor(len(tokens)) as pool:
        got = list(pool.map(lambda token: token.current(), tokens))

    assert got == [outreach.token] * 4
    assert len(outreach.refreshes()) == 1


def test_the_token_file_of_an_earlier_revsched_seeds_the_store(
    outreach: FakeOutreach, store: StateStore, tmp_path: Path
):
    outreach.refresh_token = "rotated-into-the-file-by-an-earlier-revsched"
    token_file = tmp_path / "tokens.json"
    write_private(
        token_file,
        json.dumps(
            {
                "access_token": "expired-long-ago",
                "refresh_token": outreach.refresh_token,
                "expires_at": (NOW - timedelta(days=1)).isoformat(),
            }
        ),
    )
    seeded, _ = channel_for(outreach, store, token_file=token_file)
    seeded.enroll(enrollment())
    # Servers without the file (the config's refresh token is the spent first one) go on.
    other, fallback = channel_for(outreach, store, Clock())
    other.enroll(enrollment("lee@sampleco.com"))

    assert [r.body["refresh_token"] for r in outreach.refreshes()] == [
        "rotated-into-the-file-by-an-earlier-revsched"
    ]
    assert fallback.calls == []


def test_a_new_authorization_configured_replaces_a_pair_refused_for_good(
    outreach: FakeOutreach, store: StateStore, monkeypatch: pytest.MonkeyPatch
):
    clock = Clock()
    channel, _ = channel_for(outreach, store, clock)
    channel.enroll(enrollment())
    # Revoked in Outreach; someone authorizes revsched again and configures the new token.
    outreach.refresh_token = "a-new-authorization"
    monkeypatch.setenv("TEST_OUTREACH_REFRESH_TOKEN", "a-new-authorization")
    clock.now = NOW + timedelta(hours=3)

    outcome = channel.enroll(enrollment("lee@sampleco.com"))

    assert outcome.channel == "outreach"
    assert [r.status for r in outreach.refreshes()] == [200, 400, 200]


def test_a_kept_pair_revoked_in_outreach_says_how_to_authorize_again(
    outreach: FakeOutreach, store: StateStore
):
    clock = Clock()
    channel, _ = channel_for(outreach, store, clock)
    channel.enroll(enrollment())
    outreach.refresh_token = "revoked-in-outreach"
    clock.now = NOW + timedelta(hours=3)
    next_run, _ = channel_for(outreach, store, clock)

    with pytest.raises(ConfigError) as error:
        next_run.prepare([enrollment()])

    assert str(error.value) == (
        "outreach: the token endpoint refused the refresh token in the state store"
        f" (oauth_tokens, client {CLIENT_ID}) (invalid_grant); authorize revsched in Outreach"
        " again and put the new refresh token in environment variable"
        " TEST_OUTREACH_REFRESH_TOKEN"
    )
    # The configured one is the seed it began from, spent: not tried again.
    assert [r.status for r in outreach.refreshes()] == [200, 400]


def test_a_refused_refresh_token_is_one_line_saying_how_to_authorize_again(
    outreach: FakeOutreach, store: StateStore, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TEST_OUTREACH_REFRESH_TOKEN", "a-refresh-token-already-spent")
    channel, fallback = channel_for(outreach, store)

    with pytest.raises(ConfigError) as error:
        channel.prepare([enrollment()])

    assert str(error.value) == (
        "outreach: the token endpoint refused the refresh token in environment variable"
        " TEST_OUTREACH_REFRESH_TOKEN (invalid_grant); authorize revsched in Outreach again"
        " and put the new refresh token in environment variable TEST_OUTREACH_REFRESH_TOKEN"
    )
    assert "a-refresh-token-already-spent" not in str(error.value)
    assert store.oauth_token(CLIENT_ID) is None and fallback.calls == []


def test_a_call_still_refused_after_the_refresh_is_not_retried_again(
    outreach: FakeOutreach, store: StateStore
):
    channel, _ = channel_for(outreach, store)
    outreach.fail("GET sequences", "401", "401", "401")

    with pytest.raises(ConfigError, match=r"^outreach: GET sequences refused the access token"):
        channel.prepare([enrollment()])

    # The first call refreshes (the store was empty), the 401 refreshes once more: no loop.
    assert len(outreach.calls("GET", "sequences")) == 2
    assert len(outreach.refreshes()) == 2


def test_the_token_endpoint_down_fails_the_enrollment_not_the_kept_pair(
    outreach: FakeOutreach, store: StateStore
):
    channel, fallback = channel_for(outreach, store)
    outreach.fail("POST oauth/token", "503", "503", "503", "503")

    outcome = channel.enroll(enrollment())

    assert outcome.channel == "salesforce-field" and len(fallback.calls) == 1
    assert outcome.detail.startswith("outreach: POST oauth/token: HTTP 503;")
    assert store.oauth_token(CLIENT_ID) is None
    assert outreach.refresh_token == REFRESH_TOKEN  # not spent: the next run can refresh


def test_a_token_file_others_can_read_is_refused(
    outreach: FakeOutreach, store: StateStore, tmp_path: Path
):
    token_file = tmp_path / "tokens.json"
    token_file.write_text("{}", encoding="utf-8")
    os.chmod(token_file, 0o644)
    channel, _ = channel_for(outreach, store, token_file=token_file)

    with pytest.raises(ConfigError) as error:
        channel.prepare([enrollment()])

    assert str(error.value) == (
        f"enrollment.outreach.oauth.token_file: {token_file} can be read by others;"
        f" run `chmod 600 {token_file}` (it holds Outreach tokens)"
    )


def test_a_run_refreshing_tokens_writes_no_secret_anywhere(
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

    token_file = tmp_path / "secrets" / "outreach-tokens.json"
    config = revsched_home / "revsched.toml"
    config.write_text(
        '[enrollment]\nkind = "outreach"\n[enrollment.outreach]\n'
        f'base_url = "{outreach.base_url}"\nretry_base_seconds = 0\n'
        "[enrollment.outreach.oauth]\n"
        f'client_id = "{CLIENT_ID}"\nredirect_uri = "{REDIRECT_URI}"\n'
        f'token_url = "{outreach.token_url}"\ntoken_file = "{token_file}"\n'
        'client_secret = { env = "TEST_OUTREACH_CLIENT_SECRET" }\n'
        'refresh_token = { env = "TEST_OUTREACH_REFRESH_TOKEN" }\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("REVSCHED_CONFIG", str(config))
    as_of = ["--as-of", "2026-11-23"]
    outreach_knowing_the_dry_run(outreach, run_json, as_of)

    applied = run_json("job-changes", *as_of)

    assert applied["status"] == "succeeded"
    assert applied["counts"]["enrolled"] == len(outreach.states) > 0
    assert len(outreach.refreshes()) == 1
    shown = CliRunner().invoke(app, ["show", str(applied["run_id"]), "--format", "json"])
    # Everything but the token file, whose job is to hold them.
    written = everything_written(revsched_home, revsched_home, shown.output, caplog.text)
    assert "POST /oauth/token" in caplog.text  # urllib3 logged the refresh call
    leaked = [secret for secret in outreach.issued if secret in written]
    assert leaked == []
