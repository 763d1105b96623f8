"""The salesforce/ folder is what the plays need: the local org built from it answers
describe for every field the shipped plays' default configs name, with the types the
plays rely on, and the permission set grants exactly what the plays write."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_TODAY

from revsched.config import Settings
from revsched.localorg import LocalOrg, metadata
from revsched.play import DecideContext, Play, Requirements, config_strings, load_plays

PLAYS = load_plays(Settings())


def _requirements(play: Play[Any]) -> Requirements:
    """What doctor checks with the default config: the declared needs and the fields read."""
    settings = Settings()
    config = play.configure(settings)
    ctx = DecideContext(as_of=DEMO_TODAY, config=config, pools=settings.pools)
    return play.needs(config, play.all_queries(ctx).values())


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    """describe() of every object the plays use, from an empty local org (no demo data)."""
    sf = LocalOrg(tmp_path_factory.mktemp("org") / "org.sqlite").salesforce()
    objects = (
        *("Account", "Contact", "Lead", "Opportunity", "Task", "Event", "Revsched_Firing__c"),
        *("Campaign", "CampaignMember", "Crossbeam_Ecosystem_Overlap__c"),
        *("User", "Group", "OpportunityStage"),
    )
    return {
        name: {f["name"]: f for f in getattr(sf, name).describe()["fields"]} for name in objects
    }


def _packaged(field: str) -> bool:
    """A managed package's field (UserGems__Persona__c): the package installs it, not us."""
    return field.removesuffix("__c").count("__") == 1


def test_every_custom_field_a_default_config_names_is_in_the_metadata() -> None:
    source = metadata.read_source()
    # Custom objects (partner-overlap names Crossbeam's) and their fields.
    declared = {f for body in source.values() for f in body.get("fields", {})} | set(source)
    for name, play in PLAYS.items():
        values = (v for _, v in config_strings(play.configure(Settings())))
        named = {v for v in values if v.endswith("__c") and not _packaged(v)}
        assert named <= declared, f"{name}: {sorted(named - declared)} not in salesforce/"


def _exists(described: dict[str, dict[str, dict[str, Any]]], sobject: str, path: str) -> bool:
    """A field of the object, or a relationship path (`Account.PS_Consultant__c`) whose
    every lookup leads to an object with the next name."""
    relationship, _, rest = path.partition(".")
    if not rest:
        return path in described[sobject]
    lookups = [f for f in described[sobject].values() if f["relationshipName"] == relationship]
    return any(_exists(described, target, rest) for f in lookups for target in f["referenceTo"])


def test_the_local_org_describes_every_field_the_plays_read_write_and_create(
    described: dict[str, dict[str, dict[str, Any]]],
) -> None:
    for name, play in PLAYS.items():
        needs = _requirements(play)
        for sobject, field in (*needs.fields, *needs.writes, *needs.creates):
            assert _exists(described, sobject, field), f"{name}: {sobject}.{field}"
        for sobject, field, value in needs.values:
            picklist = described[sobject][field]
            assert value in [v["value"] for v in picklist["picklistValues"]], (name, field, value)


# The describe type each custom field has, as the plays use it (dates compared as dates,
# lookups traversed, picklists filtered on their values).
EXPECTED_TYPES = {
    ("Account", "Churn_Date__c"): "date",
    ("Account", "Owner_Assigned_Date__c"): "date",
    ("Account", "Needs_Review_Date__c"): "date",
    ("Account", "Renewal_Date__c"): "date",
    ("Account", "Win_Back_Campaign__c"): "picklist",
    ("Account", "Buying_Stage__c"): "picklist",
    ("Account", "Add_Drop_Request__c"): "picklist",
    ("Account", "Add_Drop_Approval__c"): "picklist",
    ("Account", "Account_Status__c"): "picklist",
    ("Account", "SDR__c"): "reference to User",
    ("Account", "AE__c"): "reference to User",
    ("Account", "AM__c"): "reference to User",
    ("Account", "CSM__c"): "reference to User",
    ("Account", "Solutions_Consultant__c"): "reference to User",
    ("Account", "Add_Drop_Requested_By__c"): "reference to User",
    ("Account", "Possible_Duplicate_Of__c"): "reference to Account",
    ("Account", "Health_Score__c"): "double",
    ("Contact", "Possible_Duplicate_Of__c"): "reference to Contact",
    ("Lead", "Possible_Duplicate_Of__c"): "reference to Lead",
    ("Lead", "Actively_Being_Sequenced__c"): "boolean",
    ("Lead", "Remarket_Reason__c"): "picklist",
    ("Lead", "Status_Date__c"): "date",
    ("Account", "PS_Consultant__c"): "reference to User",
    ("Account", "Partner_Tier__c"): "picklist",
    ("Opportunity", "Partner_Account__c"): "reference to Account",
    ("Opportunity", "Loss_Reason__c"): "picklist",
    ("Opportunity", "Renewal_Date__c"): "date",
    ("Opportunity", "Health_Score__c"): "double",
    ("Opportunity", "Has_Primary_Quote__c"): "boolean",
    ("Opportunity", "Churn_Risk_Notes__c"): "textarea",
    ("Opportunity", "Revsched_Key__c"): "string",
    ("Task", "Revsched_Key__c"): "string",
    ("Revsched_Firing__c", "Revsched_Key__c"): "string",
    ("Revsched_Firing__c", "Fired_On__c"): "date",
    ("Account", "ARR__c"): "currency",
    ("Account", "Account_Assigned_Reason__c"): "string",
    ("Account", "BDR_Assigned__c"): "reference to User",
    ("Account", "BDR_Prospecting_Status__c"): "picklist",
    ("Account", "Is_US_PubSec__c"): "boolean",
    ("Account", "Overage_Start_Date__c"): "date",
    ("Account", "Price_Per_User__c"): "currency",
    ("Account", "Users_In_Contract__c"): "double",
    ("Account", "Users_Routed__c"): "double",
    ("Campaign", "Is_a_Channel_Partner_Involved__c"): "picklist",
    ("Campaign", "Will_there_be_MDF_funding__c"): "picklist",
    ("Contact", "Actively_Being_Sequenced__c"): "boolean",
    ("Contact", "Champion__c"): "boolean",
    ("Contact", "Partner_Account__c"): "reference to Account",
    ("Contact", "Prospect_Share_Status__c"): "picklist",
    ("Contact", "Sequence_To_Enroll__c"): "string",
    ("Crossbeam_Ecosystem_Overlap__c", "Account__c"): "reference to Account",
    ("Crossbeam_Ecosystem_Overlap__c", "Partner_Account__c"): "reference to Account",
    ("Crossbeam_Ecosystem_Overlap__c", "Partner_Name__c"): "string",
    ("Crossbeam_Ecosystem_Overlap__c", "Partner_Population__c"): "picklist",
    ("Lead", "Do_Not_Route__c"): "boolean",
    ("Lead", "Last_Interesting_Moment__c"): "string",
    ("Lead", "Last_Routed_Date__c"): "datetime",
    ("Lead", "MQL_Date__c"): "datetime",
    ("Lead", "Matched_Account__c"): "reference to Account",
    ("Lead", "Partner_Account__c"): "reference to Account",
    ("Lead", "Partner_Prospect_Status__c"): "picklist",
    ("Lead", "Person_Score__c"): "double",
    ("Lead", "Prospect_Share_Status__c"): "picklist",
    ("Lead", "Routing_Reason__c"): "string",
    ("Lead", "Sequence_To_Enroll__c"): "string",
}


def test_every_custom_field_a_play_uses_has_its_expected_type_here() -> None:
    """A new play's fields get their type pinned above, not just their names."""
    used = set()
    for play in PLAYS.values():
        needs = _requirements(play)
        for sobject, path in (*needs.fields, *needs.writes, *needs.creates):
            field = path.split(".")[0].replace("__r", "__c")
            if field.endswith("__c") and not _packaged(field):
                used.add((sobject, field))
    assert used - set(EXPECTED_TYPES) == set()


@pytest.mark.parametrize(("sobject", "field"), sorted(EXPECTED_TYPES))
def test_custom_fields_have_the_types_the_plays_expect(
    described: dict[str, dict[str, dict[str, Any]]], sobject: str, field: str
) -> None:
    found = described[sobject][field]
    kind, _, target = EXPECTED_TYPES[sobject, field].partition(" to ")
    assert found["type"] == kind
    if kind == "reference":
        assert (found["referenceTo"], found["relationshipName"]) == ([target], field[:-3] + "__r")


def test_keys_are_unique_external_ids(described: dict[str, dict[str, dict[str, Any]]]) -> None:
    for sobject in ("Opportunity", "Task", "Event", "Revsched_Firing__c"):
        key = described[sobject]["Revsched_Key__c"]
        assert (key["externalId"], key["unique"], key["idLookup"]) == (True, True, True), sobject


def test_picklist_values_come_from_the_metadata(
    described: dict[str, dict[str, dict[str, Any]]],
) -> None:
    values = [v["value"] for v in described["Account"]["Add_Drop_Approval__c"]["picklistValues"]]
    assert values == ["Pending", "Approved", "Rejected"]


def _written(needs: Requirements) -> set[str]:
    return {f"{sobject}.{field}" for sobject, field in (*needs.writes, *needs.creates)}


def test_the_permission_set_grants_exactly_what_the_plays_write() -> None:
    grants = metadata.permission_set()
    editable = {f for f, rights in grants["fields"].items() if "edit" in rights}
    written_custom: set[str] = set()
    for name, play in PLAYS.items():
        needs = _requirements(play)
        # Created records are upserted on the key field: it is written too.
        keys = {f"{sobject}.Revsched_Key__c" for sobject, _ in needs.creates}
        custom = {f for f in _written(needs) if f.endswith("__c")} | keys
        assert custom <= editable, f"{name} writes {sorted(custom - editable)}: not editable"
        written_custom |= custom
        for sobject in {s for s, _ in needs.writes}:
            assert "edit" in grants["objects"][sobject], f"{name} updates {sobject}"
        for sobject in needs.merges:
            # Salesforce's merge() deletes the merged records: it needs Delete.
            assert "delete" in grants["objects"][sobject], f"{name} merges {sobject}"
        for sobject in {s for s, _ in needs.creates}:
            if sobject == "Task":  # activities are granted by a user permission
                assert "EditTask" in grants["user"], f"{name} creates Tasks"
            else:  # an upsert creates or updates
                assert {"create", "edit"} <= grants["objects"][sobject], f"{name} creates {sobject}"
        if needs.converts_leads:
            # convertLead: "Edit" on leads, "Create" and "Edit" on Account, Contact and
            # Opportunity (SOAP API Developer Guide, convertLead()), and Convert Leads.
            for sobject in ("Account", "Contact", "Opportunity"):
                assert {"create", "edit"} <= grants["objects"][sobject], f"{name}: {sobject}"
            assert "edit" in grants["objects"]["Lead"] and "ConvertLeads" in grants["user"]
    # Task and Event share their custom fields' security: Event's entry is Task's mirror.
    memory_and_mirror = {f for f in editable if f.startswith(("Revsched_Firing__c.", "Event."))}
    assert editable - memory_and_mirror == written_custom, "edit granted on fields no play writes"
    # Delete: `revsched revert` forgets the firings of what it reverts.
    assert grants["objects"]["Revsched_Firing__c"] == {"read", "create", "edit", "delete"}
    assert "ApiEnabled" in grants["user"]


def test_the_integration_user_sees_every_record_of_what_the_plays_read() -> None:
    """A play judges the whole org (an account nobody works, the next rep in a rotation):
    under a Private sharing model, without View All it would see only its own records."""
    grants = metadata.permission_set()["objects"]
    for name, play in PLAYS.items():
        for sobject in {s for s, _ in _requirements(play).fields} & set(grants):
            assert "view all" in grants[sobject], f"{name} reads {sobject}"


def _deployed() -> dict[str, Any]:
    """The objects and fields `sf project deploy start --source-dir salesforce` deploys:
    the source, less what .forceignore keeps out (an object a package installs)."""
    root = Path(__file__).parent.parent
    patterns = [
        line.strip()
        for line in (root / ".forceignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: Path) -> bool:
        relative = path.relative_to(root).as_posix()
        return any(fnmatch(relative, p) or relative.startswith(f"{p}/") for p in patterns)

    kept = {f.name for f in metadata.source_dir().glob("objects/*") if not ignored(f)}
    if "Activity" in kept:  # Task's and Event's custom fields
        kept |= {"Task", "Event"}
    return {name: body for name, body in metadata.read_source().items() if name in kept}


def test_the_permission_set_names_only_what_the_folder_deploys() -> None:
    """A grant on an object or field the deployment does not create fails the deployment
    (an org without Crossbeam's package has no overlap object)."""
    grants = metadata.permission_set()
    deployed = _deployed()
    for sobject in grants["objects"]:
        assert not sobject.endswith("__c") or sobject in deployed, sobject
    for name in grants["fields"]:
        sobject, field = name.split(".")
        assert field in deployed[sobject]["fields"], name


def test_the_permission_set_lets_the_integration_user_read_every_deployed_field() -> None:
    grants = metadata.permission_set()
    for sobject, body in _deployed().items():
        for field in body["fields"]:
            assert "read" in grants["fields"][f"{sobject}.{field}"], f"{sobject}.{field}"


def test_activity_fields_are_granted_alike_on_task_and_event() -> None:
    """Task and Event share field-level security, and a deployment treats a missing entry
    as no access: granting Task alone may take the field away from both."""
    grants = metadata.permission_set()["fields"]
    for field in metadata.read_source()["Task"]["fields"]:
        assert grants[f"Task.{field}"] == grants[f"Event.{field}"], field


def _xml_texts(pattern: str, tag: str) -> list[tuple[str, str]]:
    found = []
    for path in metadata.source_dir().glob(pattern):
        element = ET.parse(path).getroot().find(f"md:{tag}", metadata.NS)
        if element is not None and element.text:
            found.append((path.name, element.text))
    return found


def test_the_metadata_keeps_within_the_metadata_apis_limits() -> None:
    """What the Metadata API refuses at deploy time: a permission set description over 255
    characters, a label over 40, a field description over 1,000, an API name over 40."""
    for name, text in _xml_texts("permissionsets/*.xml", "description"):
        assert len(text) <= 255, name
    for name, text in _xml_texts("objects/**/*.xml", "label"):
        assert len(text) <= 40, (name, text)
    for name, text in _xml_texts("objects/**/*.xml", "description"):
        assert len(text) <= 1000, name
    for name, text in _xml_texts("objects/*/fields/*.xml", "fullName"):
        assert len(text.removesuffix("__c")) <= 40, name


@pytest.mark.parametrize("name", sorted(PLAYS))
def test_a_play_writes_only_what_it_declares(
    demo_org: Path, run_json: Callable[..., dict[str, Any]], name: str
) -> None:
    """What a dry run on the demo org plans is covered by the play's requirements, so
    doctor and the permission set check what a run really does."""
    plan = run_json(name, "--dry-run", "--as-of", DEMO_TODAY.isoformat())["plan"]
    needs = _requirements(PLAYS[name])
    assert {(c["sobject"], c["field"]) for c in plan["changes"]} <= set(needs.writes)
    created = {(c["sobject"], f) for c in plan["creates"] for f in c["fields"]}
    assert created <= set(needs.creates)
    assert {m["sobject"] for m in plan["merges"]} <= set(needs.merges)


def test_the_sfdx_project_deploys_the_folder() -> None:
    """`sf project deploy start --source-dir salesforce` runs from the repository root."""
    root = Path(__file__).parent.parent
    project = json.loads((root / "sfdx-project.json").read_text())
    assert project["packageDirectories"][0]["path"] == "salesforce"
    assert metadata.source_dir().resolve() == (root / "salesforce").resolve()
