"""Check API responses against the OpenAPI schema the node publishes."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from django.test import Client
from jsonschema import Draft202012Validator


@lru_cache(maxsize=1)
def published_schema() -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operation(path: str, method: str) -> dict[str, Any]:
    schema = published_schema()
    for template, operations in schema["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the published OpenAPI schema")


def assert_matches_schema(
    response: Any, path: str | None = None, method: str | None = None
) -> None:
    """The response's status is documented for its operation, and its JSON body fits."""
    request = response.wsgi_request
    path = path or request.path
    operation = _operation(path, method or request.method)
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"status {response.status_code} is not documented for {path}"
    content = documented.get("content", {}).get("application/json")
    if content is None:
        return
    schema = {**content["schema"], "components": published_schema()["components"]}
    Draft202012Validator(schema).validate(response.json())
