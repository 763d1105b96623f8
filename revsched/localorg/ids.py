"""Salesforce record Ids: 15 case-sensitive base-62 characters plus the 3-character
suffix that makes them unique case-insensitively (the 18-character form the API returns)."""

from __future__ import annotations

import re

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"[0-9A-Za-z]{15}")
_ID18 = re.compile(r"[0-9A-Za-z]{18}")
# The 3 characters after the key prefix: a pod-like marker so local Ids are recognisable.
_MARKER = "8L0"


def checksum(id15: str) -> str:
    """The suffix Salesforce appends: one character per 5-character chunk, a bitmask of
    which characters of the chunk are upper-case letters."""
    out = []
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        out.append(_SUFFIX[bits])
    return "".join(out)


def make_id(key_prefix: str, number: int) -> str:
    """The 18-character Id of the number-th record with this key prefix."""
    digits = []
    for _ in range(9):
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    if number:
        raise OverflowError("record number out of range")
    id15 = key_prefix + _MARKER + "".join(reversed(digits))
    return id15 + checksum(id15)


def normalize(value: str) -> str | None:
    """The 18-character form of a well-formed 15- or 18-character Id, else None."""
    if _ID18.fullmatch(value):
        return value[:15] + checksum(value[:15]) if value[15:].upper() == checksum(
            value[:15]
        ) else None
    if _ID15.fullmatch(value):
        return value + checksum(value)
    return None
