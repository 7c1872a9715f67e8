"""Every route the project serves, against every role: the permission matrix.

Each screen declares its rule (``@screen(PERMISSION)`` or ``@public``), each API
operation its own (``auth=needs(PERMISSION, ...)``), each sync view its node
check, each FHIR endpoint a rule per HTTP method (``@operation({...})``). This
test finds every route, fails for one with no rule, and calls each one as every
role (and as nobody): a role the rule names is let through, any other gets 403,
and nobody signed in gets 401 or the sign-in page.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from nirantar.accounts import actions as accounts
from nirantar.accounts.auth import RoleBearer
from nirantar.accounts.permissions import REGISTRY, ROLES
from nirantar.api import api
from nirantar.fhir.views import BEARER_RULE
from tests.conftest import PASSWORD, make_user

PUBLIC_API = {"/api/v1/openapi.json"}
NODE_RULES = {"node", "node-key"}


def screen_routes() -> list[tuple[str, object]]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    return [
        (route, view)
        for route, view in walk(get_resolver().url_patterns)
        if not route.startswith("api/v1/")
    ]


def api_operations() -> list[tuple[str, str, object]]:
    found = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    found.append(("/api/v1" + prefix.rstrip("/") + path, method, operation))
    return found


def test_every_screen_declares_its_rule():
    undeclared = [
        route for route, view in screen_routes() if not hasattr(view, "nirantar_permission")
    ]
    assert not undeclared, f"routes with no permission rule: {undeclared}"
    rules = {view.nirantar_permission for _, view in screen_routes()}
    assert rules - {None} - NODE_RULES - {BEARER_RULE} <= set(REGISTRY)
    for _, view in fhir_routes():
        assert view.nirantar_fhir_rules, view
        for names in view.nirantar_fhir_rules.values():
            assert set(names) <= set(REGISTRY)


def fhir_routes() -> list[tuple[str, object]]:
    return [
        (route, view)
        for route, view in screen_routes()
        if getattr(view, "nirantar_permission", None) == BEARER_RULE
    ]


def test_every_api_operation_declares_its_rule():
    undeclared = [
        f"{method} {path}"
        for path, method, op in api_operations()
        if not (op.auth_callbacks and isinstance(op.auth_callbacks[0], RoleBearer))
    ]
    assert not undeclared, f"API operations with no permission rule: {undeclared}"


def test_the_duplicates_worklist_is_for_the_records_team_only(world):
    """Who may be one person twice is a list of patients: records staff only."""
    operations = {(path, method): op for path, method, op in api_operations()}
    assert operations[("/api/v1/duplicates", "GET")].auth_callbacks[0].roles == {"records"}
    views = dict(screen_routes())
    assert REGISTRY[views["duplicates/"].nirantar_permission].roles == {"records"}
    assert REGISTRY[views["duplicates/suggest"].nirantar_permission].roles == {"clerk", "records"}


@pytest.fixture
def world(registered, clerk_api):
    """One of each role, and a patient with a visit for routes that need them."""
    visit = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "ENT"}
    ).json()
    people = {role: make_user(f"matrix-{role}", role) for role in ROLES}
    return {"uhid": registered["uhid"], "visit": visit["visit"], "people": people}


def fill(route: str, world: dict) -> str:
    route = re.sub(r"<str:uhid>|\{uhid\}", world["uhid"], route)
    route = re.sub(r"<str:visit>|\{visit\}", world["visit"], route)
    route = re.sub(r"<str:department>|\{department\}", "ENT", route)
    route = re.sub(r"<str:entry>|\{entry\}", "no-such-node:1", route)
    return "/" + route.lstrip("/")


def call(client: Client, method: str, path: str, **kwargs) -> int:
    if method in ("POST", "PATCH", "PUT"):
        return getattr(client, method.lower())(
            path, data="{}", content_type="application/json", **kwargs
        ).status_code
    return getattr(client, method.lower())(path, **kwargs).status_code


def screen_method(client: Client, path: str) -> str:
    """Screens answer GET, or only POST (a GET then gets 405 before anything else)."""
    return "POST" if client.get(path).status_code == 405 else "GET"


def test_each_screen_lets_exactly_the_roles_its_rule_names(world):
    anonymous = Client()
    for route, view in screen_routes():
        rule = view.nirantar_permission
        path = fill(route, world)
        method = screen_method(anonymous, path)
        if rule is None:
            assert call(anonymous, method, path) not in (401, 403), path
            continue
        if rule in NODE_RULES:
            assert call(anonymous, method, path) in (400, 401), path  # unsigned
            continue
        if rule == BEARER_RULE:
            continue  # tested below, with tokens
        status = call(anonymous, method, path)
        assert status == 302 or status == 401, (path, status)
        for role, user in world["people"].items():
            client = Client()
            assert client.login(username=user.username, password=PASSWORD)
            status = call(client, method, path, headers={"HX-Request": "true"})
            if role in REGISTRY[rule].roles:
                assert status not in (401, 403), (path, role, status)
            else:
                assert status == 403, (path, role, status)


def test_each_api_operation_lets_exactly_the_roles_its_rule_names(world):
    tokens = {
        role: accounts.do_issue_token("test", user.username)
        for role, user in world["people"].items()
    }
    for route, method, operation in api_operations():
        path = fill(route, world)
        if path in PUBLIC_API:
            continue
        assert call(Client(), method, path) == 401, (method, path)
        roles = operation.auth_callbacks[0].roles
        for role, token in tokens.items():
            headers = {
                "Authorization": f"Bearer {token}",
                "X-Emergency-Reason": "matrix test: checking the rule",
            }
            status = call(Client(), method, path, headers=headers)
            if role in roles:
                assert status not in (401, 403), (method, path, role, status)
            else:
                assert status == 403, (method, path, role, status)


def test_each_fhir_operation_lets_exactly_the_roles_its_rule_names(world):
    """FHIR takes bearer tokens only: a signed-in screen session is not enough."""
    tokens = {
        role: accounts.do_issue_token("test", user.username)
        for role, user in world["people"].items()
    }
    for route, view in fhir_routes():
        path = fill(route, world)
        for method, names in view.nirantar_fhir_rules.items():
            if not names:
                assert call(Client(), method, path) not in (401, 403), (method, path)
                continue
            assert call(Client(), method, path) == 401, (method, path)
            session = Client()
            assert session.login(username=world["people"]["records"].username, password=PASSWORD)
            assert call(session, method, path) == 401, (method, path, "session")
            roles = frozenset().union(*(REGISTRY[name].roles for name in names))
            for role, token in tokens.items():
                headers = {
                    "Authorization": f"Bearer {token}",
                    "X-Emergency-Reason": "matrix test: checking the rule",
                }
                status = call(Client(), method, path, headers=headers)
                if role in roles:
                    assert status not in (401, 403), (method, path, role, status)
                else:
                    assert status == 403, (method, path, role, status)


def test_only_medical_records_staff_merge_and_unmerge_patients():
    """A merge changes what every module shows of two people: records staff alone decide it."""
    found = {
        path: operation.auth_callbacks[0].roles
        for path, method, operation in api_operations()
        if method == "POST" and path.endswith(("/patients/merge", "/patients/unmerge"))
    }
    assert found == {
        "/api/v1/patients/merge": frozenset({"records"}),
        "/api/v1/patients/unmerge": frozenset({"records"}),
    }
