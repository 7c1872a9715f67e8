"""What Condition, MedicationRequest and vital-sign Observation share: clinical entries.

An OPD or ward entry's id is ``ORIGIN:SEQ`` of its event (the node that recorded it and
the event's number there): unique in the hospital and the same on every node. A FHIR id
allows only ``[A-Za-z0-9-.]{1,64}``, so a resource built from an entry is named by a
prefix and the entry's id with a dot for the colon, e.g. ``opd-node-a.30``.

An entry corrected by a later one or struck out is no longer what the record says: a
search leaves it out, and a read of its id answers with the resource marked
``entered-in-error`` (a client holding the id learns what became of it).
"""

from __future__ import annotations

import re
from typing import Any

from nirantar import timeutil
from nirantar.accounts import queries as accounts

ENTRY_SYSTEM = "urn:nirantar:clinical-entry"
# A node's name (as lab ids take it), a dot, the event's number; at most 53 characters.
ENTRY = r"([a-z][a-z0-9-]{0,39}\.[0-9]{1,12})"


def key(entry_id: str) -> str:
    """``node-a:30`` -> ``node-a.30``."""
    return entry_id.replace(":", ".")


def parse(pattern: re.Pattern[str], text: str) -> tuple[str, ...] | None:
    """The entry id (colon restored) and any further groups, if ``text`` matches."""
    match = pattern.match(text)
    if not match:
        return None
    return (match[1].replace(".", ":"), *match.groups()[1:])


def iso(ms: int) -> str:
    return timeutil.from_ms(ms).isoformat()


def names(usernames: set[str]) -> dict[str, str]:
    """username -> the full name to show as a recorder or requester."""
    return {u: full for u, (full, _) in accounts.staff_names(usernames - {""}).items()}


def person(username: str, known: dict[str, str]) -> dict[str, str]:
    return {"display": known.get(username) or username}


def identifier(entry_id: str) -> list[dict[str, Any]]:
    return [{"system": ENTRY_SYSTEM, "value": entry_id}]
