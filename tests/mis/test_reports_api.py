"""GET /api/v1/reports/opd, /reports/lab-turnaround and /reports/beds: the exact figures
of three days made through the API (see conftest), the range and filters, bad input and
who may ask."""

from __future__ import annotations

from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.ledger.models import Head
from tests.conftest import make_user
from tests.mis.hospital_days import ok

pytestmark = pytest.mark.django_db


def hours(body: dict[str, Any]) -> dict[int, int]:
    return {h["hour"]: h["visits"] for h in body["by_hour"] if h["visits"]}


def departments(body: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {d["department"]: (d["visits"], d["new"], d["returning"]) for d in body["by_department"]}


def test_opd_of_one_day_by_department_new_returning_and_hour(days, mis_api):
    body = ok(mis_api.get("/api/v1/reports/opd?from=2027-01-12&to=2027-01-12"))
    assert (body["from"], body["to"], body["department"]) == ("2027-01-12", "2027-01-12", "")
    assert (body["total"], body["new"], body["returning"]) == (6, 3, 3)
    assert departments(body) == {"MED": (4, 2, 2), "ENT": (2, 1, 1)}
    assert [d["department"] for d in body["by_department"]] == ["MED", "ENT"]  # busiest first
    assert body["by_department"][0]["name_hi"] == "मेडिसिन (काय चिकित्सा)"
    assert hours(body) == {9: 3, 10: 2, 14: 1}
    assert [h["hour"] for h in body["by_hour"]] == list(range(24))


def test_a_range_adds_the_days_up(days, mis_api):
    body = ok(mis_api.get("/api/v1/reports/opd?from=2027-01-11&to=2027-01-13"))
    assert (body["total"], body["new"], body["returning"]) == (8, 5, 3)
    assert departments(body) == {"MED": (5, 3, 2), "ENT": (2, 1, 1), "OPH": (1, 1, 0)}
    assert hours(body) == {9: 3, 10: 3, 11: 1, 14: 1}


def test_today_is_the_default_and_one_end_means_one_day(days, mis_api):
    today = ok(mis_api.get("/api/v1/reports/opd"))
    assert (today["from"], today["to"]) == ("2027-01-13", "2027-01-13")
    assert departments(today) == {"OPH": (1, 1, 0)} and hours(today) == {11: 1}
    only_from = ok(mis_api.get("/api/v1/reports/opd?from=2027-01-11"))
    assert (only_from["to"], only_from["total"]) == ("2027-01-11", 1)
    only_to = ok(mis_api.get("/api/v1/reports/opd?to=2027-01-12"))
    assert (only_to["from"], only_to["total"]) == ("2027-01-12", 6)


def test_a_department_filter(days, mis_api):
    body = ok(mis_api.get("/api/v1/reports/opd?from=2027-01-12&to=2027-01-12&department=ent"))
    assert body["department"] == "ENT"
    assert (body["total"], body["new"], body["returning"]) == (2, 1, 1)
    assert hours(body) == {9: 1, 10: 1}


def test_a_visit_under_a_uhid_merged_away_is_the_persons_return(days, api_as, records, mis_api):
    """Esha registered again as a 'new' patient and came to Medicine: once the records team
    merges the two records, that visit is her return, not a new patient."""
    clerk_api = days["clerk_api"]
    again = ok(
        clerk_api.post(
            "/api/v1/patients",
            {
                "name_en": "Esha K",
                "name_hi": "ईशा के",
                "sex": "F",
                "age_years": 34,
                "mobile": "9811100099",
            },
        ),
        201,
    )["uhid"]
    ok(clerk_api.post("/api/v1/visits", {"uhid": again, "department": "MED"}), 201)
    before = ok(mis_api.get("/api/v1/reports/opd"))
    assert (before["total"], before["new"], before["returning"]) == (2, 2, 0)
    merged = api_as(records).post(
        "/api/v1/patients/merge",
        {
            "survivor": days["people"]["Esha"],
            "duplicate": again,
            "reason": "same person, same mobile",
        },
    )
    assert merged.status_code == 200, merged.content
    after = ok(mis_api.get("/api/v1/reports/opd"))
    assert (after["total"], after["new"], after["returning"]) == (2, 1, 1)
    assert departments(after) == {"OPH": (1, 1, 0), "MED": (1, 0, 1)}


def test_lab_turnaround_by_section_median_and_90th(days, mis_api):
    body = ok(mis_api.get("/api/v1/reports/lab-turnaround?from=2027-01-12&to=2027-01-12"))
    sections = {s["section"]: s for s in body["sections"]}
    assert list(sections) == ["biochemistry", "clinical pathology", "haematology", "microbiology"]
    assert sections["haematology"] | {} == {
        "section": "haematology",
        "name_hi": "रुधिर विज्ञान",
        "samples": 3,
        "median_minutes": 45.0,
        "p90_minutes": 90.0,
    }
    bio = sections["biochemistry"]
    assert (bio["samples"], bio["median_minutes"], bio["p90_minutes"]) == (2, 50.0, 50.0)
    assert sections["microbiology"]["samples"] == 0
    assert sections["microbiology"]["median_minutes"] is None
    assert body["samples"] == 5

    both = ok(mis_api.get("/api/v1/reports/lab-turnaround?from=2027-01-11&to=2027-01-12"))
    haem = {s["section"]: s for s in both["sections"]}["haematology"]
    assert (haem["samples"], haem["median_minutes"], haem["p90_minutes"]) == (4, 45.0, 90.0)
    only_11 = ok(mis_api.get("/api/v1/reports/lab-turnaround?from=2027-01-11"))
    haem = {s["section"]: s for s in only_11["sections"]}["haematology"]
    assert (haem["samples"], haem["median_minutes"], haem["p90_minutes"]) == (1, 10.0, 10.0)


def test_the_lab_screen_and_the_report_agree(days, mis_api, api_as):
    """One query behind both: the laboratory's own turnaround over the last day."""
    path_api = api_as(make_user("ravi", "pathologist"))
    lab_rows = ok(path_api.get("/api/v1/lab/turnaround?days=2"))
    lab_haem = next(r for r in lab_rows if r["kind"] == "section" and r["name"] == "haematology")
    report = ok(mis_api.get("/api/v1/reports/lab-turnaround?from=2027-01-12&to=2027-01-12"))
    mine = {s["section"]: s for s in report["sections"]}["haematology"]
    assert (lab_haem["samples"], lab_haem["median_minutes"], lab_haem["p90_minutes"]) == (
        mine["samples"],
        mine["median_minutes"],
        mine["p90_minutes"],
    )


def by_ward(body: dict[str, Any]) -> dict[str, tuple[int, int, float]]:
    return {w["ward"]: (w["occupied"], w["beds"], w["occupancy"]) for w in body["wards"]}


def test_beds_now_and_at_a_past_midnight(days, mis_api):
    now = ok(mis_api.get("/api/v1/reports/beds"))
    assert now["basis"] == "now" and now["at"] == "2027-01-13T06:30:00+00:00"
    wards = by_ward(now)
    assert len(wards) == 9
    assert wards["MW2"] == (3, 30, 10.0)
    assert wards["MW1"] == (1, 30, 3.3)
    assert wards["ICU"] == (1, 12, 8.3)
    assert wards["SW1"] == (0, 24, 0.0)
    assert (now["occupied"], now["beds"], now["occupancy"]) == (5, 186, 2.7)

    past = ok(mis_api.get("/api/v1/reports/beds?from=2027-01-11&to=2027-01-12"))
    assert past["basis"] == "midnight_census"
    assert past["at"] == "2027-01-12T18:30:00+00:00"  # the midnight ending 12 Jan, India time
    wards = by_ward(past)
    assert (wards["MW2"], wards["MW1"], wards["ICU"]) == ((2, 30, 6.7), (1, 30, 3.3), (1, 12, 8.3))
    assert past["occupied"] == 4

    earlier = ok(mis_api.get("/api/v1/reports/beds?from=2027-01-11&to=2027-01-11"))
    assert earlier["occupied"] == 0

    one = ok(mis_api.get("/api/v1/reports/beds?ward=mw2"))
    assert one["ward"] == "MW2" and list(by_ward(one)) == ["MW2"]
    assert (one["occupied"], one["beds"], one["occupancy"]) == (3, 30, 10.0)


def test_every_report_says_how_fresh_it_is(days, mis_api):
    newest = max(Head.objects.values_list("hlc_wall", flat=True))
    for path in ("opd", "lab-turnaround", "beds"):
        body = ok(mis_api.get(f"/api/v1/reports/{path}"))
        # The newest event applied here: the director's API token, issued at 12:00 India
        # time (after Esha's visit at 11:00).
        assert body["as_of"] == "2027-01-13T06:30:00+00:00"
        assert newest == 1799821800000
        fresh = body["freshness"]
        assert fresh["node"] == "test-counter" and fresh["held"] == 0
        [origin] = fresh["origins"]
        assert origin["origin"] == "test-counter" and origin["this_node"] is True
        assert origin["newest_event_at"] == "2027-01-13T06:30:00+00:00"
        assert origin["last_heard_at"] == "2027-01-13T06:30:00+00:00"  # itself: now
        assert origin["events"] > 0


def test_reports_name_no_patient_and_audit_no_read(days, mis_api):
    reads = AuditEntry.objects.count()
    for path in ("opd?from=2027-01-11&to=2027-01-13", "lab-turnaround", "beds"):
        text = mis_api.get(f"/api/v1/reports/{path}").content.decode()
        for uhid in days["people"].values():
            assert uhid not in text
        assert "Asha" not in text and "Kumari" not in text
    assert AuditEntry.objects.count() == reads


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2027-13-01", "from", "'from' is not a date"),
        ("to=yesterday", "to", "'to' is not a date"),
        ("from=2027-01-12&to=2027-01-11", "to", "the range ends before it starts"),
        ("from=2027-01-13&to=2027-01-14", "to", "the range is in the future"),
        ("from=2026-12-01&to=2027-01-13", "to", "a report covers at most 31 days"),
    ],
)
def test_a_bad_range_is_refused_with_the_field_named(days, mis_api, query, field, message):
    for path in ("opd", "lab-turnaround", "beds"):
        response = mis_api.get(f"/api/v1/reports/{path}?{query}")
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["message"] == message and field in error["fields"]


def test_exactly_31_days_is_allowed(days, mis_api):
    body = ok(mis_api.get("/api/v1/reports/opd?from=2026-12-14&to=2027-01-13"))
    assert body["total"] == 8


def test_an_unknown_department_or_ward_is_not_found(days, mis_api):
    response = mis_api.get("/api/v1/reports/opd?department=NOPE")
    assert response.status_code == 404 and "department" in response.json()["error"]["fields"]
    response = mis_api.get("/api/v1/reports/beds?ward=NOPE")
    assert response.status_code == 404 and "ward" in response.json()["error"]["fields"]


@pytest.mark.parametrize("role", ["management", "records", "admin"])
def test_management_records_and_admin_may_read_reports(days, api_as, role):
    api = api_as(make_user(f"reader-{role}", role))
    for path in ("opd", "lab-turnaround", "beds"):
        assert api.get(f"/api/v1/reports/{path}").status_code == 200


@pytest.mark.parametrize(
    "role", ["clerk", "doctor", "nurse", "lab", "pathologist", "billing", "auditor", "display"]
)
def test_other_roles_are_refused(days, api_as, role):
    api = api_as(make_user(f"other-{role}", role))
    for path in ("opd", "lab-turnaround", "beds"):
        response = api.get(f"/api/v1/reports/{path}")
        assert response.status_code == 403, (role, path)
        assert response.json()["error"]["code"] == "forbidden"


def test_no_token_no_report(days, api_as):
    assert api_as(None).get("/api/v1/reports/opd").status_code == 401
