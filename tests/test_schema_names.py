"""django-ninja names each schema in the OpenAPI document by its class name: two API
modules with a schema of the same name publish one of them under both, and responses
then fail validation against the wrong shape. So names must be unique."""

from __future__ import annotations

from collections import defaultdict

from ninja import Schema

import nirantar.api  # noqa: F401 - imports every router, and so every schema


def _all(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all(sub))
    return found


def test_every_api_schema_with_fields_has_its_own_name() -> None:
    by_name: dict[str, set[str]] = defaultdict(set)
    for cls in _all(Schema):
        if cls.__module__.startswith("nirantar.") and cls.model_fields:
            by_name[cls.__name__].add(cls.__module__)
    clashes = {name: sorted(modules) for name, modules in by_name.items() if len(modules) > 1}
    assert clashes == {}
