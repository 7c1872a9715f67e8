"""A merged patient in every module: the duplicate's visits, lab orders and results, and
stays show under the survivor (JSON API, FHIR, the counter); the old UHID finds the
survivor; an unmerge gives back exactly the answers from before the merge."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from nirantar.accounts.models import AuditEntry
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

REASON = "same person: same father, village and year of birth"


@pytest.fixture
def people(clerk_api, api_as, doctor, lab_tech, ram, admit) -> dict[str, Any]:
    """Ram registered twice. The survivor has a visit; the duplicate has a visit with a
    verified, reported glucose result, and a stay in a ward. All through the JSON API."""
    survivor = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    duplicate = clerk_api.post("/api/v1/patients", {**ram, "mobile": "9876500000"}).json()["uhid"]
    visits = {}
    for uhid in (survivor, duplicate):
        response = clerk_api.post("/api/v1/visits", {"uhid": uhid, "department": "MED"})
        assert response.status_code == 201, response.content
        visits[uhid] = response.json()["visit"]
    pathologist = api_as(make_user("nandita", "pathologist", "Dr. Nandita Rao"))
    lab = api_as(lab_tech)
    ordered = api_as(doctor).post(
        f"/api/v1/visits/{visits[duplicate]}/lab-orders", {"tests": ["RBS"]}
    )
    assert ordered.status_code == 201, ordered.content
    collected = lab.post(f"/api/v1/lab/orders/{ordered.json()['order']}/collect")
    [sample] = [s["accession"] for s in collected.json()["samples"]]
    assert lab.post(f"/api/v1/lab/samples/{sample}/receive").status_code == 200
    entered = lab.post(f"/api/v1/lab/samples/{sample}/results", {"values": {"GLUR": "110"}})
    assert entered.status_code == 201, entered.content
    assert pathologist.post(f"/api/v1/lab/samples/{sample}/verify").status_code == 200
    assert pathologist.post(f"/api/v1/lab/samples/{sample}/report").status_code == 200
    stay = admit(duplicate, "MW1-01")
    return {
        "survivor": survivor,
        "duplicate": duplicate,
        "visits": visits,
        "order": ordered.json()["order"],
        "sample": sample,
        "stay": stay,
        "pathologist": pathologist,
    }


def merge(api_as, records, people, path="merge") -> None:
    body = {"survivor": people["survivor"], "duplicate": people["duplicate"], "reason": REASON}
    response = api_as(records).post(f"/api/v1/patients/{path}", body)
    assert response.status_code == 200, response.content


def ids(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


def test_the_duplicates_visits_show_in_the_survivors_timeline(api_as, records, doctor, people):
    merge(api_as, records, people)
    for asked in (people["survivor"], people["duplicate"]):
        body = api_as(doctor).get(f"/api/v1/patients/{asked}/timeline").json()
        assert body["uhid"] == people["survivor"]
        assert body["merged_from"] == (None if asked == people["survivor"] else asked)
        assert {v["visit"] for v in body["visits"]} == set(people["visits"].values())
        [with_order] = [v for v in body["visits"] if v["lab_orders"]]
        assert with_order["visit"] == people["visits"][people["duplicate"]]
        assert with_order["lab_results"]


def test_a_read_by_the_old_uhid_is_audited_as_a_read_of_the_survivor(
    api_as, records, doctor, people
):
    merge(api_as, records, people)
    api_as(doctor).get(f"/api/v1/patients/{people['duplicate']}/timeline")
    [entry] = AuditEntry.objects.filter(actor=doctor.username, action="patient.timeline")
    assert entry.patient == people["survivor"]


def test_fhir_encounters_orders_and_results_follow_the_merge(
    fhir_as, api_as, records, doctor, people
):
    merge(api_as, records, people)
    fhir = fhir_as(doctor)
    expected_encounters = {*people["visits"].values(), people["stay"]}
    for asked in (people["survivor"], people["duplicate"]):
        encounters = fhir.get(f"/fhir/Encounter?patient={asked}").json()
        assert ids(encounters) == expected_encounters
        orders = fhir.get(f"/fhir/ServiceRequest?patient={asked}").json()
        assert orders["total"] == 1
        results = fhir.get(f"/fhir/Observation?patient={asked}&category=laboratory").json()
        assert results["total"] == 1
        reports = fhir.get(f"/fhir/DiagnosticReport?patient={asked}").json()
        assert reports["total"] == 1


def test_the_fhir_patient_of_the_old_uhid_is_replaced_by_the_survivor(
    fhir_as, api_as, records, clerk, people
):
    merge(api_as, records, people)
    fhir = fhir_as(clerk)
    old = fhir.get(f"/fhir/Patient/{people['duplicate']}").json()
    assert old["id"] == people["duplicate"]
    assert old["active"] is False
    assert old["link"] == [
        {"other": {"reference": f"Patient/{people['survivor']}"}, "type": "replaced-by"}
    ]
    kept = fhir.get(f"/fhir/Patient/{people['survivor']}").json()
    assert kept["active"] is True
    assert kept["link"] == [
        {"other": {"reference": f"Patient/{people['duplicate']}"}, "type": "replaces"}
    ]


def test_a_fhir_search_finds_the_survivor_and_never_the_duplicate(
    fhir_as, api_as, records, clerk, people
):
    merge(api_as, records, people)
    fhir = fhir_as(clerk)
    for query in ("name=Ram", "phone=9876500000", f"identifier={people['duplicate']}"):
        body = fhir.get(f"/fhir/Patient?{query}").json()
        found = [e["resource"]["id"] for e in body.get("entry", [])]
        if query.startswith("phone"):
            assert found == []  # the survivor keeps its own mobile
        else:
            assert found == [people["survivor"]], query


@pytest.fixture
def browser(clerk) -> Client:
    client = Client()
    response = client.post("/login/", {"username": clerk.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_the_old_uhid_scanned_at_the_counter_redirects_to_the_survivor_with_a_notice(
    browser, api_as, records, people
):
    survivor, duplicate = people["survivor"], people["duplicate"]
    merge(api_as, records, people)
    response = browser.get(f"/counter/patients/{duplicate}", headers={"HX-Request": "true"})
    assert response.status_code == 302
    assert response["Location"] == f"/counter/patients/{survivor}?merged_from={duplicate}"
    page = browser.get(response["Location"], headers={"HX-Request": "true"}).content.decode()
    assert f"{duplicate} was merged into this record, {survivor}" in page
    assert people["visits"][duplicate] in page  # the duplicate's visit is listed
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    page = browser.get(response["Location"], headers={"HX-Request": "true"}).content.decode()
    assert f"{duplicate} इस रिकॉर्ड, {survivor}, में मिला दिया गया है" in page
    found = browser.get(f"/counter/search?q={duplicate}").content.decode()
    assert f'data-uhid="{survivor}"' in found and f'data-uhid="{duplicate}"' not in found
    assert "merged-notice" in found


def test_a_notice_is_not_shown_for_a_uhid_that_was_not_merged(browser, people):
    survivor, duplicate = people["survivor"], people["duplicate"]
    page = browser.get(f"/counter/patients/{survivor}?merged_from={duplicate}").content.decode()
    assert "merged-notice" not in page


def _answers(fhir_as, api_as, users, people) -> dict[str, Any]:
    """What the JSON API and FHIR say of both UHIDs (bundle timestamps aside)."""
    found: dict[str, Any] = {}
    for uhid in (people["survivor"], people["duplicate"]):
        found[f"patient {uhid}"] = api_as(users["clerk"]).get(f"/api/v1/patients/{uhid}").json()
        timeline = api_as(users["doctor"]).get(f"/api/v1/patients/{uhid}/timeline")
        found[f"timeline {uhid}"] = timeline.json()
        found[f"Patient {uhid}"] = fhir_as(users["clerk"]).get(f"/fhir/Patient/{uhid}").json()
        for kind in ("Encounter", "ServiceRequest"):
            body = fhir_as(users["doctor"]).get(f"/fhir/{kind}?patient={uhid}").json()
            body.pop("timestamp")
            found[f"{kind} {uhid}"] = body
        body = fhir_as(users["lab"]).get(f"/fhir/DiagnosticReport?patient={uhid}").json()
        body.pop("timestamp")
        found[f"DiagnosticReport {uhid}"] = body
    return found


def test_an_unmerge_gives_back_exactly_the_answers_from_before_the_merge(
    fhir_as, api_as, records, clerk, doctor, people
):
    users = {"clerk": clerk, "doctor": doctor, "lab": make_user("lata", "pathologist", "Lata")}
    before = _answers(fhir_as, api_as, users, people)
    merge(api_as, records, people)
    merged = _answers(fhir_as, api_as, users, people)
    assert merged != before
    merge(api_as, records, people, "unmerge")
    assert _answers(fhir_as, api_as, users, people) == before


def test_a_visits_documents_stay_as_written_under_its_own_uhid(
    fhir_as, api_as, records, doctor, people
):
    """A merge changes what a person's record gathers, not what a visit's documents say:
    the duplicate's consultation is the same document before and after the merge."""
    from tests.fhir.test_documents import assert_a_whole_document, document

    visit = people["visits"][people["duplicate"]]
    body = {"code": "E11.9", "status": "provisional"}
    response = api_as(doctor).post(f"/api/v1/visits/{visit}/diagnoses", body)
    assert response.status_code == 201, response.content
    fhir = fhir_as(doctor)
    before = document(fhir, f"opconsult-{visit}")
    merge(api_as, records, people)
    after = document(fhir, f"opconsult-{visit}")
    found = assert_a_whole_document(after, "OPConsultRecord")
    [patient] = found["Patient"]
    assert patient["id"] == people["duplicate"]
    for bundle in (before, after):  # when it was assembled; the content's hash is versionId
        bundle.pop("timestamp")
        bundle["meta"].pop("lastUpdated")
    assert after == before
    assert api_as(doctor).get(f"/api/v1/visits/{visit}").json()["uhid"] == people["duplicate"]
