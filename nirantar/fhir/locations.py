"""Wards and beds as FHIR R4 Locations.

A ward's id is its code (``MW1``), a bed's its code (``MW1-07``: the ward's code, a dash,
its own part), so the two never clash. A Location names no patient: a bed's occupants and
the UHID a bed is reserved for are left out, and only its state is given.
"""

from __future__ import annotations

from typing import Any

from nirantar.fhir.validation import Invalid, issue
from nirantar.wards.models import Bed, Ward
from nirantar.wards.projections import WARD_CODE, ward_of_bed

PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"
# The bed board's states, as v2-0116 bed status.
OPERATIONAL = {
    "occupied": ("O", "Occupied"),
    "vacant": ("U", "Unoccupied"),
    "reserved": ("U", "Unoccupied"),
    "cleaning": ("H", "Housekeeping"),
    "out_of_service": ("C", "Closed"),
}
TYPES = {"ward": "wa", "wa": "wa", "bed": "bd", "bd": "bd"}


def _physical(code: str) -> dict[str, Any]:
    display = {"wa": "Ward", "bd": "Bed"}[code]
    return {"coding": [{"system": PHYSICAL_TYPE, "code": code, "display": display}]}


def ward_location(ward: Ward) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": ward.code,
        "identifier": [{"system": "urn:nirantar:ward", "value": ward.code}],
        "status": "active",
        "name": ward.name_en or ward.code,
        "mode": "instance",
        "physicalType": _physical("wa"),
    }
    if ward.name_hi:
        resource["alias"] = [ward.name_hi]
    if ward.kind:
        resource["description"] = f"{ward.kind} ward" + (
            f", {ward.sex} only" if ward.sex in ("M", "F") else ""
        )
    return resource


def bed_status(bed: Bed) -> str:
    """active; suspended while out of service; inactive once no longer in the ward's layout
    (and empty)."""
    if not bed.listed and bed.state != "occupied":
        return "inactive"
    return "active" if bed.in_service or bed.state == "occupied" else "suspended"


def bed_location(bed: Bed) -> dict[str, Any]:
    code, display = OPERATIONAL.get(bed.state, ("U", "Unoccupied"))
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": bed.bed,
        "identifier": [{"system": "urn:nirantar:bed", "value": bed.bed}],
        "status": bed_status(bed),
        "operationalStatus": {"system": BED_STATUS, "code": code, "display": display},
        "name": bed.bed,
        "mode": "instance",
        "physicalType": _physical("bd"),
        "partOf": {"reference": f"Location/{bed.ward}"},
    }
    if bed.room:
        resource["description"] = bed.room
    return resource


def _bed_code(text: str) -> bool:
    try:
        ward_of_bed(text)
    except ValueError:
        return False
    return True


def location(code: str) -> dict[str, Any] | None:
    """A ward or bed by its code; None for anything else (never sent to the database
    unless it is shaped like a code, so odd characters can't upset it)."""
    text = code.strip().upper()
    if WARD_CODE.match(text):
        ward = Ward.objects.filter(code=text).first()
        return ward_location(ward) if ward is not None else None
    if _bed_code(text):
        bed = Bed.objects.filter(bed=text).first()
        return bed_location(bed) if bed is not None else None
    return None


def search(params: dict[str, str], offset: int, count: int) -> tuple[list[dict[str, Any]], int]:
    """(the page, the total): wards by code, then beds in layout order."""
    kind = params.get("type", "")
    if kind and kind not in TYPES:
        raise Invalid(400, [issue("invalid", "type: ward (wa) or bed (bd)", "type")])
    partof = params.get("partof", "").removeprefix("Location/").strip().upper()
    if params.get("partof") and not WARD_CODE.match(partof):
        raise Invalid(400, [issue("invalid", "partof: a ward, Location/CODE", "partof")])
    wards = Ward.objects.order_by("code")
    beds = Bed.objects.filter(listed=True).order_by("ward", "order", "bed")
    if partof:
        wards = wards.none()  # a ward is part of no other Location here
        beds = beds.filter(ward=partof)
    if kind:
        wards = wards if TYPES[kind] == "wa" else wards.none()
        beds = beds if TYPES[kind] == "bd" else beds.none()
    ward_rows = list(wards)
    total = len(ward_rows) + beds.count()
    page = [ward_location(w) for w in ward_rows[offset : offset + count]]
    if len(page) < count:
        start = max(0, offset - len(ward_rows))
        page += [bed_location(b) for b in beds[start : start + count - len(page)]]
    return page, total
