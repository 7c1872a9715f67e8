"""The published OpenAPI schema documents every API route, and responses match it."""

import pytest
from django.test import Client
from jsonschema import ValidationError

from tests.openapi import assert_matches_schema, published_schema


def test_the_schema_is_served_without_a_token(hospital):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Nirantar"


def test_it_documents_the_routes_others_script_against(hospital):
    paths = published_schema()["paths"]
    for path, method in [
        ("/api/v1/patients", "post"),
        ("/api/v1/patients", "get"),
        ("/api/v1/patients/{uhid}", "get"),
        ("/api/v1/patients/{uhid}", "patch"),
        ("/api/v1/visits", "post"),
        ("/api/v1/visits/{visit}", "get"),
        ("/api/v1/visits/{visit}/slip.pdf", "get"),
    ]:
        assert method in paths[path], (path, method)
    schema = published_schema()["components"]["schemas"]["PatientIn"]["properties"]
    assert {"name_hi", "name_en", "sex", "age_years", "mobile", "abha_number", "address"} <= set(
        schema
    )


def test_the_checker_catches_a_response_that_breaks_the_schema(clerk_api, registered):
    response = clerk_api.get(f"/api/v1/patients/{registered['uhid']}")
    response.json = lambda: {"uhid": 42}  # what a broken endpoint might send
    with pytest.raises(ValidationError):
        assert_matches_schema(response)
