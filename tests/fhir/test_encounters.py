"""GET /fhir/Encounter/{id} and ?patient= - OPD visits (AMB) and ward stays (IMP)."""

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir.encounters import ACT_CODE

pytestmark = pytest.mark.django_db


@pytest.fixture
def stay(registered, visit, admit, api_as, doctor):
    """The registered patient's OPD visit, and a stay admitted from it and discharged."""
    number = admit(registered["uhid"], "MW1-02", source="opd", visit=visit)
    done = api_as(doctor).post(f"/api/v1/admissions/{number}/discharge", {"type": "lama"})
    assert done.status_code == 200, done.content
    return number


def test_an_opd_visit_reads_as_an_ambulatory_encounter(clerk_fhir, registered, visit):
    response = clerk_fhir.get(f"/fhir/Encounter/{visit}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == visit
    assert body["class"] == {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"}
    assert body["status"] == "arrived"  # registered today, not yet seen
    assert body["subject"] == {"reference": f"Patient/{registered['uhid']}"}
    assert body["serviceType"]["coding"][0]["code"] == "MED"
    assert body["period"]["start"]
    assert "end" not in body["period"]


def test_the_opd_queue_gives_the_status(clerk_fhir, visit, api_as, doctor):
    doc = api_as(doctor)
    assert doc.post(f"/api/v1/visits/{visit}/start").status_code == 200
    assert clerk_fhir.get(f"/fhir/Encounter/{visit}").json()["status"] == "in-progress"
    assert doc.post(f"/api/v1/visits/{visit}/close").status_code == 200
    done = clerk_fhir.get(f"/fhir/Encounter/{visit}").json()
    assert done["status"] == "finished"
    assert done["period"]["end"] >= done["period"]["start"]


def test_a_past_visit_never_seen_is_cancelled(clerk_fhir, visit, monkeypatch):
    from datetime import timedelta

    from nirantar import timeutil

    tomorrow = timeutil.today() + timedelta(days=1)
    monkeypatch.setattr(timeutil, "today", lambda: tomorrow)
    assert clerk_fhir.get(f"/fhir/Encounter/{visit}").json()["status"] == "cancelled"


def test_a_stay_reads_as_an_inpatient_encounter_with_its_bed(fhir_as, nurse, registered, admit):
    number = admit(registered["uhid"], "MW1-01")
    body = fhir_as(nurse).get(f"/fhir/Encounter/{number}").json()
    assert body["id"] == number
    assert body["class"]["code"] == "IMP"
    assert body["status"] == "in-progress"
    assert body["subject"] == {"reference": f"Patient/{registered['uhid']}"}
    assert body["location"][0] == {"location": {"reference": "Location/MW1-01"}, "status": "active"}
    assert body["location"][1]["location"]["reference"] == "Location/MW1"
    assert "end" not in body["period"]


def test_a_discharged_stay_is_finished_with_its_disposition(fhir_as, nurse, stay, visit):
    body = fhir_as(nurse).get(f"/fhir/Encounter/{stay}").json()
    assert body["status"] == "finished"
    assert body["period"]["end"] >= body["period"]["start"]
    assert body["partOf"] == {"reference": f"Encounter/{visit}"}
    disposition = body["hospitalization"]["dischargeDisposition"]
    assert disposition["coding"][0]["code"] == "aadvice"
    assert disposition["text"] == "lama"
    assert {x["status"] for x in body["location"]} == {"completed"}


def test_reads_are_audited_as_the_api_audits_them(fhir_as, nurse, registered, visit, stay):
    client = fhir_as(nurse)
    client.get(f"/fhir/Encounter/{visit}")
    client.get(f"/fhir/Encounter/{stay}")
    entries = AuditEntry.objects.filter(
        patient=registered["uhid"], via="fhir", actor=nurse.username
    )
    assert {e.action for e in entries} >= {"visit.read", "wards.admission"}


def test_a_patients_encounters_are_searched_newest_first_and_paged(
    fhir_as, nurse, registered, visit, stay
):
    client = fhir_as(nurse)
    uhid = registered["uhid"]
    for query in (f"patient={uhid}", f"subject=Patient/{uhid}", f"patient=Patient/{uhid}"):
        body = client.get(f"/fhir/Encounter?{query}").json()
        assert body["type"] == "searchset" and body["total"] == 2, query
        assert [e["resource"]["id"] for e in body["entry"]] == [stay, visit]
    first = client.get(f"/fhir/Encounter?patient={uhid}&_count=1").json()
    assert [e["resource"]["id"] for e in first["entry"]] == [stay]
    [after] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = client.get(after[after.index("/fhir/") :]).json()
    assert [e["resource"]["id"] for e in second["entry"]] == [visit]
    assert AuditEntry.objects.filter(patient=uhid, action="encounter.search").exists()


def test_a_search_for_nobody_is_empty_and_a_bad_one_400(clerk_fhir):
    empty = clerk_fhir.get("/fhir/Encounter?patient=101-0009999-5")  # well-formed, unknown
    assert empty.status_code == 200
    assert empty.json()["total"] == 0 and "entry" not in empty.json()
    for query in ("", "patient=banana", "subject=Group/1", "patient=1&subject=Patient/2", "x=1"):
        response = clerk_fhir.get(f"/fhir/Encounter?{query}")
        assert response.status_code == 400, query
        assert response.json()["resourceType"] == "OperationOutcome"


def test_unknown_ids_are_404(clerk_fhir, visit):
    for bad in ("OP-101-9999999-1", "IP-101-9999999-1", "banana", visit[:-1] + "x", "x" * 300):
        response = clerk_fhir.get(f"/fhir/Encounter/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["issue"][0]["code"] == "not-found"


def test_roles_without_the_right_are_refused_and_nothing_is_audited(
    fhir_as, lab_tech, auditor, registered, visit
):
    for user in (lab_tech, auditor, None):
        client = fhir_as(user)
        assert client.get(f"/fhir/Encounter/{visit}").status_code in (401, 403)
        assert client.get(f"/fhir/Encounter?patient={registered['uhid']}").status_code in (
            401,
            403,
        )
    assert not AuditEntry.objects.filter(patient=registered["uhid"], via="fhir").exists()


def test_a_search_narrows_by_status_and_by_the_day_it_began(
    fhir_as, nurse, registered, visit, stay
):
    from datetime import timedelta

    from nirantar import timeutil

    client = fhir_as(nurse)
    uhid = registered["uhid"]
    today = timeutil.today()
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)

    def ids(query: str) -> list[str]:
        body = client.get(f"/fhir/Encounter?patient={uhid}&{query}").json()
        return [e["resource"]["id"] for e in body.get("entry", [])]

    visit_status = client.get(f"/fhir/Encounter/{visit}").json()["status"]
    assert visit_status != "finished"
    assert ids("status=finished") == [stay]
    assert ids(f"status={visit_status}") == [visit]
    assert ids(f"status=finished,{visit_status}") == [stay, visit]
    assert ids(f"date={today}") == [stay, visit]
    assert ids(f"date={today:%Y-%m}") == [stay, visit]
    assert ids(f"date={yesterday}") == []
    assert ids(f"date=ge{today}&date=lt{tomorrow}") == [stay, visit]
    assert ids(f"date=gt{today}") == [] and ids(f"date=le{yesterday}") == []
    assert ids(f"date=ne{today}") == []
    assert ids(f"date=ge{today}&status=finished") == [stay]
    # A repeated date survives paging: the next link keeps both bounds.
    first = client.get(f"/fhir/Encounter?patient={uhid}&date=ge{today}&date=lt{tomorrow}&_count=1")
    [after] = [link["url"] for link in first.json()["link"] if link["relation"] == "next"]
    assert [
        e["resource"]["id"] for e in client.get(after[after.index("/fhir/") :]).json()["entry"]
    ] == [visit]


def test_a_bad_date_or_status_is_400_before_anything_is_read(fhir_as, nurse, registered, visit):
    client = fhir_as(nurse)
    uhid = registered["uhid"]
    before = AuditEntry.objects.count()
    for query in (
        "status=done",
        "date=2026-13-01",
        "date=2026-02-30",
        "date=yesterday",
        "date=sa2026",
        "date=2026&date=2027&date=2028",
        "date=2026-01-01T10:00",
    ):
        response = client.get(f"/fhir/Encounter?patient={uhid}&{query}")
        assert response.status_code == 400, query
        assert response.json()["issue"][0]["diagnostics"].split(":")[0] in ("status", "date"), query
    assert AuditEntry.objects.count() == before
