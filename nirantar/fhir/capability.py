"""The CapabilityStatement: what this server actually does, and nothing it doesn't."""

from __future__ import annotations

from typing import Any

from nirantar import timeutil
from nirantar.fhir.resources import ABHA_SYSTEM, UHID_SYSTEM
from nirantar.fhir.search import DEFAULT_COUNT, MAX_COUNT

SEARCH_PARAMS = [
    (
        "identifier",
        "token",
        f"{UHID_SYSTEM}|UHID or {ABHA_SYSTEM}|ABHA number (a bare value: either)",
    ),
    ("name", "string", "any part of the name, in English or Hindi, as the counter finds it"),
    ("phone", "token", "the 10-digit mobile number (+91 optional)"),
    ("birthdate", "date", "YYYY, YYYY-MM or YYYY-MM-DD; eq only"),
    ("gender", "token", "male | female | other | unknown; only with another parameter"),
    ("_count", "number", f"page size, 0-{MAX_COUNT} (default {DEFAULT_COUNT})"),
    ("_offset", "number", "where the page starts; follow the Bundle's next/previous links"),
]


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
                    {
                        "type": "Patient",
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                            {"code": "create"},
                        ],
                        "versioning": "no-version",
                        "readHistory": False,
                        "updateCreate": False,
                        "conditionalCreate": False,
                        "searchParam": [
                            {"name": name, "type": kind, "documentation": doc}
                            for name, kind, doc in SEARCH_PARAMS
                        ],
                    }
                ],
                "interaction": [{"code": "transaction"}],
            }
        ],
    }
