"""Outreach OAuth refresh against the fake Outreach on 127.0.0.1: access tokens live two
hours, refresh tokens rotate, the rotated pair is kept in a 0600 token file, a call refused
with 401 is made once more, and no token or client secret reaches logs, plans or audit."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
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


def oauth_for(fake: FakeOutreach, token_file: Path) -> OutreachOAuthSettings:
    return OutreachOAuthSettings(
        client_id=CLIENT_ID,
        client_secret=SecretRef(env="TEST_OUTREACH_CLIENT_SECRET"),
        redirect_uri=REDIRECT_URI,
        refresh_token=SecretRef(env="TEST_OUTREACH_REFRESH_TOKEN"),
        token_file=token_file,
        token_url=fake.token_url,
    )


def channel_for(
    fake: FakeOutreach, token_file: Path, clock: Clock | None = None
) -> tuple[OutreachChannel, FakeChannel]:
    oauth = oauth_for(fake, token_file)
    settings = OutreachSettings(base_url=fake.base_url, oauth=oauth, retry_base_seconds=0)
    token = RefreshingToken(oauth, 5, clock=clock or Clock())
    client = OutreachClient(settings, token, sleep=lambda _: None)
    fallback = FakeChannel(name="salesforce-field")
    return OutreachChannel(lambda: client, fallback), fallback


def kept(token_file: Path) -> dict[str, str]:
    return json.loads(token_file.read_text(encoding="utf-8"))


def test_the_first_refresh_token_is_spent_once_and_the_rotated_pair_kept_0600(
    outreach: FakeOutreach, tmp_path: Path
):
    token_file = tmp_path / "outreach" / "tokens.json"
    channel, fallback = channel_for(outreach, token_file)

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
    assert kept(token_file) == {
        "access_token": outreach.token,
        "refresh_token": outreach.refresh_token,
        "expires_at": (NOW + timedelta(hours=2)).isoformat(),
    }
    assert outreach.refresh_token != REFRESH_TOKEN
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_a_token_refused_with_401_is_refreshed_and_the_call_made_once_more(
    outreach: FakeOutreach, tmp_path: Path
):
    token_file = tmp_path / "tokens.json"
    channel, fallback = channel_for(outreach, token_file)
    channel.enroll(enrollment())
    first_rotation = outreach.refresh_token
    outreach.token = "revoked-by-outreach-early"  # Outreach expires it before its time

    outcome = channel.enroll(enrollment("lee@sampleco.com"))

    assert (outcome.status, outcome.channel) == ("enrolled", "outreach")
    assert len(outreach.refreshes()) == 2
    assert outreach.refreshes()[1].body["refresh_token"] == first_rotation
    assert kept(token_file)["refresh_token"] == outreach.refresh_token != first_rotation
    assert sorted(outreach.enrolled()) == [
        ("lee@sampleco.com", SEQUENCE),
        ("pat@sampleco.com", SEQUENCE),
    ]
    assert fallback.calls == []


def test_a_scheduler_running_for_days_refreshes_before_each_token_expires(
    outreach: FakeOutreach, tmp_path: Path
):
    clock = Clock()
    channel, _ = channel_for(outreach, tmp_path / "tokens.json", clock)
    channel.enroll(enrollment())

    for hours in range(1, 73):  # three days, a run every hour
        clock.now = NOW + timedelta(hours=hours)
        assert channel.mailbox_exists(f"sdr{hours}@acme.dev") is False

    assert len(outreach.refreshes()) == 1 + 72 // 2  # every two hours, none wasted
    assert {r.status for r in outreach.requests if r.resource != "oauth/token"} == {200, 201}


def test_a_second_process_uses_the_pair_the_first_rotated_not_its_spent_refresh_token(
    outreach: FakeOutreach, tmp_path: Path
):
    token_file = tmp_path / "tokens.json"
    clock = Clock()
    first, _ = channel_for(outreach, token_file, clock)
    second, _ = channel_for(outreach, token_file, clock)
    first.enroll(enrollment())
    second.enroll(enrollment("lee@sampleco.com"))
    clock.now = NOW + timedelta(hours=3)

    first.enroll(enrollment())
    second.enroll(enrollment("lee@sampleco.com"))

    assert len(outreach.refreshes()) == 2
    assert {r.status for r in outreach.refreshes()} == {200}


def test_a_refused_refresh_token_is_one_line_saying_how_to_authorize_again(
    outreach: FakeOutreach, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TEST_OUTREACH_REFRESH_TOKEN", "a-refresh-token-already-spent")
    token_file = tmp_path / "tokens.json"
    channel, fallback = channel_for(outreach, token_file)

    with pytest.raises(ConfigError) as error:
        channel.prepare([enrollment()])

    assert str(error.value) == (
        "outreach: the token endpoint refused the refresh token in environment variable"
        " TEST_OUTREACH_REFRESH_TOKEN (invalid_grant); authorize revsched in Outreach again"
        " and put the new refresh token in environment variable TEST_OUTREACH_REFRESH_TOKEN,"
        f" then delete {token_file}"
    )
    assert "a-refresh-token-already-spent" not in str(error.value)
    assert not token_file.exists() and fallback.calls == []


def test_a_call_still_refused_after_the_refresh_is_not_retried_again(
    outreach: FakeOutreach, tmp_path: Path
):
    channel, _ = channel_for(outreach, tmp_path / "tokens.json")
    outreach.fail("GET sequences", "401", "401", "401")

    with pytest.raises(ConfigError, match=r"^outreach: GET sequences refused the access token"):
        channel.prepare([enrollment()])

    # The first call refreshes (the file was empty), the 401 refreshes once more: no loop.
    assert len(outreach.calls("GET", "sequences")) == 2
    assert len(outreach.refreshes()) == 2


def test_the_token_endpoint_down_fails_the_enrollment_not_the_token_file(
    outreach: FakeOutreach, tmp_path: Path
):
    token_file = tmp_path / "tokens.json"
    channel, fallback = channel_for(outreach, token_file)
    outreach.fail("POST oauth/token", "503", "503", "503", "503")

    outcome = channel.enroll(enrollment())

    assert outcome.channel == "salesforce-field" and len(fallback.calls) == 1
    assert outcome.detail.startswith("outreach: POST oauth/token: HTTP 503;")
    assert not token_file.exists()
    assert outreach.refresh_token == REFRESH_TOKEN  # not spent: the next run can refresh


def test_a_token_file_others_can_read_is_refused(outreach: FakeOutreach, tmp_path: Path):
    token_file = tmp_path / "tokens.json"
    channel, _ = channel_for(outreach, token_file)
    channel.enroll(enrollment())
    os.chmod(token_file, 0o644)
    again, _ = channel_for(outreach, token_file)

    with pytest.raises(ConfigError) as error:
        again.prepare([enrollment()])

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
