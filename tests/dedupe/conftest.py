"""People typed twice at two counters, and relatives who must not be taken for one."""

from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD

SUNITA_HI = {
    "name_hi": "सुनीता शर्मा",
    "sex": "F",
    "date_of_birth": "1985-03-14",
    "guardian_relation": "W/O",
    "guardian_name": "रमेश शर्मा",
    "mobile": "9812345678",
    "address": {"district": "Sitapur", "state": "Uttar Pradesh"},
}
# The same woman at another counter, typed in Latin letters with another spelling.
SUNITA_EN = {
    "name_en": "Suneeta Sharma",
    "sex": "F",
    "date_of_birth": "1985-03-14",
    "guardian_relation": "W/O",
    "guardian_name": "Ramesh Sharma",
    "mobile": "9812345678",
    "address": {"district": "Sitapur", "state": "Uttar Pradesh"},
}
# Two brothers: same father, surname, phone and district; different names and ages.
BROTHER_ONE = {
    "name_en": "Rakesh Verma",
    "sex": "M",
    "age_years": 32,
    "guardian_relation": "S/O",
    "guardian_name": "Mahesh Verma",
    "mobile": "9898989898",
    "address": {"district": "Alwar", "state": "Rajasthan"},
}
BROTHER_TWO = {**BROTHER_ONE, "name_en": "Mukesh Verma", "age_years": 27}


def copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}


@pytest.fixture
def register(clerk_api):
    def make(data: dict[str, Any]) -> str:
        response = clerk_api.post("/api/v1/patients", copy(data))
        assert response.status_code == 201, response.content
        return response.json()["uhid"]

    return make


@pytest.fixture
def records_api(api_as, records):
    return api_as(records)


def signed_in(user) -> Client:
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client
