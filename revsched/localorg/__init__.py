"""The embedded local Salesforce org: the default org and the target of all tests.

Its names are loaded on first use: a run against a served local org needs the client's
transport only, not the server, its SOQL parser and its storage (6 MB of a run's memory).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revsched.localorg.faults import FaultProfile, load_faults
    from revsched.localorg.local_org import LocalOrg, add_custom_fields, serve
    from revsched.localorg.sessions import Credentials
    from revsched.localorg.soql_dates import FiscalYear
    from revsched.localorg.transport import connect, local_session

# Each name, by the module that defines it.
_MODULES = {
    "Credentials": "sessions",
    "FaultProfile": "faults",
    "FiscalYear": "soql_dates",
    "LocalOrg": "local_org",
    "add_custom_fields": "local_org",
    "connect": "transport",
    "load_faults": "faults",
    "local_session": "transport",
    "serve": "local_org",
}

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


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
