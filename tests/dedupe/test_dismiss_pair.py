"""POST /api/v1/duplicates/dismiss and /reopen - the records team's verdict on a pair."""

from nirantar.ledger.models import Event
from tests.dedupe.conftest import SUNITA_EN, SUNITA_HI, signed_in


def _pair(register):
    return sorted((register(SUNITA_HI), register(SUNITA_EN)))


def test_a_dismissed_pair_leaves_the_open_list_and_is_listed_as_dismissed(
    register, records_api, records
):
    a, b = _pair(register)
    response = records_api.post(
        "/api/v1/duplicates/dismiss",
        {"uhid_a": b.replace("-", ""), "uhid_b": a, "reason": "twins, checked their cards"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["uhid_a"], body["uhid_b"], body["status"]) == (a, b, "dismissed")
    assert body["review"]["actor"] == records.username
    assert records_api.get("/api/v1/duplicates").json()["count"] == 0
    dismissed = records_api.get("/api/v1/duplicates?status=dismissed").json()
    assert [(p["uhid_a"], p["uhid_b"]) for p in dismissed["results"]] == [(a, b)]
    event = Event.objects.get(type="dedupe.pair_dismissed")
    assert event.stream == f"duplicates:{a}|{b}"


def test_a_reopened_pair_is_open_again(register, records_api):
    a, b = _pair(register)
    records_api.post("/api/v1/duplicates/dismiss", {"uhid_a": a, "uhid_b": b, "reason": "no"})
    response = records_api.post(
        "/api/v1/duplicates/reopen", {"uhid_a": a, "uhid_b": b, "reason": "same ABHA after all"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "open"
    assert records_api.get("/api/v1/duplicates").json()["count"] == 1


def test_refusals_write_nothing(register, records_api, snapshot):
    a, b = _pair(register)
    other = register({**SUNITA_EN, "name_en": "Mohan Das", "sex": "M", "mobile": "9000000001"})
    before = snapshot()
    cases = [
        ({"uhid_a": a, "uhid_b": b, "reason": " "}, 400),
        ({"uhid_a": a, "uhid_b": a, "reason": "x"}, 400),
        ({"uhid_a": a, "uhid_b": "101-0000001-0", "reason": "x"}, 400),
        ({"uhid_a": a, "uhid_b": other, "reason": "not listed"}, 404),
        ({"uhid_a": a, "uhid_b": b, "reason": "x", "extra": 1}, 400),
    ]
    for body, status in cases:
        assert records_api.post("/api/v1/duplicates/dismiss", body).status_code == status, body
    assert (
        records_api.post(
            "/api/v1/duplicates/reopen", {"uhid_a": a, "uhid_b": b, "reason": "x"}
        ).status_code
        == 409
    )
    assert before.unchanged()
    records_api.post("/api/v1/duplicates/dismiss", {"uhid_a": a, "uhid_b": b, "reason": "x"})
    again = records_api.post(
        "/api/v1/duplicates/dismiss", {"uhid_a": a, "uhid_b": b, "reason": "x"}
    )
    assert again.status_code == 409


def test_a_clerk_may_not_dismiss(register, clerk_api):
    a, b = _pair(register)
    body = {"uhid_a": a, "uhid_b": b, "reason": "x"}
    assert clerk_api.post("/api/v1/duplicates/dismiss", body).status_code == 403


def test_the_worklist_screen_dismisses_and_reopens(register, records):
    a, b = _pair(register)
    client = signed_in(records)
    response = client.post(
        "/duplicates/verdict", {"uhid_a": a, "uhid_b": b, "reason": "twins", "verdict": "dismiss"}
    )
    assert response.status_code == 302
    assert a not in client.get("/duplicates/").content.decode()
    html = client.get("/duplicates/?status=dismissed").content.decode()
    assert a in html and "twins" in html and 'value="reopen"' in html
    client.post(
        "/duplicates/verdict", {"uhid_a": a, "uhid_b": b, "reason": "again", "verdict": "reopen"}
    )
    assert a in client.get("/duplicates/").content.decode()
    assert client.post("/duplicates/verdict", {"uhid_a": a}).status_code == 400


def test_a_merged_pair_leaves_the_open_list_and_the_counter_offers_the_survivor(
    register, records_api, clerk
):
    from tests.dedupe.test_suggestions import suggest

    a, b = _pair(register)
    response = records_api.post(
        "/api/v1/patients/merge", {"survivor": a, "duplicate": b, "reason": "same person"}
    )
    assert response.status_code == 200, response.content
    assert records_api.get("/api/v1/duplicates").json()["count"] == 0
    merged = records_api.get("/api/v1/duplicates?status=merged").json()["results"]
    assert [(p["uhid_a"], p["uhid_b"], p["status"]) for p in merged] == [(a, b, "merged")]
    html = suggest(signed_in(clerk), name_en="Sunita Sharma", sex="F", mobile="9812345678")
    assert a in html and b not in html
