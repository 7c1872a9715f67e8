"""A counter node with no hub and no peers, as real processes on loopback.

This is what the registration counter promises: registration, visit and slip
work on one node alone; the UHID carries its check digit; the log verifies,
and a changed byte in the database file is found and named.
"""

from __future__ import annotations

import sqlite3

import pytest

from nirantar.ledger.numbering import verhoeff_valid
from tests import pdf
from tests.conftest import RAM

pytestmark = pytest.mark.system


def test_a_lone_counter_registers_a_patient_a_visit_and_prints_the_slip(lone_node):
    status, patient = lone_node.json("POST", "/api/v1/patients", RAM)
    assert status == 201, patient
    uhid = patient["uhid"]
    assert uhid.startswith("107-")
    assert verhoeff_valid(uhid.replace("-", ""))

    status, visit = lone_node.json(
        "POST", "/api/v1/visits", {"uhid": uhid, "department": "Medicine"}
    )
    assert status == 201, visit
    assert visit["token"] == "A-001"

    status, headers, body = lone_node.request("GET", visit["slip"])
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    text = pdf.text(body)
    assert uhid in text
    assert "A-001" in text
    assert pdf.compact("राम कुमार शर्मा") in pdf.compact(text)


def test_verify_passes_then_names_the_event_whose_byte_was_changed(lone_node):
    status, patient = lone_node.json("POST", "/api/v1/patients", RAM)
    assert status == 201
    lone_node.stop()

    result = lone_node.run("verify")
    assert "every hash, chain link and signature verified" in result.stdout

    database = lone_node.data_dir / "nirantar.sqlite3"
    with sqlite3.connect(database) as db:
        event_id, body = db.execute(
            "SELECT id, body FROM ledger_event WHERE type = 'registration.patient_registered'"
        ).fetchone()
        position = body.index("Sitapur") + 4  # one byte: Sitapur -> Sitaqur
        db.execute(
            "UPDATE ledger_event SET body = ? WHERE id = ?",
            (body[:position] + "q" + body[position + 1 :], event_id),
        )
    failed = lone_node.run("verify", check=False)
    assert failed.returncode == 1
    assert event_id in failed.stderr


def test_the_node_refuses_a_request_without_a_token(lone_node):
    lone_node.token = "nrt_x_y"
    status, error = lone_node.json("POST", "/api/v1/patients", RAM)
    assert status == 401 and error["error"]["code"] == "unauthorized"
