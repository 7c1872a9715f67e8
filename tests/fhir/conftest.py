"""A FHIR client holding one user's bearer token; every resource it receives must be valid R4."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from fhirclient.models import fhirelementfactory

from nirantar.accounts import actions as accounts
from nirantar.accounts.models import User

EXAMPLES = Path(__file__).parent / "examples"
FHIR_JSON = "application/fhir+json"


def assert_valid_r4(body: dict[str, Any]) -> None:
    """fhirclient's strict 4.0.1 models accept it (structure, types, dates)."""
    resource = fhirelementfactory.FHIRElementFactory.instantiate(body["resourceType"], body)
    assert resource.resource_type == body["resourceType"]


class Fhir:
    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _check(self, response: Any) -> Any:
        assert response.status_code < 500, response.content
        assert response["Content-Type"].startswith(FHIR_JSON), response["Content-Type"]
        assert_valid_r4(response.json())
        if response.status_code >= 400:
            assert response.json()["resourceType"] == "OperationOutcome"
        return response

    def get(self, path: str, **headers: str) -> Any:
        return self._check(self.client.get(path, headers={**self.headers, **headers}))

    def post(self, path: str, body: Any = None, raw: str | None = None, **kwargs: Any) -> Any:
        data = raw if raw is not None else json.dumps(body)
        kwargs.setdefault("content_type", FHIR_JSON)
        return self._check(self.client.post(path, data=data, headers=self.headers, **kwargs))


@pytest.fixture
def fhir_as() -> Any:
    def make(user: User | None) -> Fhir:
        return Fhir(accounts.do_issue_token("test", user.username) if user else None)

    return make


@pytest.fixture
def clerk_fhir(fhir_as: Any, clerk: User) -> Fhir:
    return fhir_as(clerk)


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def asha(**changes: Any) -> dict[str, Any]:
    """A patient as a FHIR client would send her: both scripts, ABHA, mobile, address."""
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": "https://healthid.ndhm.gov.in", "value": "91-5101-6530-5101"}],
        "name": [
            {"use": "official", "family": "Sharma", "given": ["Asha"]},
            {"use": "official", "text": "आशा शर्मा"},
        ],
        "telecom": [{"system": "phone", "value": "+91 98123 45678", "use": "mobile"}],
        "gender": "female",
        "birthDate": "1990-04-01",
        "address": [
            {
                "use": "home",
                "line": ["12 Gali"],
                "district": "Sitapur",
                "state": "Uttar Pradesh",
                "postalCode": "261001",
                "country": "IN",
            }
        ],
    }
    resource.update(changes)
    return resource


@pytest.fixture
def layout(hospital: Any) -> None:
    """The demo hospital's wards, defined as an admin would."""
    from nirantar.wards import actions as ward_actions
    from nirantar.wards import catalogue as ward_catalogue

    for ward in ward_catalogue.demo_wards():
        ward_actions.do_define_ward("admin", ward)


@pytest.fixture
def visit(clerk_api: Any, registered: dict[str, Any]) -> str:
    """An OPD visit of the registered patient, made at the counter through the JSON API."""
    response = clerk_api.post("/api/v1/visits", {"uhid": registered["uhid"], "department": "MED"})
    assert response.status_code == 201, response.content
    return str(response.json()["visit"])


@pytest.fixture
def admit(api_as: Any, nurse: User, doctor: User, layout: None) -> Any:
    """admit(uhid, bed, **fields) -> the admission number (a nurse admits, through the API)."""

    def make(uhid: str, bed: str, **fields: Any) -> str:
        body = {"uhid": uhid, "bed": bed, "attending": doctor.username, **fields}
        response = api_as(nurse).post("/api/v1/admissions", body)
        assert response.status_code == 201, response.content
        return str(response.json()["admission"])

    return make
