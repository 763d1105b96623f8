"""OAuth token pairs shared by the servers on one store, sealed by their owner (outreach_auth).
Apart from the rest: a pair is no run's and no play's, and outlives both."""

from __future__ import annotations

from typing import NamedTuple

from revsched.state.database import Database, now
from revsched.state.models import OAuthTokenRow


class SealedToken(NamedTuple):
    """A client's pair as kept: encrypted, and the digest of the refresh token it began from."""

    sealed: str
    seed: str


class OAuthTokens(Database):
    def oauth_token(self, client: str) -> SealedToken | None:
        with self.session() as session:
            row = session.get(OAuthTokenRow, client)
            return SealedToken(row.sealed, row.seed) if row is not None else None

    def save_oauth_token(self, client: str, token: SealedToken) -> None:
        """Replace the client's pair (call it holding the client's lease)."""
        with self.session() as session:
            session.merge(
                OAuthTokenRow(client=client, sealed=token.sealed, seed=token.seed, updated_at=now())
            )
