"""The worklist fills itself when a patient is registered or corrected."""

from nirantar.accounts.models import AuditEntry
from tests.dedupe.conftest import BROTHER_ONE, BROTHER_TWO, SUNITA_EN, SUNITA_HI, signed_in


def pairs(records_api, query: str = "") -> list[dict]:
    response = records_api.get(f"/api/v1/duplicates{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_one_woman_registered_in_devanagari_and_in_latin_becomes_one_pair(register, records_api):
    first = register(SUNITA_HI)
    second = register(SUNITA_EN)
    [pair] = pairs(records_api)
    assert (pair["uhid_a"], pair["uhid_b"]) == tuple(sorted((first, second)))
    assert pair["score"] >= 0.6 and pair["status"] == "open"
    evidence = {e["field"]: e for e in pair["evidence"]}
    assert evidence["name"]["agreement"] in ("same", "close")
    assert evidence["mobile"]["agreement"] == "same"
    assert evidence["birth"]["agreement"] == "same"


def test_brothers_sharing_father_phone_and_district_are_not_a_pair(register, records_api):
    register(BROTHER_ONE)
    register(BROTHER_TWO)
    assert pairs(records_api) == []


def test_a_correction_that_sets_them_apart_takes_the_pair_off(register, records_api, clerk_api):
    register(SUNITA_HI)
    second = register(SUNITA_EN)
    assert len(pairs(records_api)) == 1
    response = clerk_api.patch(
        f"/api/v1/patients/{second}",
        {"name_en": "Anjali Gupta", "date_of_birth": "1999-11-02", "reason": "wrong patient"},
    )
    assert response.status_code == 200, response.content
    assert pairs(records_api) == []


def test_a_correction_that_makes_them_alike_puts_the_pair_on(register, records_api, clerk_api):
    register(SUNITA_HI)
    other = register({**SUNITA_EN, "name_en": "Anjali Gupta", "date_of_birth": "1999-11-02"})
    assert pairs(records_api) == []
    response = clerk_api.patch(
        f"/api/v1/patients/{other}",
        {"name_en": "Sunita Sharma", "date_of_birth": "1985-03-14", "reason": "typed wrongly"},
    )
    assert response.status_code == 200, response.content
    [pair] = pairs(records_api)
    assert other in (pair["uhid_a"], pair["uhid_b"])


def test_the_records_team_sees_both_records_side_by_side_audited(register, records):
    first = register(SUNITA_HI)
    second = register(SUNITA_EN)
    html = signed_in(records).get("/duplicates/").content.decode()
    assert first in html and second in html
    assert "सुनीता शर्मा" in html and "Suneeta Sharma" in html
    assert "data-merge" in html and "/duplicates/merge" in html
    shown = AuditEntry.objects.filter(actor=records.username, action="patient.search_result")
    assert {first, second} <= set(shown.values_list("patient", flat=True))


def test_the_worklist_screen_is_in_hindi_too(register, records):
    register(SUNITA_HI)
    register(SUNITA_EN)
    client = signed_in(records)
    client.post("/i18n/setlang/", {"language": "hi", "next": "/duplicates/"})
    html = client.get("/duplicates/").content.decode()
    assert "संभावित दोहरे मरीज़" in html and "प्रमाण" in html


def test_the_worklist_says_while_a_restores_pairs_are_still_being_worked_out(register, records):
    from nirantar.dedupe import backfill

    register(SUNITA_HI)
    client = signed_in(records)
    assert "still being worked out" not in client.get("/duplicates/").content.decode()
    backfill.leave_for_later(123456)
    try:
        html = client.get("/duplicates/").content.decode()
        assert "still being worked out" in html and "123456" in html
        client.post("/i18n/setlang/", {"language": "hi", "next": "/duplicates/"})
        assert "अभी निकाली जा रही हैं" in client.get("/duplicates/").content.decode()
        backfill.backfill()
        assert "निकाली जा रही" not in client.get("/duplicates/").content.decode()
    finally:
        backfill.marker().unlink(missing_ok=True)


def test_a_clerk_may_not_open_the_worklist(clerk):
    assert signed_in(clerk).get("/duplicates/").status_code == 403


def test_the_records_team_merges_a_pair_from_the_worklist(register, records, records_api):
    first = register(SUNITA_HI)
    second = register(SUNITA_EN)
    client = signed_in(records)
    refused = client.post(
        "/duplicates/merge", {"uhid_a": first, "uhid_b": second, "reason": "same woman"}
    )
    assert refused.status_code == 400  # no record chosen to keep: nothing merged
    assert [p["status"] for p in pairs(records_api)] == ["open"]
    done = client.post(
        "/duplicates/merge",
        {"uhid_a": first, "uhid_b": second, "survivor": second, "reason": "same woman"},
    )
    assert done.status_code == 302 and done["Location"].endswith("?status=merged")
    assert pairs(records_api) == []
    [merged] = pairs(records_api, "?status=merged")
    assert {merged["uhid_a"], merged["uhid_b"]} == {first, second}
    shown = records_api.get(f"/api/v1/patients/{first}").json()
    assert shown["uhid"] == second and shown["merged_from"] == first


def test_only_the_records_team_may_merge_from_the_worklist(register, clerk):
    first = register(SUNITA_HI)
    second = register(SUNITA_EN)
    response = signed_in(clerk).post(
        "/duplicates/merge",
        {"uhid_a": first, "uhid_b": second, "survivor": second, "reason": "same woman"},
    )
    assert response.status_code == 403
