"""The UserGems package's person fields (namespace UserGems__) that both people plays
read, job-changes and people-signals: one key and one default for each, so the two
plays cannot be configured apart by accident of a copy."""

from __future__ import annotations

from revsched.play import PlayConfig
from revsched.soql import FieldName


class UserGemsFields(PlayConfig):
    """A people play's config: the UserGems fields on Lead and Contact it reads."""

    relationship_field: FieldName = "UserGems__Past_Relationship_Type__c"
    job_start_field: FieldName = "UserGems__Job_Start_Date__c"
    past_account_field: FieldName = "UserGems__Past_Account__c"
    past_title_field: FieldName = "UserGems__Past_Title__c"
    persona_field: FieldName = "UserGems__Persona__c"
