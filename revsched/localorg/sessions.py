"""Logins and sessions: the OAuth 2.0 token endpoint (password, JWT bearer and client
credentials flows) and the session ids the org then accepts.

An org given `Credentials` checks logins against them; without, every login succeeds. A
*strict* org (what `serve(..., credentials=...)` runs) rejects any bearer token it did not
issue; an in-process org is permissive and accepts any non-empty token.

Documents relied on (Salesforce Help, "OAuth 2.0 Username-Password Flow for Special
Scenarios", "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration", "OAuth 2.0 Client
Credentials Flow for Server-to-Server Integration", "OAuth 2.0 Authorization Errors"):

- POST /services/oauth2/token, form-encoded; `grant_type` is `password` (client_id,
  client_secret, username, password + security token), `urn:ietf:params:oauth:grant-type:
  jwt-bearer` (assertion: an RS256 JWT with iss = consumer key, sub = username, aud = the
  login URL, exp) or `client_credentials` (client id/secret as HTTP Basic or in the body).
- 200 body: access_token, instance_url, id (identity URL), token_type "Bearer", issued_at
  (ms since the epoch, as a string), signature (base64 HMAC-SHA256 of id + issued_at keyed
  with the client secret); client credentials adds `scope`.
- Errors: 400 with {"error": ..., "error_description": ...}: invalid_grant "authentication
  failure", invalid_client_id "client identifier invalid", invalid_client "invalid client
  credentials", unsupported_grant_type "grant type not supported", invalid_grant
  "invalid assertion" (bad JWT).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt
from cryptography import x509
from werkzeug.wrappers import Request

from revsched.localorg import ids

ORG_ID = ids.make_id("00D", 1)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Credentials:
    """Who may log in to a local org. `jwt_certificate` is the PEM of the connected app's
    certificate (or a public key) that JWT bearer assertions must be signed for."""

    username: str = "admin@revsched.localorg"
    password: str = ""
    security_token: str = ""
    consumer_key: str = ""
    consumer_secret: str = ""
    jwt_certificate: str | None = None


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.body = {"error": error, "error_description": description}


class Sessions:
    """Issues session ids and says which bearer tokens the org accepts."""

    def __init__(self, credentials: Credentials | None, *, strict: bool) -> None:
        self.credentials = credentials
        self.strict = strict
        self.issued: set[str] = set()

    def accepts(self, token: str) -> bool:
        if not token.strip():
            return False
        return token in self.issued if self.strict else True

    def issue(self) -> str:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        self.issued.add(token)
        return token

    def check_password(self, username: str, password: str) -> bool:
        """A username and password (+ security token appended, as Salesforce takes it)."""
        c = self.credentials
        if c is None:
            return bool(username)
        return username.lower() == c.username.lower() and password in (
            c.password + c.security_token,
            c.password if not c.security_token else None,
        )

    # -- OAuth token endpoint ---------------------------------------------------------

    def token(self, request: Request, instance_url: str, user_id: str) -> tuple[int, dict]:
        if request.method != "POST":
            raise OAuthError("invalid_request", "must use HTTP POST", 405)
        form = request.form
        grant = form.get("grant_type", "")
        if not grant:
            raise OAuthError("invalid_request", "grant type is missing")
        if grant == "password":
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            self._check_client(client_id, secret)
            if not self.check_password(form.get("username", ""), form.get("password", "")):
                raise OAuthError("invalid_grant", "authentication failure")
            return 200, self._response(instance_url, user_id, secret)
        if grant == JWT_BEARER:
            self._check_assertion(form.get("assertion", ""))
            return 200, self._response(instance_url, user_id, "")
        if grant == "client_credentials":
            client_id, secret = _basic_auth(request) or (
                form.get("client_id", ""),
                form.get("client_secret", ""),
            )
            self._check_client(client_id, secret, required=True)
            body = self._response(instance_url, user_id, secret)
            body["scope"] = "api"
            return 200, body
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _check_client(self, client_id: str, secret: str, *, required: bool = False) -> None:
        c = self.credentials
        if c is None or not c.consumer_key:
            if required and not client_id:
                raise OAuthError("invalid_client_id", "client identifier invalid")
            return
        if client_id != c.consumer_key:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(secret, c.consumer_secret):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _check_assertion(self, assertion: str) -> None:
        """Verify signature (when a certificate is configured) and the documented claims."""
        c = self.credentials
        try:
            if c is not None and c.jwt_certificate:
                claims = jwt.decode(
                    assertion,
                    _public_key(c.jwt_certificate),
                    algorithms=["RS256"],
                    options={"verify_aud": False, "require": ["iss", "sub", "aud", "exp"]},
                )
            else:
                claims = jwt.decode(
                    assertion,
                    options={"verify_signature": False, "require": ["iss", "sub", "aud", "exp"]},
                )
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_grant", "expired access/refresh token") from None
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        audience = str(claims.get("aud", ""))
        if not (audience.startswith("https://") and audience.endswith(".salesforce.com")):
            raise OAuthError("invalid_grant", "audience is invalid")
        if c is not None:
            if c.consumer_key and claims.get("iss") != c.consumer_key:
                raise OAuthError("invalid_client_id", "client identifier invalid")
            if str(claims.get("sub", "")).lower() != c.username.lower():
                raise OAuthError("invalid_grant", "user hasn't approved this consumer")

    def _response(self, instance_url: str, user_id: str, secret: str) -> dict[str, str]:
        identity = f"https://login.salesforce.com/id/{ORG_ID}/{user_id}"
        issued_at = str(int(time.time() * 1000))
        digest = hmac.new(secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
        return {
            "access_token": self.issue(),
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest.digest()).decode(),
        }


def _basic_auth(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _public_key(pem: str) -> object:
    data = pem.encode()
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return data
