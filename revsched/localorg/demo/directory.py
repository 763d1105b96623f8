"""The demo org's people: roles, users (config defaults elsewhere name these usernames)
and the lead queues, loaded before any account so owners resolve."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from dateutil.relativedelta import relativedelta

from revsched.localorg.demo.drafts import DraftRecord
from revsched.localorg.local_org import LocalOrg

DEMO_DOMAIN = "demo.revsched.dev"

AE = "Account Executive"
SDR = "Sales Development"
AM = "Account Manager"
CSM = "Customer Success"
ROLES = (AE, SDR, AM, CSM, "Sales Manager", "SDR Manager", "AM Director", "RevOps", "Integration")
# Each role's profile: sales (AEs, SDRs, their managers), the admins, everyone else.
PROFILES = {
    **dict.fromkeys((AE, SDR, "Sales Manager", "SDR Manager"), "Sales User"),
    **dict.fromkeys(("RevOps", "Integration"), "System Administrator"),
}
DEFAULT_PROFILE = "Standard User"


@dataclass(frozen=True)
class DemoUser:
    """A fixed demo user; config defaults elsewhere refer to these usernames."""

    local: str
    role: str
    manager: str | None = None
    active: bool = True
    full_name: str | None = None

    @property
    def username(self) -> str:
        return f"{self.local}@{DEMO_DOMAIN}"

    def names(self) -> tuple[str, str]:
        """First and last name, from the local part unless the user has a team name."""
        first, last = (self.full_name or self.local.replace(".", " ").title()).split(" ", 1)
        return first, last


USERS = (
    DemoUser("nora.bennett", "Sales Manager"),
    DemoUser("omar.haddad", "SDR Manager"),
    DemoUser("paula.costa", "AM Director"),
    DemoUser("revops", "RevOps", full_name="RevOps Team"),
    DemoUser("integration", "Integration", full_name="Integration User"),
    DemoUser("lena.fischer", CSM),
    DemoUser("milo.rossi", CSM),
    *(DemoUser(u, AE, "nora.bennett") for u in ("ava.patel", "ben.okafor", "carla.mendez")),
    DemoUser("dev.sharma", AE, "nora.bennett"),
    DemoUser("eli.novak", AE, "nora.bennett", active=False),
    *(DemoUser(u, SDR, "omar.haddad") for u in ("fay.nguyen", "gus.romero", "hana.kim")),
    DemoUser("ivan.petrov", SDR, "omar.haddad"),
    DemoUser("jade.wilson", AM, "paula.costa"),
    DemoUser("kofi.mensah", AM, "paula.costa"),
)

# Lead status -> the queue that queue-recycle moves such leads to.
STATUS_QUEUES = {
    "Recycle": "Recycle_Queue",
    "Bad Data": "Bad_Data_Queue",
    "Ineligible": "Ineligible_Queue",
    "Inquiry": "Inquiry_Queue",
    "Disqualified": "Disqualified_Queue",
}
HOLDING_QUEUE = "RevOps_Holding"
QUEUES = (*STATUS_QUEUES.values(), HOLDING_QUEUE)


def queue_name(developer_name: str) -> str:
    """The queue's label, e.g. Recycle_Queue -> "Recycle Queue"."""
    return developer_name.replace("_", " ")


@dataclass(frozen=True)
class Directory:
    """Ids of the demo users (by username local part) and queues (by DeveloperName)."""

    users: Mapping[str, str]
    queues: Mapping[str, str]

    def by_role(self, role: str) -> tuple[str, ...]:
        """Active users of a role, in USERS order, for the generator's owner pools."""
        return tuple(self.users[u.local] for u in USERS if u.role == role and u.active)


def load_directory(org: LocalOrg, today: date) -> Directory:
    """Insert roles, profiles, users (managers first, so ManagerId resolves) and queues, all
    created three years before `today` so that the whole org is a function of the inputs."""
    created = {"CreatedDate": datetime.combine(today - relativedelta(years=3), time(9), UTC)}
    roles = [{"Name": r, "DeveloperName": r.replace(" ", "_"), **created} for r in ROLES]
    role_ids = dict(zip(ROLES, org.insert("UserRole", roles), strict=True))
    names = sorted({*PROFILES.values(), DEFAULT_PROFILE})
    profiles = org.insert("Profile", [{"Name": n, **created} for n in names])
    profile_ids = dict(zip(names, profiles, strict=True))
    users: dict[str, str] = {}
    for wave in ([u for u in USERS if u.manager is None], [u for u in USERS if u.manager]):
        records = [
            {
                **_user_record(u, role_ids[u.role], users),
                "ProfileId": profile_ids[PROFILES.get(u.role, DEFAULT_PROFILE)],
                **created,
            }
            for u in wave
        ]
        users.update(zip([u.local for u in wave], org.insert("User", records), strict=True))
    groups = [
        {"Name": queue_name(q), "DeveloperName": q, "Type": "Queue", **created} for q in QUEUES
    ]
    return Directory(users, dict(zip(QUEUES, org.insert("Group", groups), strict=True)))


def _user_record(user: DemoUser, role_id: str, loaded: Mapping[str, str]) -> DraftRecord:
    first, last = user.names()
    return {
        "Username": user.username,
        "Email": user.username,
        "FirstName": first,
        "LastName": last,
        "Title": user.role,
        "IsActive": user.active,
        "UserRoleId": role_id,
        "ManagerId": loaded[user.manager] if user.manager else None,
    }
