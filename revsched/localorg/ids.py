"""Salesforce record Ids: 15 case-sensitive base-62 characters plus the 3-character
suffix that makes them unique case-insensitively (the 18-character form the API returns)."""

from __future__ import annotations

import re
from functools import lru_cache

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


# Upper-case bits of each character and of each pair of characters (first = low bit), so
# make_id computes the checksum arithmetically: it runs once per loaded record.
_UPPER = [int("A" <= c <= "Z") for c in _BASE62]
_PAIR_BITS = [a | b << 1 for a in _UPPER for b in _UPPER]


@lru_cache(maxsize=256)
def _head_suffix(key_prefix: str) -> str:
    return checksum(key_prefix + _MARKER + "0" * 10)[0]


def make_id(key_prefix: str, number: int) -> str:
    """The 18-character Id of the number-th record with this key prefix."""
    if not 0 <= number < 62**9:
        raise OverflowError("record number out of range")
    high, low = divmod(number, 62**4)
    top, a, b = high // 62**4, high // 3844 % 3844, high % 3844
    c, d = divmod(low, 3844)
    id15 = key_prefix + _MARKER + _BASE62[top] + _PAIRS[a] + _PAIRS[b] + _PAIRS[c] + _PAIRS[d]
    # Chunks: [0:5] prefix + marker[:2]; [5:10] marker[2], top, a, b[0]; [10:15] b[1], c, d.
    second = _UPPER[_BASE62.index(_MARKER[2])] | _UPPER[top] << 1 | _PAIR_BITS[a] << 2
    second |= (_PAIR_BITS[b] & 1) << 4
    third = _PAIR_BITS[b] >> 1 | _PAIR_BITS[c] << 1 | _PAIR_BITS[d] << 3
    return id15 + _head_suffix(key_prefix) + _SUFFIX[second] + _SUFFIX[third]


@lru_cache(maxsize=65536)
def normalize(value: str) -> str | None:
    """The 18-character form of a well-formed 15- or 18-character Id, else None. An
    18-character Id is case-insensitive: its suffix says which letters are upper case."""
    if len(value) == 18 and _ID18.fullmatch(value) and checksum(value[:15]) == value[15:]:
        return value  # already canonical: the common case
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
