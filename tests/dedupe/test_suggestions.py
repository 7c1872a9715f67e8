"""The counter suggests existing patients while a new one is typed."""

import pytest

from nirantar.accounts.models import AuditEntry
from tests.dedupe.conftest import SUNITA_HI, signed_in


def suggest(client, **typed):
    response = client.get("/duplicates/suggest", typed, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content
    return response.content.decode()


@pytest.fixture
def counter(clerk):
    return signed_in(clerk)


def test_a_name_retyped_in_the_other_script_with_the_same_mobile_finds_the_patient(
    register, counter
):
    uhid = register(SUNITA_HI)
    html = suggest(counter, name_en="Sunita Sharma", sex="F", mobile="9812345678")
    assert uhid in html and "Already registered?" in html
    assert f'data-open="/counter/patients/{uhid}"' in html  # Enter opens the existing record


def test_name_guardian_and_age_find_the_patient_without_a_mobile(register, counter):
    uhid = register(SUNITA_HI)
    html = suggest(
        counter,
        name_en="Suneeta Sharma",
        sex="F",
        age_years="41",
        guardian_relation="W/O",
        guardian_name="Ramesh Sharma",
        address_district="Sitapur",
    )
    assert uhid in html


def test_an_unrelated_person_gets_no_suggestion(register, counter):
    register(SUNITA_HI)
    html = suggest(counter, name_en="Mohan Das", sex="M", age_years="60", mobile="9000000001")
    assert html.strip() == ""


def test_a_blank_form_asks_nothing(register, counter):
    register(SUNITA_HI)
    assert suggest(counter).strip() == ""


def test_the_suggested_records_are_audited_as_shown(register, counter, clerk):
    uhid = register(SUNITA_HI)
    suggest(counter, name_en="Sunita Sharma", sex="F", mobile="9812345678")
    entry = AuditEntry.objects.get(patient=uhid, actor=clerk.username)
    assert entry.action == "patient.search_result" and entry.via == "screen"


def test_hostile_input_is_just_text(register, counter):
    register(SUNITA_HI)
    for name in ("' OR 1=1 --", "<script>x</script>", "%", "a" * 500, "\u202e"):
        suggest(counter, name_en=name, age_years="x", date_of_birth="nope", sex="Q")


def test_only_the_counter_roles_may_ask(doctor, records):
    assert signed_in(doctor).get("/duplicates/suggest").status_code == 403
    assert signed_in(records).get("/duplicates/suggest").status_code == 200


def test_the_new_patient_form_asks_after_a_pause(counter):
    html = counter.get("/counter/").content.decode()
    assert 'hx-get="/duplicates/suggest"' in html and "delay:400ms" in html
    # Its answer goes into the list, not into the panel the form posts to.
    assert 'hx-target="this"' in html.split('id="likely"')[1].split(">")[0]
    assert "{#" not in html
