"""Salesforce record Ids: 15 case-sensitive base-62 characters plus the 3-character
suffix that makes them unique case-insensitively (the 18-character form the API returns)."""

from __future__ import annotations

import re

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_PAIRS = [a + b for a in _BASE62 for b in _BASE62]
_UPPER_BITS = str.maketrans(
    {c: "1" if "A" <= c <= "Z" else "0" for c in _BASE62}  # one bit per character
)
_ID15 = re.compile(r"[0-9A-Za-z]{15}")
_ID18 = re.compile(r"[0-9A-Za-z]{18}")
# The 3 characters after the key prefix: a pod-like marker so local Ids are recognisable.
_MARKER = "8L0"


def checksum(id15: str) -> str:
    """The suffix Salesforce appends: one character per 5-character chunk, a bitmask of
    which characters of the chunk are upper-case letters."""
    bits = id15.translate(_UPPER_BITS)
    return "".join(_SUFFIX[int(bits[start : start + 5][::-1], 2)] for start in (0, 5, 10))


def make_id(key_prefix: str, number: int) -> str:
    """The 18-character Id of the number-th record with this key prefix."""
    if not 0 <= number < 62**9:
        raise OverflowError("record number out of range")
    high, low = divmod(number, 62**4)
    id15 = (
        key_prefix
        + _MARKER
        + _BASE62[high // 62**4]
        + _PAIRS[high // 3844 % 3844]
        + _PAIRS[high % 3844]
        + _PAIRS[low // 3844]
        + _PAIRS[low % 3844]
    )
    return id15 + checksum(id15)


def normalize(value: str) -> str | None:
    """The 18-character form of a well-formed 15- or 18-character Id, else None. An
    18-character Id is case-insensitive: its suffix says which letters are upper case."""
    if _ID15.fullmatch(value):
        return value + checksum(value)
    if not _ID18.fullmatch(value):
        return None
    suffix = value[15:].upper()
    if any(ch not in _SUFFIX for ch in suffix):
        return None
    chars = []
    for chunk, ch in enumerate(suffix):
        bits = _SUFFIX.index(ch)
        for i, c in enumerate(value[chunk * 5 : chunk * 5 + 5]):
            chars.append(c.upper() if bits >> i & 1 else c.lower())
    id15 = "".join(chars)
    return id15 + suffix if checksum(id15) == suffix else None
