"""The embedded local Salesforce org: the default org and the target of all tests."""

from revsched.localorg.org import LocalOrg, serve
from revsched.localorg.schema import SOBJECTS, sobject
from revsched.localorg.transport import connect

__all__ = ["SOBJECTS", "LocalOrg", "connect", "serve", "sobject"]
