"""The CapabilityStatement: what this server actually does, and nothing it doesn't."""

from __future__ import annotations

from typing import Any

from nirantar import timeutil
from nirantar.fhir.documents import NRCES, SERVED_DOCUMENTS
from nirantar.fhir.resources import ABHA_SYSTEM
from nirantar.fhir.search import DEFAULT_COUNT, MAX_COUNT

SEARCH_PARAMS = [
    (
        "identifier",
        "token",
        f"the hospital's UHID system (as a Patient's identifier gives it)|UHID or "
        f"{ABHA_SYSTEM}|ABHA number (a bare value: either)",
    ),
    ("name", "string", "any part of the name, in English or Hindi, as the counter finds it"),
    ("phone", "token", "the 10-digit mobile number (+91 optional)"),
    ("birthdate", "date", "YYYY, YYYY-MM or YYYY-MM-DD; eq only"),
    ("gender", "token", "male | female | other | unknown; only with another parameter"),
    ("_count", "number", f"page size, 0-{MAX_COUNT} (default {DEFAULT_COUNT})"),
    ("_offset", "number", "where the page starts; follow the Bundle's next/previous links"),
]
PAGING = SEARCH_PARAMS[-2:]
ENCOUNTER_PARAMS = [
    ("patient", "reference", "the patient's UHID (or Patient/UHID); required unless subject"),
    ("subject", "reference", "Patient/UHID"),
    ("date", "date", "when it began: YYYY[-MM[-DD]] with eq ne gt lt ge le; twice for a range"),
    ("status", "token", "any of a comma-separated list of Encounter statuses"),
    *PAGING,
]
OBSERVATION_PARAMS = [
    *ENCOUNTER_PARAMS[:2],
    ("category", "token", "laboratory | vital-signs (none: what the caller's rights allow)"),
    (
        "code",
        "token",
        "a LOINC code of a result or vital sign (http://loinc.org|718-7, 8867-4); commas: any of",
    ),
    *PAGING,
]
CLINICAL_PARAMS = [
    ("patient", "reference", "the patient's UHID (or Patient/UHID); or give encounter"),
    ("subject", "reference", "Patient/UHID"),
    ("encounter", "reference", "a visit (Encounter/OP-...) or stay (Encounter/IP-...)"),
    *PAGING,
]
SERVICE_REQUEST_PARAMS = [
    *ENCOUNTER_PARAMS[:2],
    ("encounter", "reference", "the visit or stay: Encounter/OP-... or IP-... (or the number)"),
    *PAGING,
]
DIAGNOSTIC_REPORT_PARAMS = SERVICE_REQUEST_PARAMS
LOCATION_PARAMS = [
    ("type", "token", "ward (or wa) | bed (or bd): the physicalType"),
    ("partof", "reference", "a ward (Location/MW1 or MW1): its beds"),
    *PAGING,
]


def _resource(
    kind: str, interactions: list[str], params: list[tuple[str, str, str]]
) -> dict[str, Any]:
    return {
        "type": kind,
        "interaction": [{"code": code} for code in interactions],
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "conditionalCreate": False,
        "searchParam": [
            {"name": name, "type": kind_, "documentation": doc} for name, kind_, doc in params
        ],
    }


def composition() -> dict[str, Any]:
    """ABDM documents: a Composition is read, and $document gives it as a document Bundle."""
    resource = _resource("Composition", ["read"], [])
    del resource["searchParam"]  # none: a document is found through its record's number
    resource["supportedProfile"] = [NRCES + kind.profile for kind in SERVED_DOCUMENTS]
    resource["operation"] = [
        {
            "name": "document",
            "definition": "http://hl7.org/fhir/OperationDefinition/Composition-document",
            "documentation": "GET Composition/{id}/$document: the document Bundle (NRCeS "
            "DocumentBundle); no parameters",
        }
    ]
    return resource


def statement(base_url: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timeutil.now().isoformat(),
        "publisher": "Nirantar",
        "kind": "instance",
        "software": {"name": "Nirantar"},
        "implementation": {"description": "Nirantar FHIR R4 API", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Bearer tokens from `nirantar token`; roles as in the JSON API.",
                "security": {
                    "description": "Authorization: Bearer <token>. Reads are audited.",
                },
                "resource": [
                    _resource("Patient", ["read", "search-type", "create"], SEARCH_PARAMS),
                    _resource("Encounter", ["read", "search-type"], ENCOUNTER_PARAMS),
                    _resource("Observation", ["read", "search-type"], OBSERVATION_PARAMS),
                    _resource("ServiceRequest", ["read", "search-type"], SERVICE_REQUEST_PARAMS),
                    _resource(
                        "DiagnosticReport", ["read", "search-type"], DIAGNOSTIC_REPORT_PARAMS
                    ),
                    _resource("Location", ["read", "search-type"], LOCATION_PARAMS),
                    _resource("Condition", ["read", "search-type"], CLINICAL_PARAMS),
                    _resource("MedicationRequest", ["read", "search-type"], CLINICAL_PARAMS),
                    composition(),
                ],
                "interaction": [{"code": "transaction"}],
            }
        ],
    }
