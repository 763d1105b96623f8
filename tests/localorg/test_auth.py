"""Logins: SOAP login, the OAuth token endpoint's three flows, and strict sessions."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from revsched.localorg import Credentials, FaultProfile, LocalOrg, local_session, serve

CREDENTIALS = Credentials(
    username="ops@acme.test",
    password="pw",
    security_token="TOKEN",
    consumer_key="ck",
    consumer_secret="cs",
)


def key_and_certificate() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "revsched")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem_key, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def secured(tmp_path):
    org = LocalOrg(tmp_path / "org.sqlite", credentials=CREDENTIALS, strict_sessions=True)
    yield org
    org.close()


def test_soap_login_with_security_token(secured):
    sf = secured.salesforce(username="ops@acme.test", password="pw", security_token="TOKEN")
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        secured.salesforce(username="ops@acme.test", password="bad", security_token="TOKEN")
    assert err.value.code == "INVALID_LOGIN"


def test_oauth_password_flow(secured):
    sf = secured.salesforce(
        username="ops@acme.test", password="pwTOKEN", consumer_key="ck", consumer_secret="cs"
    )
    assert sf.limits()["DailyApiRequests"]["Max"] == 100_000
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        secured.salesforce(
            username="ops@acme.test", password="pwTOKEN", consumer_key="ck", consumer_secret="x"
        )
    assert err.value.code == "invalid_client"
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        secured.salesforce(
            username="ops@acme.test", password="nope", consumer_key="ck", consumer_secret="cs"
        )
    assert (err.value.code, err.value.content) == ("invalid_grant", b"authentication failure")


def test_token_response_shape(secured):
    response = secured.session().post(
        "https://login.salesforce.com/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "ck",
            "client_secret": "cs",
            "username": "ops@acme.test",
            "password": "pwTOKEN",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert body["token_type"] == "Bearer" and body["issued_at"].isdigit()
    bad = secured.session().post(
        "https://login.salesforce.com/services/oauth2/token", data={"grant_type": "implicit"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "unsupported_grant_type"


def test_jwt_bearer_flow_verifies_the_signature(tmp_path):
    private_key, certificate = key_and_certificate()
    other_key, _ = key_and_certificate()
    creds = Credentials(username="ops@acme.test", consumer_key="ck", jwt_certificate=certificate)
    org = LocalOrg(tmp_path / "org.sqlite", credentials=creds, strict_sessions=True)
    sf = org.salesforce(username="ops@acme.test", consumer_key="ck", privatekey=private_key)
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 1
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        org.salesforce(username="ops@acme.test", consumer_key="ck", privatekey=other_key)
    assert (err.value.code, err.value.content) == ("invalid_grant", b"invalid assertion")
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        org.salesforce(username="ops@acme.test", consumer_key="other", privatekey=private_key)
    assert err.value.code == "invalid_client_id"
    org.close()


def test_client_credentials_flow(secured):
    sf = secured.salesforce(consumer_key="ck", consumer_secret="cs", domain="acme.my")
    assert sf.limits()["DailyApiRequests"]["Max"] == 100_000
    with pytest.raises(SalesforceAuthenticationFailed):
        secured.salesforce(consumer_key="ck", consumer_secret="no", domain="acme.my")


def test_strict_org_rejects_unknown_tokens_in_process_org_does_not(secured, org):
    response = secured.session().get(
        "https://x/services/data/v62.0/limits/", headers={"Authorization": "Bearer made-up"}
    )
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert org.salesforce().limits()["DailyApiRequests"]["Max"] == 100_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(path, **kwargs) -> str:
    port = free_port()
    threading.Thread(
        target=serve, args=(path,), kwargs={"port": port, **kwargs}, daemon=True
    ).start()
    deadline = time.monotonic() + 10
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/services/data/v62.0/limits/", timeout=1)
            return f"http://127.0.0.1:{port}"
        except requests.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_simple_salesforce_login_end_to_end_against_a_served_org(tmp_path):
    path = tmp_path / "org.sqlite"
    LocalOrg(path).close()
    url = start_server(path, credentials=CREDENTIALS)
    sf = Salesforce(
        username="ops@acme.test",
        password="pw",
        security_token="TOKEN",
        session=local_session(url),
    )
    assert sf.sf_instance == url.removeprefix("http://")
    assert sf.Account.create({"Name": "Served"})["success"] is True
    oauth = Salesforce(
        username="ops@acme.test",
        password="pwTOKEN",
        consumer_key="ck",
        consumer_secret="cs",
        session=local_session(url),
    )
    assert oauth.query("SELECT Name FROM Account")["records"][0]["Name"] == "Served"
    stranger = requests.get(
        f"{url}/services/data/v62.0/limits/", headers={"Authorization": "Bearer local"}
    )
    assert stranger.status_code == 401


def test_served_org_drops_the_connection_mid_response(tmp_path):
    path = tmp_path / "org.sqlite"
    LocalOrg(path).close()
    faults = tmp_path / "faults.toml"
    faults.write_text("drop_rate = 1.0\n")
    url = start_server(path, faults=faults)
    with pytest.raises(
        (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    ):
        requests.get(
            f"{url}/services/data/v62.0/limits/", headers={"Authorization": "Bearer t"}
        ).json()
    assert FaultProfile.from_file(faults).drop_rate == 1.0
