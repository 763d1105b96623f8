"""route-leads' part of the demo org: the partner and support queues, partner campaigns,
a US PubSec account, accounts with working (and inactive) BDRs, and one lead for each
case the routing rules decide, all created and MQL'd the day before `today`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from revsched.localorg.demo.directory import queue_name
from revsched.localorg.demo.drafts import company_domain
from revsched.localorg.demo.generator import DemoGenerator
from revsched.localorg.local_org import LocalOrg

QUEUES = ("Partner_Queue", "Support_Queue")

# Name -> the campaign fields that make it a partner campaign (or not).
CAMPAIGNS = {
    "Partner MDF - DevOps Days": {"Will_there_be_MDF_funding__c": "Yes"},
    "Partner - Trial - Self-managed": {},
    "Joint Event - Cloud Summit": {"Is_a_Channel_Partner_Involved__c": "Yes"},
    "Webinar - CI Basics": {"Will_there_be_MDF_funding__c": "No"},
}


@dataclass(frozen=True)
class RoutingAccount:
    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    bdr: str | None = None  # the BDR's username local part, Actively Working


ACCOUNTS = (
    RoutingAccount("Federal Data Systems", {"Is_US_PubSec__c": True}),
    RoutingAccount("Northwind Robotics", bdr="hana.kim"),
    RoutingAccount("Lumen Freight", bdr="eli.novak"),
    # Two accounts on one website and nothing to break the tie: ambiguous.
    RoutingAccount("Twin Peaks Media", {"BillingCountry": "US"}),
    RoutingAccount("Twin Peaks Media", {"BillingCountry": "CA"}),
    RoutingAccount("Channel Force Partners", {"Type": "Partner"}),
)


@dataclass(frozen=True)
class RoutingLead:
    """A lead as the demo needs it; `email` None: free mail on gmail.com."""

    first: str
    last: str
    company: str
    country: str | None = "US"
    fields: dict[str, Any] = field(default_factory=dict)
    campaign: str | None = None
    mql: bool = True
    created_by: str = "integration"
    domain: str | None = None


LEADS = (
    RoutingLead("Olivia", "Grant", "Northwind Robotics", domain="northwindrobotics.com"),
    RoutingLead(
        "Sam",
        "Porter",
        "Federal Data Systems",
        domain="federaldatasystems.com",
        mql=False,
        fields={"Status": "Inquiry"},
    ),
    RoutingLead("Mia", "Schulz", "Schulz Bau", "Germany"),
    RoutingLead("Noah", "Reed", "Reed Outfitters", "United States"),
    RoutingLead("Liam", "Brooks", "Brooks Tools", "USA"),
    RoutingLead("Ella", "Fox", "Fox Logistica", "Brazil"),
    RoutingLead("Zoe", "Park", "Park Studio", fields={"Person_Score__c": None}),
    RoutingLead("Max", "Hill", "Hill Farms", fields={"Person_Score__c": -1}),
    RoutingLead("Ivy", "Chen", "unknown", "U.S."),
    RoutingLead("Leo", "Ward", "Ward Legal", fields={"Do_Not_Route__c": True}),
    RoutingLead("Ava", "Stone", "Stone Dental", created_by="ava.patel"),
    RoutingLead("Eli", "Moss", "Moss Garden", mql=False, fields={"Status": "Recycle"}),
    RoutingLead("Nina", "Cole", "Cole Hosting", campaign="Partner MDF - DevOps Days"),
    RoutingLead("Omar", "Diaz", "Diaz Cloud", campaign="Partner - Trial - Self-managed"),
    RoutingLead("Rita", "Vance", "Vance Media", campaign="Joint Event - Cloud Summit"),
    RoutingLead(
        "Tom",
        "Hale",
        "Hale Systems",
        campaign="Joint Event - Cloud Summit",
        fields={"Actively_Being_Sequenced__c": True},
    ),
    RoutingLead(
        "Uma",
        "Rao",
        "Rao Networks",
        "India",
        campaign="Partner MDF - DevOps Days",
        fields={"Last_Interesting_Moment__c": "Contact Sales"},
    ),
    RoutingLead(
        "Vic", "Lane", "Lane Bakery", fields={"Last_Interesting_Moment__c": "Unsubscribed"}
    ),
    RoutingLead(
        "Ben", "Crow", "Crow Labs", fields={"Last_Interesting_Moment__c": "Support Request"}
    ),
    RoutingLead("Zack", "Meyer", "Lumen Freight", "Canada", domain="lumenfreight.com"),
    RoutingLead("Ada", "Burke", "Twin Peaks Media", "France", domain="twinpeaksmedia.com"),
)

# Leads routed before: re-MQL'd since (routes again), not since (nothing new), and
# re-MQL'd while Sales Dev works it (left alone).
ROUTED_BEFORE = (
    RoutingLead("Wes", "Ford", "Ford Metrics", "United Kingdom", fields={"Status": "Open"}),
    RoutingLead("Xena", "Holt", "Holt Energy", fields={"Status": "Open"}, mql=False),
    RoutingLead("Yara", "Quinn", "Quinn Retail", fields={"Status": "Qualifying"}),
)


def load_routing_fixtures(org: LocalOrg, generator: DemoGenerator) -> None:
    """Insert route-leads' queues, campaigns, accounts and leads."""
    users = generator.users
    yesterday = datetime.combine(generator.today - timedelta(days=1), time(9), UTC)
    org.insert(
        "Group",
        [
            {"Name": queue_name(q), "DeveloperName": q, "Type": "Queue", "CreatedDate": yesterday}
            for q in QUEUES
        ],
    )
    campaign_ids = dict(
        zip(
            CAMPAIGNS,
            org.insert(
                "Campaign",
                [
                    {"Name": name, "OwnerId": users["revops"], "CreatedDate": yesterday, **values}
                    for name, values in CAMPAIGNS.items()
                ],
            ),
            strict=True,
        )
    )
    accounts = [
        {
            "Name": a.name,
            "Type": "Prospect",
            "OwnerId": users["ava.patel"],
            "Website": f"www.{company_domain(a.name)}",
            "BDR_Assigned__c": users[a.bdr] if a.bdr else None,
            "BDR_Prospecting_Status__c": "Actively Working" if a.bdr else None,
            "CreatedDate": yesterday - timedelta(days=200),
            **a.fields,
        }
        for a in ACCOUNTS
    ]
    account_ids = dict(
        zip([a.name for a in ACCOUNTS], org.insert("Account", accounts), strict=True)
    )
    partner = account_ids["Channel Force Partners"]

    def record(lead: RoutingLead, routed: datetime | None) -> dict[str, Any]:
        domain = lead.domain or company_domain(lead.company)
        address = f"{lead.first}.{lead.last}@{domain if lead.domain else 'gmail.com'}".lower()
        return {
            "FirstName": lead.first,
            "LastName": lead.last,
            "Company": lead.company,
            "Email": address,
            "Title": "Head of Engineering",
            "Country": lead.country,
            "Status": "Open",
            "OwnerId": users[lead.created_by] if routed is None else users["fay.nguyen"],
            "CreatedById": users[lead.created_by],
            "CreatedDate": yesterday - timedelta(days=20 if routed else 0),
            "Person_Score__c": 40,
            "MQL_Date__c": yesterday + timedelta(hours=1) if lead.mql else None,
            "Last_Routed_Date__c": routed,
            "Last_Interesting_Moment__c": "Web Form",
            "Partner_Account__c": partner if lead.first == "Omar" else None,
            **lead.fields,
        }

    before = yesterday - timedelta(days=10)
    lead_ids = org.insert(
        "Lead", [*(record(x, None) for x in LEADS), *(record(x, before) for x in ROUTED_BEFORE)]
    )
    org.insert(
        "CampaignMember",
        [
            {
                "CampaignId": campaign_ids[lead.campaign],
                "LeadId": lead_id,
                "Status": "Responded",
                "CreatedDate": yesterday,
            }
            for lead, lead_id in zip(LEADS, lead_ids, strict=False)
            if lead.campaign
        ],
    )
