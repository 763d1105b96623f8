"""The embedded local Salesforce org: the default org and the target of all tests."""

from revsched.localorg.faults import FaultProfile, load_faults
from revsched.localorg.local_org import LocalOrg, add_custom_fields, serve
from revsched.localorg.sessions import Credentials
from revsched.localorg.soql_dates import FiscalYear
from revsched.localorg.transport import connect, local_session

__all__ = [
    "Credentials",
    "FaultProfile",
    "FiscalYear",
    "LocalOrg",
    "add_custom_fields",
    "connect",
    "load_faults",
    "local_session",
    "serve",
]
