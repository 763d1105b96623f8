"""Names revsched writes: Salesforce cuts nothing for us, so a suffix must survive the limit."""

from __future__ import annotations

# Salesforce's limit on Opportunity.Name.
OPPORTUNITY_NAME_LENGTH = 120


def with_suffix(name: str, suffix: str, limit: int = OPPORTUNITY_NAME_LENGTH) -> str:
    """`name` + `suffix`, the name cut so the whole fits `limit` and the suffix is kept."""
    return name[: limit - len(suffix)].rstrip() + suffix
