"""Which enrollment channel a run enrolls through, from its [enrollment] settings.

The one module that knows every channel (as notify.py knows every alert channel): the
channels themselves (revsched.enroll, revsched.outreach) know nothing of settings.
"""

from __future__ import annotations

from collections.abc import Callable

from revsched.config import OutreachSettings, Settings, secret
from revsched.enroll import EnrollmentChannel, FakeChannel, SalesforceFieldChannel
from revsched.org import OrgGateway
from revsched.outreach import OutreachChannel, OutreachClient
from revsched.outreach_auth import AccessToken, FixedToken, RefreshingToken
from revsched.state import StateStore


def enrollment_channel(
    settings: Settings, org: OrgGateway, store: Callable[[], StateStore]
) -> EnrollmentChannel:
    """The channel `[enrollment]` names; Outreach's token is read when a run first enrolls
    someone through it (a run that enrolls nobody needs none), a refreshed one from
    `store`."""
    kind, tries = settings.enrollment.kind, settings.enrollment.tries
    if kind == "fake":
        return FakeChannel(tries=tries)
    field_channel = SalesforceFieldChannel(org, tries)
    if kind == "salesforce-field":
        return field_channel
    outreach = settings.enrollment.outreach
    return OutreachChannel(lambda: outreach_client(outreach, store), field_channel, tries)


def outreach_client(outreach: OutreachSettings, store: Callable[[], StateStore]) -> OutreachClient:
    """A client with the token config names: refreshed by revsched with [oauth] (the pair
    kept in `store`), else fixed."""
    token: AccessToken
    if outreach.oauth is not None:
        token = RefreshingToken(outreach.oauth, outreach.timeout_seconds, store())
    else:
        fixed = secret("enrollment.outreach.token", outreach.token)
        token = FixedToken(fixed, outreach.token.describe())
    return OutreachClient(outreach, token)
