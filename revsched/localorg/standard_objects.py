"""The objects every local org starts with: Salesforce's standard objects with the fields
revsched's plays use, their picklist values, and `SHIPPED`, those objects with the custom
objects and fields the repository's salesforce/ folder declares (read by
`revsched.localorg.metadata`): adding an object or a field here makes it queryable and
writable in every org."""

from __future__ import annotations

from revsched.localorg import metadata
from revsched.localorg.schema import (
    BOOLEAN,
    CURRENCY,
    DATE,
    DATETIME,
    DOUBLE,
    EMAIL,
    INT,
    PERCENT,
    PHONE,
    STRING,
    TEXTAREA,
    URL,
    ChildRelationship,
    Field,
    Schema,
    SObject,
    audit_fields,
    field_map,
    picklist,
    reference,
)

LEAD_SOURCES = (
    "Web",
    "Event",
    "Partner",
    "Outbound",
    "UserGems",
    # UserGems' new-hire and promotion signals (people-signals).
    "UserGems - New Hire",
    "UserGems - Promotion",
)

# UserGems' past relationship types (seed 000's four, and others UserGems reports).
PAST_RELATIONSHIPS = (
    "Past Champion",
    "Closed Won Opp Contact",
    "Open Opp Contact",
    "Closed Lost Opp Contact",
    "Past User",
)


def _usergems_fields() -> tuple[Field, ...]:
    """What the UserGems managed package adds to Leads and Contacts (the org installs the
    package; revsched's salesforce/ metadata does not deploy them)."""
    return (
        Field("UserGems__Created_By_UG__c", BOOLEAN, nillable=False, default=False),
        picklist("UserGems__Past_Relationship_Type__c", *PAST_RELATIONSHIPS),
        Field("UserGems__Job_Start_Date__c", DATE),
        Field("UserGems__Past_Account__c", STRING, 255),
        Field("UserGems__Past_Account_Type__c", STRING, 255),
        Field("UserGems__Past_Title__c", STRING, 255),
        Field("UserGems__Persona__c", STRING, 255),
    )


def _standard(name: str, key_prefix: str, *fields: Field) -> SObject:
    """A standard object: the fields every object has (`audit_fields`), then its own."""
    return SObject(name, key_prefix, field_map(*audit_fields(), *fields))


LEAD_STATUSES = (
    "Open",
    "Working",
    "Nurture",
    "Remarket",
    "Recycle",
    "Bad Data",
    "Ineligible",
    "Inquiry",
    "Disqualified",
    "Qualified",
)

# Seed 001's statuses of a lead Sales Dev works (route-leads leaves those alone).
SALES_DEV_STATUSES = ("Accepted", "Qualifying")

# Seed 003's PLG + SLG statuses (Remarket and Nurture are in LEAD_STATUSES already).
PLG_SLG_STATUSES = ("Open PLG", "Open SLG", "Working P", "Working S")

OPPORTUNITY_STAGES: tuple[tuple[str, int, bool, bool], ...] = (
    # (name, default probability, is closed, is won) in sort order
    ("Prospecting", 10, False, False),
    ("Qualification", 20, False, False),
    ("Needs Analysis", 30, False, False),
    ("Proposal", 50, False, False),
    ("Negotiation", 75, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
)

STANDARD_OBJECTS: dict[str, SObject] = {
    s.name: s
    for s in (
        _standard(
            "UserRole",
            "00E",
            Field("Name", STRING, 80, nillable=False),
            Field("DeveloperName", STRING, 80, nillable=False),
        ),
        _standard(
            "User",
            "005",
            Field("Username", STRING, 80, nillable=False, unique=True),
            Field("FirstName", STRING, 40),
            Field("LastName", STRING, 80, nillable=False),
            Field("Name", STRING, 121, writable=False),
            Field("Email", EMAIL, 128, nillable=False),
            Field("Title", STRING, 80),
            Field("Department", STRING, 80),
            Field("IsActive", BOOLEAN, nillable=False, default=True),
            Field("TimeZoneSidKey", STRING, 40, default="America/Los_Angeles"),
            reference("UserRoleId", "UserRole"),
            reference("ProfileId", "Profile"),
            reference("ManagerId", "User"),
        ),
        _standard(
            "Profile",
            "00e",
            Field("Name", STRING, 255, nillable=False),
        ),
        _standard(
            "Group",
            "00G",
            Field("Name", STRING, 40, nillable=False),
            Field("DeveloperName", STRING, 80, nillable=False, unique=True),
            picklist("Type", "Queue", "Regular", nillable=False),
        ),
        # The running user's effective system permissions: one row, read-only.
        _standard(
            "UserPermissionAccess",
            "0UP",
            Field("PermissionsConvertLeads", BOOLEAN, writable=False, default=True),
            Field("PermissionsApiEnabled", BOOLEAN, writable=False, default=True),
        ),
        _standard(
            "Account",
            "001",
            reference("MasterRecordId", "Account", writable=False),
            Field("Name", STRING, 255, nillable=False),
            picklist("Type", "Prospect", "Customer", "Former Customer", "Partner"),
            reference("OwnerId", "User", "Owner", nillable=False),
            reference("ParentId", "Account", "Parent"),
            Field("Website", URL, 255),
            Field("Phone", PHONE, 40),
            picklist("Industry", "Software", "Manufacturing", "Healthcare", "Finance", "Retail"),
            Field("NumberOfEmployees", INT),
            Field("AnnualRevenue", CURRENCY),
            Field("BillingCity", STRING, 40),
            Field("BillingState", STRING, 80),
            Field("BillingCountry", STRING, 80),
            Field("LastActivityDate", DATE, writable=False),
        ),
        _standard(
            "Contact",
            "003",
            reference("MasterRecordId", "Contact", writable=False),
            reference("AccountId", "Account"),
            Field("FirstName", STRING, 40),
            Field("LastName", STRING, 80, nillable=False),
            Field("Name", STRING, 121, writable=False),
            Field("Title", STRING, 128),
            Field("Email", EMAIL, 80),
            Field("Phone", PHONE, 40),
            Field("MobilePhone", PHONE, 40),
            reference("OwnerId", "User", "Owner", nillable=False),
            picklist("LeadSource", *LEAD_SOURCES),
            Field("MailingCountry", STRING, 80),
            Field("LastActivityDate", DATE, writable=False),
            Field("HasOptedOutOfEmail", BOOLEAN, nillable=False, default=False),
            *_usergems_fields(),
            Field("UserGems__No_Longer_at_Company__c", DATE),
        ),
        _standard(
            "Lead",
            "00Q",
            Field("FirstName", STRING, 40),
            Field("LastName", STRING, 80, nillable=False),
            Field("Name", STRING, 121, writable=False),
            reference("MasterRecordId", "Lead", writable=False),
            Field("Company", STRING, 255, nillable=False),
            Field("Title", STRING, 128),
            Field("Email", EMAIL, 80),
            Field("Phone", PHONE, 40),
            Field("Website", URL, 255),
            Field("Country", STRING, 80),
            Field("State", STRING, 80),
            picklist(
                "Status",
                *LEAD_STATUSES,
                *PLG_SLG_STATUSES,
                *SALES_DEV_STATUSES,
                nillable=False,
                default="Open",
            ),
            picklist("LeadSource", *LEAD_SOURCES),
            reference("OwnerId", ("User", "Group"), "Owner", nillable=False),
            Field("IsConverted", BOOLEAN, nillable=False, default=False),
            Field("LastActivityDate", DATE, writable=False),
            Field("HasOptedOutOfEmail", BOOLEAN, nillable=False, default=False),
            # Set by convertLead(), never by a write.
            reference("ConvertedAccountId", "Account", writable=False),
            reference("ConvertedContactId", "Contact", writable=False),
            reference("ConvertedOpportunityId", "Opportunity", writable=False),
            Field("ConvertedDate", DATE, writable=False),
            reference("CreatedById", "User", "CreatedBy", writable=False),
            *_usergems_fields(),
        ),
        _standard(
            "Campaign",
            "701",
            Field("Name", STRING, 80, nillable=False),
            picklist("Type", "Conference", "Webinar", "Partners", "Email", "Other"),
            Field("IsActive", BOOLEAN, nillable=False, default=True),
            reference("OwnerId", "User", "Owner", nillable=False),
        ),
        _standard(
            "CampaignMember",
            "00v",
            reference("CampaignId", "Campaign", nillable=False),
            reference("LeadId", "Lead"),
            reference("ContactId", "Contact"),
            picklist("Status", "Sent", "Responded", "Registered", "Attended"),
        ),
        _standard(
            "OpportunityStage",
            "01J",
            Field("MasterLabel", STRING, 255, nillable=False),
            Field("ApiName", STRING, 255, nillable=False),
            Field("SortOrder", INT),
            Field("DefaultProbability", PERCENT),
            Field("IsActive", BOOLEAN, nillable=False, default=True),
            Field("IsClosed", BOOLEAN, nillable=False, default=False),
            Field("IsWon", BOOLEAN, nillable=False, default=False),
        ),
        _standard(
            "Opportunity",
            "006",
            reference("AccountId", "Account"),
            Field("Name", STRING, 120, nillable=False),
            picklist("StageName", *(s[0] for s in OPPORTUNITY_STAGES), nillable=False),
            Field("CloseDate", DATE, nillable=False),
            Field("Amount", CURRENCY),
            Field("Probability", PERCENT),
            picklist("Type", "New Business", "Renewal", "Upsell", "Overage"),
            # Derived from StageName through OpportunityStage.
            Field("IsClosed", BOOLEAN, nillable=False, writable=False, default=False),
            Field("IsWon", BOOLEAN, nillable=False, writable=False, default=False),
            reference("OwnerId", "User", "Owner", nillable=False),
        ),
        _standard(
            "Product2",
            "01t",
            Field("Name", STRING, 255, nillable=False),
            Field("ProductCode", STRING, 255),
            picklist("Family", "Platform", "Add-on", "Services"),
            Field("IsActive", BOOLEAN, nillable=False, default=True),
        ),
        _standard(
            "OpportunityLineItem",
            "00k",
            reference("OpportunityId", "Opportunity", nillable=False),
            reference("Product2Id", "Product2"),
            Field("Quantity", DOUBLE, nillable=False, default=1),
            Field("UnitPrice", CURRENCY),
            Field("TotalPrice", CURRENCY),
        ),
        _standard(
            "OpportunityContactRole",
            "00K",
            reference("OpportunityId", "Opportunity", nillable=False),
            reference("ContactId", "Contact", nillable=False),
            picklist(
                "Role",
                "Decision Maker",
                "Economic Buyer",
                "Technical Buyer",
                "Champion",
                "Influencer",
                "Other",
            ),
            Field("IsPrimary", BOOLEAN, nillable=False, default=False),
        ),
        _standard(
            "Task",
            "00T",
            Field("Subject", STRING, 255),
            picklist(
                "Status",
                "Not Started",
                "In Progress",
                "Completed",
                nillable=False,
                default="Not Started",
            ),
            picklist("Priority", "High", "Normal", "Low", default="Normal"),
            Field("ActivityDate", DATE),
            # Derived from Status (Completed = closed).
            Field("IsClosed", BOOLEAN, nillable=False, writable=False, default=False),
            reference("WhatId", ("Account", "Opportunity"), "What"),
            reference("WhoId", ("Contact", "Lead"), "Who"),
            # Derived from WhatId / WhoId, as Salesforce does.
            reference("AccountId", "Account", writable=False),
            reference("OwnerId", "User", "Owner", nillable=False),
            picklist("Type", "Call", "Email", "Meeting", "Other"),
            Field("Description", TEXTAREA, 32000),
        ),
        _standard(
            "Event",
            "00U",
            Field("Subject", STRING, 255),
            Field("ActivityDate", DATE),
            Field("StartDateTime", DATETIME),
            Field("EndDateTime", DATETIME),
            Field("DurationInMinutes", INT),
            reference("WhatId", ("Account", "Opportunity"), "What"),
            reference("WhoId", ("Contact", "Lead"), "Who"),
            reference("AccountId", "Account", writable=False),
            reference("OwnerId", "User", "Owner", nillable=False),
            Field("Description", TEXTAREA, 32000),
        ),
    )
}


def _activities(lookup: str) -> tuple[ChildRelationship, ...]:
    """A parent's Tasks and Events, linked by their WhatId (accounts, opportunities) or
    WhoId (contacts, leads)."""
    return (
        ChildRelationship("Tasks", "Task", lookup),
        ChildRelationship("Events", "Event", lookup),
    )


# Child relationship names as Salesforce defines them for the standard objects
# (parent object -> relationship name -> child object and its lookup field).
STANDARD_CHILDREN: dict[str, tuple[ChildRelationship, ...]] = {
    "Account": (
        ChildRelationship("Contacts", "Contact", "AccountId"),
        ChildRelationship("Opportunities", "Opportunity", "AccountId"),
        ChildRelationship("ChildAccounts", "Account", "ParentId"),
        *_activities("WhatId"),
    ),
    "Opportunity": (
        ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "OpportunityId"),
        ChildRelationship("OpportunityLineItems", "OpportunityLineItem", "OpportunityId"),
        *_activities("WhatId"),
    ),
    "Contact": (
        ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "ContactId"),
        *_activities("WhoId"),
    ),
    "Lead": (
        *_activities("WhoId"),
        ChildRelationship("CampaignMembers", "CampaignMember", "LeadId"),
    ),
    "Campaign": (ChildRelationship("CampaignMembers", "CampaignMember", "CampaignId"),),
    "User": (ChildRelationship("ManagedUsers", "User", "ManagerId"),),
}


# The schema every org starts from: the standard objects, and the custom objects and
# fields of the shipped plays (the repository's salesforce/ folder, the metadata an admin
# deploys, is their one source of truth).
SHIPPED = Schema(STANDARD_OBJECTS, STANDARD_CHILDREN)
SHIPPED.extend(metadata.read_source())
SOBJECTS = SHIPPED.sobjects

# The demo org's loss reasons: every value the metadata declares.
LOSS_REASONS = SOBJECTS["Opportunity"].fields["Loss_Reason__c"].picklist_values
