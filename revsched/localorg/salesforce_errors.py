"""The error Salesforce reports, raised anywhere in the local org and rendered by the
HTTP layer as Salesforce's JSON error list."""

from __future__ import annotations


class SalesforceError(Exception):
    """One Salesforce API error: HTTP status, errorCode, message and the fields involved."""

    def __init__(
        self, status: int, code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []

    def body(self) -> list[dict[str, object]]:
        """The REST error body: a JSON list, as Salesforce sends it for every error."""
        entry: dict[str, object] = {"message": self.message, "errorCode": self.code}
        if self.fields:
            entry["fields"] = self.fields
        return [entry]

    def save_error(self) -> dict[str, object]:
        """The entry in a SaveResult's `errors` list (statusCode, not errorCode)."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class RollBack(Exception):
    """Unwinds an allOrNone request (composite or collection) so its transaction rolls
    back."""


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
