"""A new patient's row as its registration makes it, and a visit's row: pure functions
of an event's fields, with no Django. The registration projection makes every such row
with them, and a restore makes them with them beside the ingest, in the process that
opens the backup (``projection.beside_bulk``); a row is the same either way, because the
function is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from nirantar.registration import events


@dataclass(frozen=True)
class PatientLayout:
    """What the patient table is: the fields a registration sets, the table's columns in
    order, and a new row's values before any event (``field_stamps`` aside)."""

    fields: tuple[str, ...]
    columns: tuple[str, ...]
    defaults: dict[str, Any]


# A patient's ``field_stamps``: for each field, the stamp ([wall, counter, origin]) of the
# event that set its value, and under "_registered" the registration that counts. When
# every field has been set, "*" stands for the registration's stamp and only the fields
# set since (a correction) are listed: nearly every patient is registered once and never
# corrected, and 16 copies of one stamp were three quarters of the patient table (630 of
# 860 bytes a row at 500,000 patients).
EVERY = "*"
REGISTERED = "_registered"


def compact_stamps(stamps: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """``stamps`` (one per field, none under "*") as the table keeps them: with "*" for
    the registration's stamp if every field has one, else as they are. A function of the
    stamps alone, so a patient projected whole and one projected field by field are kept
    alike."""
    base = stamps.get(REGISTERED)
    if base is None or not all(f in stamps for f in fields):
        return stamps
    kept = tuple(base)
    compact = {EVERY: base}
    for field, stamp in stamps.items():
        if field != REGISTERED and tuple(stamp) != kept:
            compact[field] = stamp
    return compact


def expanded_stamps(stamps: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """A patient's stamps as the table keeps them, one per field again (a new dict)."""
    base = stamps.get(EVERY)
    if base is None:
        return dict(stamps)
    expanded = dict.fromkeys(fields, base)
    expanded[REGISTERED] = base
    expanded.update(stamps)
    del expanded[EVERY]
    return expanded


def stamp_of_field(stamps: dict[str, Any], field: str) -> Any:
    """The stamp of the event that set ``field``, in stamps as the table keeps them."""
    found = stamps.get(field)
    return stamps.get(EVERY) if found is None else found


def field_values(body: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The patient fields a registration's (or a correction's) body sets."""
    values = {k: body[k] for k in fields if k in body}
    address = body.get("address")
    if isinstance(address, dict):
        values.update(
            address_line=address.get("line", ""),
            district=address.get("district", ""),
            state=address.get("state", ""),
            pin=address.get("pin", ""),
        )
    return values


def stored_values(values: dict[str, Any]) -> dict[str, Any]:
    """Field values as the table holds them: no None, a date of birth as a date."""
    stored = {field: "" if value is None else value for field, value in values.items()}
    if "date_of_birth" in values:
        dob = values["date_of_birth"]
        stored["date_of_birth"] = date.fromisoformat(dob) if dob else dob
    return stored


def search_text(name_en: str, name_hi: str, guardian_name: str) -> str:
    parts = (name_en, name_hi, guardian_name)
    return " | ".join(p.lower() for p in parts if p)[:400]


def table_row(layout: PatientLayout, values: dict[str, Any]) -> list[Any]:
    """A patient's values in the order of the table's columns (a date as its ISO text)."""
    row = [values[c] for c in layout.columns]
    i = layout.columns.index("date_of_birth")
    if isinstance(row[i], date):
        row[i] = row[i].isoformat()
    return row


def first_registration(
    layout: PatientLayout,
    body: dict[str, Any],
    stamp: list[Any],
    actor: str,
) -> tuple[int, int, list[Any]]:
    """(minting node's number, seq, row) of a patient whose only event is this
    registration; ``stamp`` is the event's [wall, counter, origin]. Raises as the
    projection's checks do (KeyError, TypeError, ValueError, InvalidNumber)."""
    uhid = body["uhid"]
    node_number, seq = events.UHID.parse(uhid)
    stored = stored_values(field_values(body, layout.fields))
    if len(stored) == len(layout.fields):  # every field (``field_values`` sets no other)
        stamps = {EVERY: stamp}
    else:
        stamps = dict.fromkeys(stored, stamp)
        stamps[REGISTERED] = stamp
    values = {**layout.defaults, "uhid": uhid, **stored}
    values.update(
        field_stamps=stamps,
        is_registered=True,
        registered_at_ms=stamp[0],
        registered_by=actor,
        registered_node=stamp[2],
    )
    values["search_text"] = search_text(
        values["name_en"], values["name_hi"], values["guardian_name"]
    )
    return node_number, seq, table_row(layout, values)


def first_registration_of(layout: PatientLayout, data: dict[str, Any]) -> Any:
    """``first_registration`` of a registration as its line gives it: a restore's hint
    (the projection checks the event's stream before it takes one)."""
    wall, counter = data["hlc"]
    return first_registration(layout, data["body"], [wall, counter, data["origin"]], data["actor"])


def visit(
    body: dict[str, Any], wall: int, actor: str, origin: str
) -> tuple[int, int, tuple[Any, ...], str]:
    """(minting node's number, seq, row in the visit table's ``VISIT_COLUMNS`` order, the
    scope its token was counted in) of a visit's registration. Raises as the
    projection's checks do."""
    node_number, seq = events.VISIT.parse(body["visit"])
    return (
        node_number,
        seq,
        (
            body["visit"],
            body["uhid"],
            body["department"],
            body["room"]["en"],
            body["room"]["hi"],
            body["token"],
            body["token_no"],
            body["counter"],
            date.fromisoformat(body["date"]).isoformat(),
            wall,
            actor,
            origin,
        ),
        f"{body['counter']}:{body['department']}:{body['date']}",
    )


def visit_of(data: dict[str, Any]) -> Any:
    """``visit`` of a visit's registration as its line gives it: a restore's hint."""
    return visit(data["body"], data["hlc"][0], data["actor"], data["origin"])
