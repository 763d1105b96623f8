"""Outreach's access token: a fixed one read from config, or one revsched refreshes.

Outreach access tokens live two hours. A refresh (POST /oauth/token with
grant_type=refresh_token, client_id, client_secret, redirect_uri and the refresh token)
answers a new access token and a new refresh token, and the old refresh token stops
working: the new pair must be kept before it is used, or the next refresh is refused
and someone has to authorize revsched again. The pair lives in the state store, which
every server of a deployment shares (a server rebuilt from scratch finds it there), and
is refreshed under the store's lease, so no two processes anywhere spend one refresh token
(the second finds the first's new pair). It is kept sealed (Fernet, with a key derived from
the client secret, itself a secret reference): whoever reads the audit or a backup of the
store cannot use it. The config's refresh token, or the token file an earlier revsched
kept, is only the seed of the first refresh.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import requests
from cryptography.fernet import Fernet, InvalidToken

from revsched.config import OutreachOAuthSettings, secret
from revsched.errors import ConfigError
from revsched.state.tokens import SealedToken

if TYPE_CHECKING:
    from revsched.state import StateStore


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


class RefreshTokenRefused(ConfigError):
    """Outreach refused the refresh token for good (spent, revoked): authorize again."""


class RefreshingToken:
    """Access tokens refreshed before they expire and after a 401, the current pair kept
    sealed in the state store every server shares."""

    def __init__(
        self,
        settings: OutreachOAuthSettings,
        timeout_seconds: float,
        store: StateStore,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.settings = settings
        self._timeout = timeout_seconds
        self._store = store
        self._session = session or requests.Session()
        self._clock = clock
        self._pair: TokenPair | None = None

    def describe(self) -> str:
        return f"the state store (oauth_tokens, client {self.settings.client_id})"

    def current(self) -> str:
        pair = self._pair or self._kept()
        if pair is None or not self._fresh(pair):
            pair = self._refresh(pair.access if pair else None)
        self._pair = pair
        return pair.access

    def refreshed(self, refused: str) -> str | None:
        self._pair = self._refresh(refused)
        return self._pair.access

    def _refresh(self, stale: str | None) -> TokenPair:
        """A new pair, unless another process (here or on another server) already replaced
        `stale` in the store. A kept pair refused for good gives way to a refresh token
        configured since (a new authorization), never to the one it began from (spent)."""
        with self._leased():
            row = self._store.oauth_token(self.settings.client_id)
            kept = self._unsealed(row)
            if kept is not None and kept.access != stale and self._fresh(kept):
                return kept
            if row is not None and kept is not None:
                try:
                    return self._save(self._exchange(kept.refresh, self.describe()), row.seed)
                except RefreshTokenRefused:
                    if self._seed_digest() in (None, row.seed):
                        raise
            refresh_token, where = self._seed()
            return self._save(self._exchange(refresh_token, where), _digest(refresh_token))

    def _save(self, pair: TokenPair, seed: str) -> TokenPair:
        sealed = self._fernet().encrypt(self._dumps(pair).encode()).decode()
        self._store.save_oauth_token(self.settings.client_id, SealedToken(sealed, seed))
        return pair

    def _fresh(self, pair: TokenPair) -> bool:
        margin = timedelta(seconds=self.settings.refresh_margin_seconds)
        return pair.expires_at - margin > self._clock()

    def _client_secret(self) -> str:
        return secret("enrollment.outreach.oauth.client_secret", self.settings.client_secret)

    def _fernet(self) -> Fernet:
        """The key the pair is sealed with, from the client secret every server holds."""
        derived = hashlib.sha256(b"revsched outreach tokens\0" + self._client_secret().encode())
        return Fernet(base64.urlsafe_b64encode(derived.digest()))

    def _kept(self) -> TokenPair | None:
        return self._unsealed(self._store.oauth_token(self.settings.client_id))

    def _unsealed(self, kept: SealedToken | None) -> TokenPair | None:
        """The pair kept in the store; None when there is none or another client secret
        sealed it."""
        if kept is None:
            return None
        try:
            return self._loads(self._fernet().decrypt(kept.sealed.encode()).decode())
        except InvalidToken:
            return None

    def _seed(self) -> tuple[str, str]:
        """The refresh token a store with no pair starts from, and where it is read: the token
        file an earlier revsched kept (its pair is newer than the config's), else the config's."""
        path = self.settings.token_file
        kept = _read_token_file(path.expanduser()) if path is not None else None
        if kept is not None:
            return kept.refresh, f"token file {path}"
        key = "enrollment.outreach.oauth.refresh_token"
        return secret(key, self.settings.refresh_token), self.settings.refresh_token.describe()

    def _seed_digest(self) -> str | None:
        try:
            return _digest(self._seed()[0])
        except ConfigError:
            return None

    def _exchange(self, refresh_token: str, where: str) -> TokenPair:
        settings = self.settings
        form = {
            "client_id": settings.client_id,
            "client_secret": self._client_secret(),
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
            if why == "invalid_grant":
                raise RefreshTokenRefused(
                    f"outreach: the token endpoint refused the refresh token in {where} ({why});"
                    " authorize revsched in Outreach again and put the new refresh token in"
                    f" {settings.refresh_token.describe()}{self._then_delete()}"
                )
            raise ConfigError(
                f"outreach: the token endpoint refused the refresh ({why}); check"
                " enrollment.outreach.oauth client_id, client_secret and redirect_uri"
            )
        lifetime = timedelta(seconds=int(answer.get("expires_in") or 7200))
        return TokenPair(
            answer["access_token"],
            answer.get("refresh_token") or refresh_token,
            self._clock() + lifetime,
        )

    def _then_delete(self) -> str:
        """While the token file seeds the pair, a new refresh token in config is not read."""
        path = self.settings.token_file
        return f", then delete {path}" if path is not None and path.expanduser().exists() else ""

    @staticmethod
    def _dumps(pair: TokenPair) -> str:
        return json.dumps(
            {
                "access_token": pair.access,
                "refresh_token": pair.refresh,
                "expires_at": pair.expires_at.isoformat(),
            }
        )

    @staticmethod
    def _loads(text: str) -> TokenPair:
        kept = json.loads(text)
        return TokenPair(
            kept["access_token"], kept["refresh_token"], datetime.fromisoformat(kept["expires_at"])
        )

    @contextmanager
    def _leased(self) -> Iterator[None]:
        """Held while the pair is read, refreshed and saved: one refresh at a time among all
        the processes sharing the store. A holder killed mid-refresh lapses after the TTL."""
        name = f"oauth:{self.settings.client_id}"[:100]
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        ttl = timedelta(seconds=2 * self._timeout + 5)
        deadline = time.monotonic() + 2 * ttl.total_seconds()
        while self._store.acquire_lease(name, holder, ttl) is not None:
            if time.monotonic() > deadline:
                raise RefreshFailed("another process has been refreshing the token too long")
            time.sleep(0.2)
        try:
            yield
        finally:
            self._store.release_lease(name, holder)


def _digest(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


def _read_token_file(path: Path) -> TokenPair | None:
    """The pair an earlier revsched kept in its token file; None when there is none."""
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
        return RefreshingToken._loads(text)
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"enrollment.outreach.oauth.token_file: {path} is not a token file revsched"
            " wrote; delete it to start again from enrollment.outreach.oauth.refresh_token"
        ) from None
