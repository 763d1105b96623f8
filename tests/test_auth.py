"""Logging in to a real org with each flow, re-login on expiry, and secrets kept out of output.

The identity provider is a fake in this file, in front of the local org's REST
API: it issues tokens for JWT bearer, client credentials and SOAP password
logins, and can expire every session to force a re-login.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner
from werkzeug.wrappers import Request, Response

from revsched import auth
from revsched.auth import salesforce_login
from revsched.cli import app
from revsched.config import OrgSettings, SecretRef, load_settings
from revsched.errors import ConfigError, OrgError
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.localorg.transport import WSGIAdapter
from revsched.org import OrgGateway

USERNAME = "revsched@acme.com"
CONSUMER_KEY = "3MVG9-consumer-key-do-not-print"
CONSUMER_SECRET = "consumer-secret-7f3a9c"
PASSWORD = "hunter2-password-b81d"
SECURITY_TOKEN = "tokenXYZ42"
INSTANCE = "https://acme.my.salesforce.com"


def _private_key() -> tuple[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


PRIVATE_KEY, PUBLIC_KEY = _private_key()
SECRETS = [CONSUMER_SECRET, PASSWORD, SECURITY_TOKEN, PRIVATE_KEY.splitlines()[1]]


class FakeIdentity:
    """Salesforce's login endpoints in front of a local org's API, with expiring sessions."""

    def __init__(self, api: Any):
        self.api = api
        self.tokens: set[str] = set()
        self.logins: list[str] = []

    def expire_sessions(self) -> None:
        self.tokens.clear()

    def _issue(self, flow: str) -> str:
        token = f"00D!{uuid.uuid4().hex}"
        self.tokens.add(token)
        self.logins.append(flow)
        return token

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/services/oauth2/token":
            response = self._token(request)
        elif request.path.startswith("/services/Soap/u/"):
            response = self._soap(request)
        elif request.headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens:
            return self.api(environ, start_response)
        else:
            body = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]
            response = Response(json.dumps(body), 401, content_type="application/json")
        return response(environ, start_response)

    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            claims = jwt.decode(
                form["assertion"],
                PUBLIC_KEY,
                algorithms=["RS256"],
                audience="https://login.salesforce.com",
            )
            ok = claims["iss"] == CONSUMER_KEY and claims["sub"] == USERNAME
            flow = "jwt"
        else:
            basic = request.headers.get("Authorization", "").removeprefix("Basic ")
            ok = base64.b64decode(basic).decode() == f"{CONSUMER_KEY}:{CONSUMER_SECRET}"
            flow = "client_credentials"
        if not ok:
            # A careless server that echoes what it was sent: revsched must mask it.
            echoed = base64.b64decode(request.headers.get("Authorization", "")[6:] or b"")
            error = {"error": "invalid_grant", "error_description": f"bad {echoed.decode()}"}
            return Response(json.dumps(error), 400, content_type="application/json")
        body = {"access_token": self._issue(flow), "instance_url": INSTANCE}
        return Response(json.dumps(body), 200, content_type="application/json")

    def _soap(self, request: Request) -> Response:
        text = request.get_data(as_text=True)
        username = re.search(r"<n1:username>(.*?)</n1:username>", text)
        password = re.search(r"<n1:password>(.*?)</n1:password>", text)
        if not (username and password) or (username[1], password[1]) != (
            USERNAME,
            PASSWORD + SECURITY_TOKEN,
        ):
            fault = (
                '<?xml version="1.0"?><soapenv:Envelope'
                ' xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
                ' xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
                "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>"
                "Invalid username, password, security token; or user locked out."
                "</sf:exceptionMessage></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            )
            return Response(fault, 500, content_type="text/xml")
        ok = (
            '<?xml version="1.0"?><soapenv:Envelope'
            ' xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            f"<loginResponse><result><serverUrl>{INSTANCE}/services/Soap/u/62.0/00D</serverUrl>"
            f"<sessionId>{self._issue('password')}</sessionId></result></loginResponse>"
            "</soapenv:Body></soapenv:Envelope>"
        )
        return Response(ok, 200, content_type="text/xml")


@pytest.fixture
def identity(
    tmp_path: Path, revsched_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeIdentity]:
    org_path = tmp_path / "org.sqlite"
    build_demo_org(org_path, accounts=30, seed=7).close()
    local = LocalOrg(org_path)
    fake = FakeIdentity(local.wsgi_app)

    def session() -> requests.Session:
        http = requests.Session()
        http.mount("https://", WSGIAdapter(fake))
        return http

    monkeypatch.setattr(auth, "http_session", session)
    monkeypatch.setenv("SALESFORCE_CONSUMER_KEY", CONSUMER_KEY)
    monkeypatch.setenv("SALESFORCE_PRIVATE_KEY", PRIVATE_KEY)
    monkeypatch.setenv("SALESFORCE_CONSUMER_SECRET", CONSUMER_SECRET)
    monkeypatch.setenv("SALESFORCE_PASSWORD", PASSWORD)
    monkeypatch.setenv("SALESFORCE_SECURITY_TOKEN", SECURITY_TOKEN)
    yield fake
    local.close()


FLOWS = {
    "jwt": OrgSettings(kind="salesforce", auth="jwt", username=USERNAME),
    "client_credentials": OrgSettings(
        kind="salesforce", auth="client_credentials", domain="acme.my"
    ),
    "password": OrgSettings(kind="salesforce", auth="password", username=USERNAME),
}


@pytest.mark.parametrize("flow", list(FLOWS))
def test_each_flow_logs_in_and_logs_in_again_when_the_session_expires(
    flow: str, identity: FakeIdentity
):
    org = OrgGateway(salesforce_login(FLOWS[flow]))

    assert org.instance_url == INSTANCE
    assert org.query("SELECT Id FROM User WHERE IsActive = true LIMIT 1")
    identity.expire_sessions()
    assert org.query("SELECT Id FROM User WHERE IsActive = true LIMIT 1")
    assert identity.logins == [flow, flow]


def test_private_key_from_a_file(identity: FakeIdentity, tmp_path: Path):
    key_file = tmp_path / "salesforce.key"
    key_file.write_text(PRIVATE_KEY, encoding="utf-8")
    settings = FLOWS["jwt"].model_copy(update={"private_key": SecretRef(file=key_file)})

    OrgGateway(salesforce_login(settings))

    assert identity.logins == ["jwt"]


def test_refused_login_masks_what_the_server_echoes(
    identity: FakeIdentity, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SALESFORCE_CONSUMER_SECRET", "wrong-secret-5e5e")

    with pytest.raises(OrgError) as error:
        OrgGateway(salesforce_login(FLOWS["client_credentials"]))

    assert "refused the client_credentials login" in str(error.value)
    assert "wrong-secret-5e5e" not in str(error.value) and auth.MASK in str(error.value)


def test_wrong_password_is_an_org_error_without_the_password(
    identity: FakeIdentity, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SALESFORCE_PASSWORD", "not-it-991")

    with pytest.raises(OrgError, match="INVALID_LOGIN") as error:
        OrgGateway(salesforce_login(FLOWS["password"]))

    assert "not-it-991" not in str(error.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (OrgSettings(kind="salesforce"), "org.username: required for jwt login"),
        (
            OrgSettings(kind="salesforce", auth="client_credentials"),
            "org.domain: client_credentials logs in at the org's My Domain",
        ),
        (
            OrgSettings(
                kind="salesforce", username=USERNAME, private_key=SecretRef(env="NO_SUCH_VAR")
            ),
            "org.private_key: jwt login needs it, and environment variable NO_SUCH_VAR",
        ),
        (
            OrgSettings(
                kind="salesforce",
                auth="password",
                username=USERNAME,
                password=SecretRef(file=Path("/nonexistent/pw")),
            ),
            "org.password: password login needs it, and file /nonexistent/pw is unset or empty",
        ),
    ],
)
def test_missing_settings_and_secrets_name_the_key(
    settings: OrgSettings, message: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SALESFORCE_CONSUMER_KEY", CONSUMER_KEY)
    with pytest.raises(ConfigError, match=re.escape(message)):
        salesforce_login(settings)


@pytest.mark.parametrize(
    "text", [f'password = "{PASSWORD}"', f'password = {{ value = "{PASSWORD}" }}']
)
def test_a_secret_in_the_config_text_is_refused_without_echoing_it(tmp_path: Path, text: str):
    config = tmp_path / "revsched.toml"
    config.write_text(f"[org]\nkind = 'salesforce'\n{text}\n", encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_settings(config)

    assert "org.password" in str(error.value)
    assert PASSWORD not in str(error.value)


def test_no_secret_appears_in_any_output_log_plan_or_audit(
    identity: FakeIdentity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    state = tmp_path / "state.sqlite"
    config = tmp_path / "revsched.toml"
    config.write_text(
        f"[org]\nkind = 'salesforce'\nauth = 'password'\nusername = '{USERNAME}'\n"
        f"[state]\nurl = 'sqlite:///{state}'\n"
        # A real org names its own users and pools (here the demo org's, standing in).
        "[pools.win-back-ae]\nmembers = ['ava.patel@demo.revsched.dev']\n"
        "[pools.win-back-sdr]\nmembers = ['fay.nguyen@demo.revsched.dev']\n"
        "[plays.win-back]\nenabled = true\nholding_users = ['revops@demo.revsched.dev']\n"
        "[plays.churn-intake]\nenabled = true\nholding_user = 'revops@demo.revsched.dev'\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("REVSCHED_CONFIG", str(config))
    runner = CliRunner()
    plan_file = tmp_path / "plan.json"
    commands = [
        ["doctor"],
        ["run", "win-back", "--dry-run", "--out", str(plan_file)],
        ["--log-format", "json", "run", "win-back", "--json"],
        ["run", "churn-intake", "--scheduled"],
        ["history", "--json"],
        ["show", "2", "--json"],
    ]
    output = ""
    for args in commands:
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1), (args, result.output)
        output += result.stdout + result.stderr
    monkeypatch.setenv("SALESFORCE_PASSWORD", "wrong-password-0000")
    refused = runner.invoke(app, ["run", "win-back"])
    assert refused.exit_code == 5 and "INVALID_LOGIN" in refused.stderr
    output += refused.stdout + refused.stderr + plan_file.read_text()
    with sqlite3.connect(state) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            output += repr(db.execute(f"SELECT * FROM {table}").fetchall())

    assert "win-back" in output and identity.logins
    for secret in [*SECRETS, "wrong-password-0000"]:
        assert secret not in output
