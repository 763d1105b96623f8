"""Outreach's access token: a fixed one read from config, or one revsched refreshes.

Outreach access tokens live two hours. A refresh (POST /oauth/token with
grant_type=refresh_token, client_id, client_secret, redirect_uri and the refresh token)
answers a new access token and a new refresh token, and the old refresh token stops
working: the new pair must be kept before it is used, or the next refresh is refused
and someone has to authorize revsched again. The pair lives in the token file the
config names (see OutreachOAuthSettings for why there): 0600, replaced atomically, and
refreshed under an exclusive lock, so two processes never spend one refresh token twice
(the second finds the first's new pair in the file).
"""

from __future__ import annotations

import fcntl
import json
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import requests

from revsched.config import OutreachOAuthSettings, secret
from revsched.errors import ConfigError
from revsched.private import private_file, replace_private


class AccessToken(Protocol):
    def current(self) -> str:
        """The token to send now."""

    def refreshed(self, refused: str) -> str | None:
        """A newer token after Outreach refused `refused` (401), or None if there is none."""

    def describe(self) -> str:
        """Where the token comes from, for an error line (never the token)."""


@dataclass(frozen=True)
class FixedToken:
    """A token read once from config; whatever refreshes it is not revsched."""

    token: str
    where: str

    def current(self) -> str:
        return self.token

    def refreshed(self, refused: str) -> str | None:
        return None

    def describe(self) -> str:
        return self.where

    def __repr__(self) -> str:
        return f"FixedToken(<{self.where}>)"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"TokenPair(expires_at={self.expires_at.isoformat()})"


class RefreshFailed(Exception):
    """Outreach's token endpoint could not be reached or failed (5xx): try later."""


class RefreshingToken:
    """Access tokens refreshed before they expire and after a 401, kept in the token file."""

    def __init__(
        self,
        settings: OutreachOAuthSettings,
        timeout_seconds: float,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.settings = settings
        self._timeout = timeout_seconds
        self._session = session or requests.Session()
        self._clock = clock
        self._path = settings.token_file.expanduser()
        self._pair: TokenPair | None = None

    def describe(self) -> str:
        return f"token file {self.settings.token_file}"

    def current(self) -> str:
        pair = self._pair or self._read()
        if pair is None or not self._fresh(pair):
            pair = self._refresh(pair.access if pair else None)
        self._pair = pair
        return pair.access

    def refreshed(self, refused: str) -> str | None:
        self._pair = self._refresh(refused)
        return self._pair.access

    def _refresh(self, stale: str | None) -> TokenPair:
        """A new pair, unless another process already replaced `stale` in the file."""
        with self._locked():
            kept = self._read()
            if kept is not None and kept.access != stale and self._fresh(kept):
                return kept
            if kept is not None:
                refresh_token, where = kept.refresh, self.describe()
            else:
                key = "enrollment.outreach.oauth.refresh_token"
                refresh_token = secret(key, self.settings.refresh_token)
                where = self.settings.refresh_token.describe()
            pair = self._exchange(refresh_token, where)
            replace_private(self._path, self._dumps(pair))
            return pair

    def _fresh(self, pair: TokenPair) -> bool:
        margin = timedelta(seconds=self.settings.refresh_margin_seconds)
        return pair.expires_at - margin > self._clock()

    def _exchange(self, refresh_token: str, where: str) -> TokenPair:
        settings = self.settings
        client_secret = secret("enrollment.outreach.oauth.client_secret", settings.client_secret)
        form = {
            "client_id": settings.client_id,
            "client_secret": client_secret,
            "redirect_uri": settings.redirect_uri,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        try:
            response = self._session.post(settings.token_url, data=form, timeout=self._timeout)
        except requests.RequestException as error:
            raise RefreshFailed(f"POST oauth/token: {type(error).__name__}") from None
        if response.status_code >= 500:
            raise RefreshFailed(f"POST oauth/token: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code >= 400 or not answer.get("access_token"):
            why = answer.get("error") or f"HTTP {response.status_code}"
            raise ConfigError(
                f"outreach: the token endpoint refused the refresh token in {where} ({why});"
                " authorize revsched in Outreach again and put the new refresh token in"
                f" {settings.refresh_token.describe()}, then delete {settings.token_file}"
                if why == "invalid_grant"
                else f"outreach: the token endpoint refused the refresh ({why}); check"
                " enrollment.outreach.oauth client_id, client_secret and redirect_uri"
            )
        lifetime = timedelta(seconds=int(answer.get("expires_in") or 7200))
        return TokenPair(
            answer["access_token"],
            answer.get("refresh_token") or refresh_token,
            self._clock() + lifetime,
        )

    def _read(self) -> TokenPair | None:
        """The pair in the token file; None when there is none yet."""
        path = self._path
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"enrollment.outreach.oauth.token_file: {path} can be read by others;"
                f" run `chmod 600 {path}` (it holds Outreach tokens)"
            )
        try:
            kept = json.loads(text)
            return TokenPair(
                kept["access_token"],
                kept["refresh_token"],
                datetime.fromisoformat(kept["expires_at"]),
            )
        except (ValueError, KeyError, TypeError):
            raise ConfigError(
                f"enrollment.outreach.oauth.token_file: {path} is not a token file revsched"
                " wrote; delete it to start again from enrollment.outreach.oauth.refresh_token"
            ) from None

    @staticmethod
    def _dumps(pair: TokenPair) -> str:
        return json.dumps(
            {
                "access_token": pair.access,
                "refresh_token": pair.refresh,
                "expires_at": pair.expires_at.isoformat(),
            }
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Held while the file is read, refreshed and replaced: one refresh at a time."""
        path = self._path
        lock = private_file(path.with_name(f".{path.name}.lock"))
        with open(lock, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
