"""Fixtures shared by the whole suite: the hospital, and named people in fixed roles.

Tests never touch the internet: any connection to a non-loopback address fails.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.test import Client

from nirantar import operations
from nirantar.accounts import actions as accounts
from nirantar.accounts.models import User
from nirantar.ledger import projection
from nirantar.ledger.models import Event, Origin
from nirantar.ledger.writer import node
from tests.openapi import assert_matches_schema

PASSWORD = "correct-horse-battery"

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    inet = self.family in (socket.AF_INET, socket.AF_INET6)
    loopback = host in ("::1", "localhost") or str(host).startswith("127.")
    if inet and isinstance(host, str) and not loopback:
        raise OSError(f"tests must not reach the network (tried {host})")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty database on the session's throwaway PostgreSQL server, for node
    processes (a hub on PostgreSQL); dropped after the test."""
    dsn = os.environ.get("NIRANTAR_TEST_PG")
    if not dsn:
        pytest.skip("no PostgreSQL server in this session")
    server = dsn.rsplit("/", 1)[0]
    name = f"node_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def found_if_needed() -> None:
    if not Origin.objects.filter(name="authority").exists():
        operations.found(hospital="Test Hospital", number=101)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        found_if_needed()


@pytest.fixture
def hospital(db: None) -> Any:
    """A founded hospital: genesis, this node (number 101, counter A), demo departments."""
    found_if_needed()
    return node()


def make_user(username: str, role: str, full_name: str = "") -> User:
    return accounts.do_add_user("test", username, role, PASSWORD, full_name or username.title())


@pytest.fixture
def clerk(hospital: Any) -> User:
    return make_user("asha", "clerk", "Asha Verma")


@pytest.fixture
def records(hospital: Any) -> User:
    return make_user("imran", "records", "Imran Qureshi")


@pytest.fixture
def doctor(hospital: Any) -> User:
    return make_user("meera", "doctor", "Dr. Meera Iyer")


@pytest.fixture
def nurse(hospital: Any) -> User:
    return make_user("kavita", "nurse")


@pytest.fixture
def lab_tech(hospital: Any) -> User:
    return make_user("rohit", "lab")


@pytest.fixture
def admin(hospital: Any) -> User:
    return make_user("it-admin", "admin")


@pytest.fixture
def auditor(hospital: Any) -> User:
    return make_user("privacy", "auditor")


@pytest.fixture
def outsider(hospital: Any) -> User:
    """Someone with an account but no business with patient records: sees nothing."""
    return make_user("outsider", "admin", "IT contractor")


class Api:
    """A JSON API client holding one user's bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _send(self, method: str, path: str, body: Any = None, raw: str | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs: dict[str, Any] = {"headers": self.headers}
        if data is not None:
            kwargs.update(data=data, content_type="application/json")
        response = getattr(self.client, method)(path, **kwargs)
        if path.startswith("/api/v1/"):
            assert_matches_schema(response, path.split("?")[0], method)
        return response

    def get(self, path: str) -> Any:
        return self._send("get", path)

    def post(self, path: str, body: Any = None, raw: str | None = None) -> Any:
        return self._send("post", path, body, raw)

    def patch(self, path: str, body: Any = None, raw: str | None = None) -> Any:
        return self._send("patch", path, body, raw)


@pytest.fixture
def api_as() -> Any:
    def make(user: User | None) -> Api:
        return Api(accounts.do_issue_token("test", user.username) if user else None)

    return make


@pytest.fixture
def clerk_api(api_as: Any, clerk: User) -> Api:
    return api_as(clerk)


def _business_state() -> tuple[int, dict[str, Any]]:
    # A refused attempt is itself recorded (accounts.access_denied): that is the audit
    # trail doing its job, not the request writing anything.
    events = Event.objects.exclude(type="accounts.access_denied").count()
    dump = {k: v for k, v in projection.dump().items() if k != "accounts.DeniedAttempt"}
    return events, dump


class Snapshot:
    """Everything a request could have written: the log and every projection."""

    def __init__(self) -> None:
        self.state = _business_state()

    def unchanged(self) -> bool:
        return _business_state() == self.state


@pytest.fixture
def snapshot() -> Any:
    return Snapshot


RAM = {
    "name_hi": "राम कुमार शर्मा",
    "name_en": "Ram Kumar Sharma",
    "sex": "M",
    "age_years": 45,
    "guardian_relation": "S/O",
    "guardian_name": "Shyam Lal",
    "mobile": "9876543210",
    "abha_number": None,
    "category": "general",
    "address": {
        "line": "12 Gali",
        "district": "Sitapur",
        "state": "Uttar Pradesh",
        "pin": "261001",
    },
}


@pytest.fixture
def ram() -> dict[str, Any]:
    return json.loads(json.dumps(RAM))


@pytest.fixture
def registered(clerk_api: Api, ram: dict[str, Any]) -> dict[str, Any]:
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 201, response.content
    return response.json()
