"""Nirantar's patient record as a FHIR R4 Patient, and a posted Patient as a registration.

The registration record holds one name in English (Latin letters) and one in
Hindi (Devanagari), sex, a date of birth, one mobile number, an ABHA number,
one Indian address and a guardian. A posted Patient is mapped onto exactly
that; what the record can't hold is dropped (docs/fhir.md lists it), and what
would be wrong to drop silently (a death, an inactive record, a foreign
address, a UHID we did not mint) is refused.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from nirantar.fhir.validation import Invalid, issue
from nirantar.registration.models import Patient

# The hospital's UHID as a FHIR identifier system. Every hospital running Nirantar numbers
# its patients from 101-0000001-3, so the system must be the hospital's own: the URI its
# operators set (NIRANTAR_FHIR_UHID_SYSTEM, the same on every node), or else one made from
# the hash of the hospital's genesis, which every node of it holds and no other hospital
# shares. See ``uhid_system``.
UHID_SYSTEM_FORMAT = "urn:nirantar:hospital:{genesis}:uhid"
# The ABHA number (14 digits, shown XX-XXXX-XXXX-XXXX), as NRCeS's examples write it.
ABHA_SYSTEM = "https://healthid.ndhm.gov.in"
# Also accepted on input: the same namespace after the ndhm -> abdm rename.
ABHA_SYSTEMS = {ABHA_SYSTEM, "https://healthid.abdm.gov.in"}
IDENTIFIER_TYPES = "http://terminology.hl7.org/CodeSystem/v2-0203"

GENDER_TO_SEX = {"male": "M", "female": "F", "other": "O"}
SEX_TO_GENDER = {v: k for k, v in GENDER_TO_SEX.items()}
GENDERS = {*GENDER_TO_SEX, "unknown"}
INDIA = {"IN", "IND", "INDIA", "भारत"}
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
FULL_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# HumanName.use, best first. Old, maiden, nickname and anonymous names are not the
# name a patient is registered under; they are dropped.
NAME_USES = {"official": 0, "usual": 1, None: 2, "temp": 3}

# Registration's field names, as the FHIR element a client should look at.
FIELD_EXPRESSIONS = {
    "name_en": "Patient.name",
    "name_hi": "Patient.name",
    "sex": "Patient.gender",
    "date_of_birth": "Patient.birthDate",
    "age_years": "Patient.birthDate",
    "age_months": "Patient.birthDate",
    "age_days": "Patient.birthDate",
    "mobile": "Patient.telecom",
    "abha_number": "Patient.identifier",
    "guardian_relation": "Patient.contact",
    "guardian_name": "Patient.contact",
}


def format_abha(digits: str) -> str:
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:]}"


def _genesis_system() -> str:
    from nirantar.ledger.models import Origin

    authority = Origin.objects.filter(name="authority").first()
    if authority is None or not authority.enrolment_hash:
        # A node still joining knows no hospital yet; it serves no patients either.
        raise RuntimeError("this node has not joined a hospital: it has no UHID system")
    return UHID_SYSTEM_FORMAT.format(genesis=authority.enrolment_hash[:16])


def uhid_system() -> str:
    """This hospital's UHID identifier system (see ``UHID_SYSTEM_FORMAT``)."""
    return settings.FHIR_UHID_SYSTEM or _genesis_system()


def abha_digits(value: str) -> str:
    return re.sub(r"[\s\-]", "", value)


def patient_resource(
    patient: Patient, *, replaced_by: str = "", replaces: tuple[str, ...] | list[str] = ()
) -> dict[str, Any]:
    """The record as a FHIR Patient. Names are given as ``text`` only: the record keeps a
    name as the counter wrote it, and splitting it into given and family would be a guess.

    A record merged away (``replaced_by``: its survivor) is inactive and links forward to
    the survivor, as FHIR's merge asks (Patient.link type ``replaced-by``); a survivor
    links back to each record merged into it (``replaces``)."""
    identifiers: list[dict[str, Any]] = [
        {
            "use": "official",
            "type": {"coding": [{"system": IDENTIFIER_TYPES, "code": "MR"}], "text": "UHID"},
            "system": uhid_system(),
            "value": patient.uhid,
        }
    ]
    if patient.abha_number:
        identifiers.append(
            {
                "type": {"text": "ABHA number"},
                "system": ABHA_SYSTEM,
                "value": format_abha(patient.abha_number),
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient.uhid,
        "identifier": identifiers,
        "active": not replaced_by,
        "name": [
            {"use": "official", "text": text} for text in (patient.name_en, patient.name_hi) if text
        ],
    }
    if patient.mobile:
        resource["telecom"] = [
            {"system": "phone", "value": "+91" + patient.mobile, "use": "mobile"}
        ]
    if patient.sex in SEX_TO_GENDER:
        resource["gender"] = SEX_TO_GENDER[patient.sex]
    if patient.date_of_birth:
        resource["birthDate"] = patient.date_of_birth.isoformat()
    address = _address_out(patient)
    if address:
        resource["address"] = [address]
    if patient.guardian_name:
        resource["contact"] = [
            {
                "relationship": [{"text": patient.guardian_relation or "guardian"}],
                "name": {"text": patient.guardian_name},
            }
        ]
    links = [{"other": {"reference": f"Patient/{replaced_by}"}, "type": "replaced-by"}]
    links = (links if replaced_by else []) + [
        {"other": {"reference": f"Patient/{uhid}"}, "type": "replaces"} for uhid in replaces
    ]
    if links:
        resource["link"] = links
    return resource


def _address_out(patient: Patient) -> dict[str, Any] | None:
    if not any((patient.address_line, patient.district, patient.state, patient.pin)):
        return None
    address: dict[str, Any] = {"use": "home"}
    if patient.address_line:
        address["line"] = [patient.address_line]
    if patient.district:
        address["district"] = patient.district
    if patient.state:
        address["state"] = patient.state
    if patient.pin:
        address["postalCode"] = patient.pin
    address["country"] = "IN"
    return address


def _string(value: Any, where: str) -> str:
    """fhirclient type-checks only the first item of a list of primitives; check each."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(400, [issue("structure", f"{where} must be a string", where)])
    return value.strip()


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(400, [issue("structure", f"{where} must be a list", where)])
    return [s for i, v in enumerate(value) if (s := _string(v, f"{where}[{i}]"))]


def _list(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise Invalid(400, [issue("structure", f"{where} must be a list of objects", where)])
    return value


def _name_text(name: dict[str, Any], where: str) -> str:
    """The name as the counter writes it - given names, then family - or ``text`` when it
    has no parts. Prefixes and suffixes (Drs., MSc) are titles, not part of the name."""
    given = _strings(name.get("given"), f"{where}.given")
    family = _string(name.get("family"), f"{where}.family")
    return " ".join([*given, family]).strip() or _string(name.get("text"), f"{where}.text")


def names(resource: dict[str, Any]) -> dict[str, tuple[int, int, str]]:
    """{"name_en": (rank, index, text), "name_hi": ...}: the best-ranked name per script."""
    best: dict[str, tuple[int, int, str]] = {}
    for i, name in enumerate(_list(resource.get("name"), "Patient.name")):
        where = f"Patient.name[{i}]"
        use = _string(name.get("use"), f"{where}.use") or None
        if use not in NAME_USES:
            continue
        text = _name_text(name, where)
        if not text:
            continue
        key = "name_hi" if DEVANAGARI.search(text) else "name_en"
        rank = (NAME_USES[use], i, text)
        if key not in best or rank < best[key]:
            best[key] = rank
    return best


def _refuse(diagnostics: str, expression: str, code: str = "business-rule") -> Invalid:
    return Invalid(422, [issue(code, diagnostics, expression)])


def _sex(resource: dict[str, Any]) -> str | None:
    gender = _string(resource.get("gender"), "Patient.gender")
    if not gender:
        return None
    if gender not in GENDERS:
        raise Invalid(
            400,
            [issue("value", "gender must be male, female, other or unknown", "Patient.gender")],
        )
    if gender == "unknown":
        raise _refuse("registration needs the sex: male, female or other", "Patient.gender")
    return GENDER_TO_SEX[gender]


def _birth_date(resource: dict[str, Any]) -> str | None:
    birth = _string(resource.get("birthDate"), "Patient.birthDate")
    if birth and not FULL_DATE.match(birth):
        raise _refuse(
            "registration needs a full date of birth (YYYY-MM-DD); a year or month alone "
            "can't be registered through FHIR",
            "Patient.birthDate",
        )
    return birth or None


def _mobile(resource: dict[str, Any]) -> tuple[bool, int, str] | None:
    phones = []
    for i, point in enumerate(_list(resource.get("telecom"), "Patient.telecom")):
        where = f"Patient.telecom[{i}]"
        if _string(point.get("system"), f"{where}.system") != "phone":
            continue  # email, fax, pager...: the record keeps only a mobile number
        value = _string(point.get("value"), f"{where}.value")
        if value:
            mobile = _string(point.get("use"), f"{where}.use") == "mobile"
            phones.append((not mobile, i, value))
    return min(phones) if phones else None


def _abha(resource: dict[str, Any]) -> tuple[set[int], str | None]:
    found, used = set(), set()
    for i, ident in enumerate(_list(resource.get("identifier"), "Patient.identifier")):
        where = f"Patient.identifier[{i}]"
        system = _string(ident.get("system"), f"{where}.system")
        value = _string(ident.get("value"), f"{where}.value")
        if system == uhid_system():
            raise _refuse(
                "a UHID is given by the node that registers the patient; leave it out",
                where,
            )
        if system in ABHA_SYSTEMS and value:
            found.add(abha_digits(value))
            used.add(i)
    if len(found) > 1:
        raise _refuse(
            "a patient has one ABHA number; two different ones were given", "Patient.identifier"
        )
    return used, (found.pop() if found else None)


def _address(resource: dict[str, Any]) -> tuple[int, dict[str, str]] | None:
    addresses = _list(resource.get("address"), "Patient.address")
    if not addresses:
        return None
    ranked = sorted(
        range(len(addresses)), key=lambda i: addresses[i].get("use") not in ("home", None)
    )
    i = ranked[0]
    chosen, where = addresses[i], f"Patient.address[{i}]"
    country = _string(chosen.get("country"), f"{where}.country")
    if country and country.upper() not in INDIA:
        raise _refuse("only an address in India can be registered", f"{where}.country")
    line = _strings(chosen.get("line"), f"{where}.line")
    city = _string(chosen.get("city"), f"{where}.city")
    out = {
        "line": ", ".join([*line, city] if city else line),
        "district": _string(chosen.get("district"), f"{where}.district"),
        "state": _string(chosen.get("state"), f"{where}.state"),
        "pin": _string(chosen.get("postalCode"), f"{where}.postalCode"),
    }
    return i, {k: v for k, v in out.items() if v}


# Elements the record keeps (some of their parts may still be dropped, see below).
KEPT = {"resourceType", "name", "gender", "birthDate", "telecom", "address", "identifier"}
NAME_PARTS_KEPT = {"use", "given", "family", "text"}
ADDRESS_PARTS_KEPT = {"use", "line", "city", "district", "state", "postalCode", "country"}


def registration_data(resource: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the registration action's input, the elements it can't hold) for a structurally
    valid Patient; Invalid when the Patient can't be registered."""
    if resource.get("deceasedBoolean") is True or resource.get("deceasedDateTime"):
        raise _refuse("a deceased patient can't be registered", "Patient.deceased", "not-supported")
    if resource.get("active") is False:
        raise _refuse("an inactive record can't be registered", "Patient.active", "not-supported")
    chosen = names(resource)
    data: dict[str, Any] = {key: rank[2] for key, rank in chosen.items()}
    data["sex"] = _sex(resource)
    birth = _birth_date(resource)
    if birth:
        data["date_of_birth"] = birth
    mobile, (abha_used, abha), address = _mobile(resource), _abha(resource), _address(resource)
    if mobile:
        data["mobile"] = mobile[2]
    if abha:
        data["abha_number"] = abha
    if address:
        data["address"] = address[1]
    used = {
        "name": {rank[1] for rank in chosen.values()},
        "identifier": abha_used,
        "telecom": {mobile[1]} if mobile else set(),
        "address": {address[0]} if address else set(),
    }
    return data, _dropped(resource, used)


def _dropped(resource: dict[str, Any], used: dict[str, set[int]]) -> list[str]:
    """Where the posted Patient says more than the record can hold: what will not be kept."""
    dropped = [
        f"Patient.{key}"
        for key in resource
        if key not in KEPT and not (key == "active" and resource[key] is True)
    ]
    for element, indexes in used.items():
        for i, _ in enumerate(resource.get(element) or []):
            if i not in indexes:
                dropped.append(f"Patient.{element}[{i}]")
    parts_kept = {"name": NAME_PARTS_KEPT, "address": ADDRESS_PARTS_KEPT}
    for element, kept in parts_kept.items():
        for i in sorted(used[element]):
            part = resource[element][i]
            dropped += [f"Patient.{element}[{i}].{key}" for key in part if key not in kept]
            if element == "name" and (part.get("given") or part.get("family")) and "text" in part:
                dropped.append(f"Patient.name[{i}].text")
    return dropped


def refusal(fields: dict[str, str], message: str) -> Invalid:
    """Registration's ValidationFailed, as FHIR issues naming the elements (once each)."""
    issues: dict[tuple[str, str], dict[str, Any]] = {}
    for field, problem in sorted(fields.items()):
        expression = FIELD_EXPRESSIONS.get(field)
        if expression is None:
            expression = "Patient.address" if field.startswith("address") else "Patient"
        if field.startswith("age_"):
            problem = "a date of birth is required to register a patient"
        issues.setdefault(
            (expression, problem),
            issue("business-rule", f"{expression}: {problem}", expression),
        )
    return Invalid(422, list(issues.values()) or [issue("business-rule", message)])
