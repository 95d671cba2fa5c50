"""Salesforce record ids: the 15-character form, the 18-character form, and one canonical form."""

from __future__ import annotations

import re

ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def to18(sf_id: str) -> str:
    """The 18-character, case-insensitive form of a Salesforce id.

    A 15-character id is case-sensitive. Salesforce appends three characters, one per
    5-character chunk, that record which characters of the chunk are upper-case
    letters: bit i is set when character i of the chunk is in A-Z, and the 5-bit
    number indexes "A-Z0-5". So '001A0000006Vm9r' becomes '001A0000006Vm9rIAC'.
    An 18-character id is returned unchanged; anything other than 15 or 18 ASCII
    letters and digits raises ValueError. Compare 18-character ids case-insensitively.
    """
    if not ID.fullmatch(sf_id):
        raise ValueError(f"not a Salesforce id: {sf_id!r}")
    if len(sf_id) == 18:
        return sf_id
    suffix = ""
    for start in (0, 5, 10):
        chunk = sf_id[start : start + 5]
        suffix += _SUFFIX[sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")]
    return sf_id + suffix


def canonical(sf_id: str) -> str:
    """The one 18-character spelling of an id, whatever its length or letter case.

    An 18-character id may arrive in any case (it is meant to survive case-insensitive
    tools), so its first 15 characters are re-cased from the suffix before the suffix is
    computed again: '005r0000000kg8yiac' and '005R0000000Kg8y' both give
    '005R0000000Kg8yIAC'. Raises ValueError for what is not an id.
    """
    if len(sf_id) == 18 and ID.fullmatch(sf_id):
        chars = list(sf_id[:15].lower())
        for n, code in enumerate(sf_id[15:].upper()):
            bits = _SUFFIX.index(code)
            for i in range(5):
                if bits & (1 << i):
                    chars[n * 5 + i] = chars[n * 5 + i].upper()
        sf_id = "".join(chars)
    return to18(sf_id)


def canonical_or_raw(sf_id: str) -> str:
    """`canonical`, or the value unchanged when it is not an id (the caller reports that)."""
    try:
        return canonical(sf_id)
    except ValueError:
        return sf_id
