"""revsched: RevOps plays against Salesforce."""

__version__ = "0.1.0"
