"""Bad input gets a clear 4xx naming the field, and nothing is written anywhere."""

import pytest

LONG = "A" * 101


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name_hi": None, "name_en": None}, "name_en"),
        ({"name_hi": "", "name_en": "  "}, "name_en"),
        ({"name_en": "Ram 2"}, "name_en"),
        ({"name_hi": "Ram"}, "name_hi"),
        ({"name_en": LONG}, "name_en"),
        ({"age_years": 131}, "age_years"),
        ({"age_years": -1}, "age_years"),
        ({"age_years": "forty"}, "age_years"),
        ({"age_years": None}, "age_years"),
        ({"age_years": None, "date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1980-01-01"}, "date_of_birth"),
        ({"age_years": 3, "age_months": 12}, "age_months"),
        ({"mobile": "12345"}, "mobile"),
        ({"mobile": "5876543210"}, "mobile"),
        ({"mobile": "98765432101"}, "mobile"),
        ({"abha_number": "1234"}, "abha_number"),
        ({"abha_number": "12-3456-7890-12345"}, "abha_number"),
        ({"sex": "X"}, "sex"),
        ({"guardian_relation": "F/O"}, "guardian_relation"),
        ({"guardian_relation": None}, "guardian_relation"),
        ({"category": "vip"}, "category"),
        ({"address": {"pin": "012345"}}, "address.pin"),
        ({"address": {"state": "Atlantis"}}, "address.state"),
        ({"address": {"line": "x" * 201}}, "address.line"),
        ({"address": {"planet": "Earth"}}, "address.planet"),
        ({"blood_group": "O+"}, "blood_group"),
        ({"name_hi": "\u200c", "name_en": None}, "name_hi"),
        ({"name_hi": "राम १२"}, "name_hi"),
        ({"mobile": "9८७६५४३२१x"}, "mobile"),
        ({"address": {"line": "12 Gali\u202e"}}, "address.line"),
        ({"address": {"district": "Sitapur\x00"}}, "address.district"),
    ],
)
def test_a_bad_patient_field_is_named_and_nothing_is_written(
    clerk_api, ram, snapshot, change, field
):
    ram.update(change)
    before = snapshot()
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["fields"], error
    assert error["message"]
    assert before.unchanged()


@pytest.mark.parametrize("raw", ["{not json", "", "[1, 2]", '"text"', "null"])
def test_a_body_that_is_not_a_json_object_is_refused(clerk_api, snapshot, raw):
    before = snapshot()
    response = clerk_api.post("/api/v1/patients", raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_json", "validation_failed")
    assert "body" in response.json()["error"]["fields"]
    assert before.unchanged()


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"uhid": "101-0000001-0", "department": "Medicine"}, "uhid", 400),
        ({"uhid": "12345", "department": "Medicine"}, "uhid", 400),
        ({"department": "Medicine"}, "uhid", 400),
        ({"uhid": "{uhid}", "department": "Astrology"}, "department", 400),
        ({"uhid": "{uhid}", "department": "M" * 101}, "department", 400),
        ({"uhid": "101-9999999-{check}", "department": "Medicine"}, "uhid", 404),
    ],
)
def test_a_bad_visit_is_refused_and_nothing_is_written(
    clerk_api, registered, snapshot, body, field, status
):
    from nirantar.ledger.numbering import verhoeff_check_digit

    body = {
        k: v.format(uhid=registered["uhid"], check=verhoeff_check_digit("1019999999"))
        for k, v in body.items()
    }
    if body.get("uhid") == "101-0000001-0" and registered["uhid"].endswith("-0"):
        body["uhid"] = "101-0000001-1"
    before = snapshot()
    response = clerk_api.post("/api/v1/visits", body)
    assert response.status_code == status, response.content
    assert field in response.json()["error"]["fields"]
    assert before.unchanged()


def test_a_wrong_check_digit_is_reported_as_such(clerk_api, registered):
    good = registered["uhid"]
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    response = clerk_api.get(f"/api/v1/patients/{bad}")
    assert response.status_code == 400
    assert "check digit" in response.json()["error"]["fields"]["uhid"]


def test_devanagari_digits_are_stored_as_the_ascii_digits_they_mean(clerk_api, ram):
    ram.update(mobile="९८७६५४३२१०", address={"pin": "२६१००१"})
    body = clerk_api.post("/api/v1/patients", ram).json()
    assert body["mobile"] == "9876543210" and body["address"]["pin"] == "261001"
    found = clerk_api.get("/api/v1/patients?q=९८७६५४३२१०").json()["results"]
    assert [p["uhid"] for p in found] == [body["uhid"]]
