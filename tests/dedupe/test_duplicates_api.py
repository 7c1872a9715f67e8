"""GET /api/v1/duplicates - the records team's worklist as JSON."""

from nirantar.accounts.models import AuditEntry
from tests.dedupe.conftest import SUNITA_EN, SUNITA_HI


def _people(register, count: int) -> list[str]:
    """``count`` pairs of one person registered twice, each pair a different person."""
    names = ["Sunita Sharma", "Kavita Mishra", "Pooja Yadav", "Rekha Tiwari", "Neha Pandey"]
    made = []
    for i in range(count):
        mobile = f"98100000{i:02d}"
        one = {**SUNITA_EN, "name_en": names[i], "mobile": mobile, "date_of_birth": f"198{i}-05-01"}
        made += [register(one), register({**one, "name_en": names[i].upper()})]
    return made


def test_each_pair_has_both_uhids_a_score_and_the_evidence(register, records_api):
    first, second = register(SUNITA_HI), register(SUNITA_EN)
    body = records_api.get("/api/v1/duplicates").json()
    assert body["count"] == 1 and body["offset"] == 0
    [pair] = body["results"]
    assert {pair["uhid_a"], pair["uhid_b"]} == {first, second}
    assert pair["uhid_a"] < pair["uhid_b"]
    assert 0.6 <= pair["score"] <= 1
    assert {e["field"] for e in pair["evidence"]} >= {"name", "guardian", "sex", "birth", "mobile"}
    assert all(set(e) == {"field", "agreement", "detail", "weight"} for e in pair["evidence"])
    assert pair["found_at"].endswith("+00:00")


def test_pages_follow_the_score_and_cover_every_pair_once(register, records_api):
    _people(register, 3)
    first = records_api.get("/api/v1/duplicates?limit=2").json()
    second = records_api.get("/api/v1/duplicates?limit=2&offset=2").json()
    assert first["count"] == second["count"] == 3
    assert len(first["results"]) == 2 and len(second["results"]) == 1
    seen = [(p["uhid_a"], p["uhid_b"]) for p in first["results"] + second["results"]]
    assert len(set(seen)) == 3
    scores = [p["score"] for p in first["results"] + second["results"]]
    assert scores == sorted(scores, reverse=True)


def test_bad_paging_and_an_unknown_status_are_400(records_api):
    for query in ("?limit=0", "?limit=1000", "?offset=-1", "?status=closed", "?limit=x"):
        response = records_api.get(f"/api/v1/duplicates{query}")
        assert response.status_code == 400, query


def test_a_clerk_gets_403_and_nobody_401(register, clerk_api, api_as):
    register(SUNITA_HI)
    register(SUNITA_EN)
    assert clerk_api.get("/api/v1/duplicates").status_code == 403
    assert api_as(None).get("/api/v1/duplicates").status_code == 401


def test_the_records_shown_are_audited(register, records_api, records):
    first, second = register(SUNITA_HI), register(SUNITA_EN)
    records_api.get("/api/v1/duplicates")
    entries = AuditEntry.objects.filter(actor=records.username, action="patient.search_result")
    assert {first, second} <= set(entries.values_list("patient", flat=True))
    assert set(entries.values_list("via", flat=True)) == {"api"}
