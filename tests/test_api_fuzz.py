"""Schemathesis fuzzes the whole JSON API from its published OpenAPI schema.

A bounded number of examples per operation keeps `make test` quick; the check is that
nothing answers with a server error, and that every answer is one the schema documents.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from nirantar.accounts import actions as accounts
from nirantar.wsgi import application
from tests.conftest import make_user

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def connections_kept_open():
    """Django closes database connections when a request ends; Django's own test
    client switches that off so the request runs inside the test's transaction.
    Schemathesis calls the WSGI application directly, so do the same here."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(hospital, connections_kept_open):
    # A records clerk may register, correct, read and print: the widest of the roles.
    return accounts.do_issue_token("test", make_user("fuzzer", "records").username)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_answers_with_a_server_error(case, fuzz_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_token}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
