"""Verified results reach the doctor: on the visit's record and the patient's timeline."""

from __future__ import annotations

import pytest

from nirantar.lab import actions as lab
from nirantar.lab import hl7in
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_only_verified_results_reach_the_doctors_timeline(
    registered, clerk_api, api_as, doctor, lab_tech
):
    visit = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "MED"}
    ).json()["visit"]
    doc = api_as(doctor)
    order = doc.post(f"/api/v1/visits/{visit}/lab-orders", {"tests": ["KFT"]}).json()["order"]
    [sample] = lab.do_collect(lab_tech.username, order)
    message = (
        "MSH|^~\\&|COBASC311|LAB|NIRANTAR|HOSP|20261127101500||ORU^R01|C-1|P|2.5\r"
        f"OBR|1||{sample.accession}|KFT\r"
        "OBX|1|NM|K||6.9|mmol/L|||||F\r"
        "OBX|2|NM|CREJ2||1.1|mg/dL|||||F\r"
    )
    _, outcome = hl7in.handle(message.encode())
    assert (outcome.ack, outcome.stored) == ("AA", 2)

    def results() -> list[dict]:
        timeline = doc.get(f"/api/v1/patients/{registered['uhid']}/timeline").json()
        return next(v for v in timeline["visits"] if v["visit"] == visit)["lab_results"]

    assert results() == []  # awaiting a pathologist: not for acting on yet
    pathologist = make_user("patho", "pathologist", "Dr. Path")
    lab.do_verify(pathologist.username, sample.accession)
    shown = {(r["analyte"], r["value"], r["flag"]) for r in results()}
    assert shown == {("K", "6.9", "HH"), ("CREAT", "1.10", "")}
    record = doc.get(f"/api/v1/visits/{visit}/record").json()
    assert {r["analyte"] for r in record["lab_results"]} == {"K", "CREAT"}
