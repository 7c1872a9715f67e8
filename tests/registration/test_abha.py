"""ABHA number and ABHA address: formats checked, stored normalised, found at the counter.

Only the shape is checked (see docs/operator.md, "ABHA"): whether an ABHA exists is
for the national gateway, which this project is not connected to.
"""

import pytest
from django.test import Client

from nirantar.accounts.models import AuditEntry
from nirantar.ledger import events as ledger_events
from nirantar.ledger import projection
from nirantar.ledger.hlc import HLC
from nirantar.ledger.writer import node
from nirantar.registration import rows
from nirantar.registration.models import Patient
from nirantar.registration.rules import PATIENT_FIELDS
from tests.conftest import PASSWORD

# A sandbox ABHA number published in ABDM integrators' fixtures (see fhir-research/abha.md).
SANDBOX_NUMBER = "91-5101-6530-5101"


def signed_in(user):
    client = Client()
    assert client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code
    return client


def htmx(client, method, path, data=None):
    return getattr(client, method)(path, data or {}, headers={"HX-Request": "true"})


@pytest.mark.parametrize(
    "typed",
    [
        "Ram.Sharma_1@ABDM",
        " ram.sharma_1@abdm ",
    ],
)
def test_an_abha_address_is_stored_lower_cased_and_returned(clerk_api, ram, typed):
    ram["abha_address"] = typed
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 201, response.content
    assert response.json()["abha_address"] == "ram.sharma_1@abdm"
    assert Patient.objects.get(uhid=response.json()["uhid"]).abha_address == "ram.sharma_1@abdm"


@pytest.mark.parametrize(
    "address",
    [
        "ramsharma@abdm",
        "ram.sharma_45@abdm",
        "ram_sharma.45@abdm",
        "abcd@abdm",  # older addresses can be as short as 4
        "91510165305101@abdm",  # the default address an ABHA number comes with
        "rk_test@sbx",  # the ABDM sandbox
        "ramk@ndhm",  # the suffix of older cards
        "a" * 32 + "@abdm",
    ],
)
def test_an_abha_address_of_any_shape_abdm_issues_is_accepted(clerk_api, ram, address):
    ram["abha_address"] = address
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 201, response.content
    assert response.json()["abha_address"] == address


@pytest.mark.parametrize(
    "address",
    [
        "ramsharma",  # no suffix
        "ramsharma@",
        "@abdm",
        "ram@sharma@abdm",
        "ramsharma@gmail.com",  # an e-mail address, not an ABHA address
        "abc@abdm",  # too short
        "a" * 33 + "@abdm",
        ".ramsharma@abdm",
        "ramsharma.@abdm",
        "_ramsharma@abdm",
        "ram..sharma@abdm",
        "ram.k.sharma@abdm",  # at most one dot
        "ramsharma\n@abdm",  # a newline inside (a regex $ would let it through)
        "ram_k_sharma@abdm",  # at most one underscore
        "ram-sharma@abdm",
        "ram sharma@abdm",
        "राम@abdm",
        "ramsharma@abdm\u202e",
    ],
)
def test_a_malformed_abha_address_is_named_and_nothing_is_written(
    clerk_api, ram, snapshot, address
):
    ram["abha_address"] = address
    before = snapshot()
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"]["abha_address"]
    assert before.unchanged()


def test_the_abha_address_error_says_what_is_wanted(clerk_api, ram):
    ram["abha_address"] = "ramsharma@gmail.com"
    fields = clerk_api.post("/api/v1/patients", ram).json()["error"]["fields"]
    assert fields["abha_address"] == "an ABHA address ends in @abdm (@sbx in the ABDM sandbox)"


@pytest.mark.parametrize("typed", [SANDBOX_NUMBER, "91 5101 6530 5101", "91510165305101"])
def test_an_abha_number_is_stored_as_14_digits_however_typed(clerk_api, ram, typed):
    ram["abha_number"] = typed
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 201, response.content
    assert response.json()["abha_number"] == "91510165305101"


def test_an_abha_number_is_not_refused_for_its_check_digit(clerk_api, ram):
    # Fails Luhn. ABDM documents no check-digit rule, so a real card is never refused.
    ram["abha_number"] = "91-2345-6789-0123"
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 201, response.content


def test_the_api_finds_a_patient_by_abha_address_in_any_case(clerk_api, ram):
    ram["abha_address"] = "ram.sharma@abdm"
    uhid = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    clerk_api.post("/api/v1/patients", {**ram, "abha_address": "other.person@abdm"})
    response = clerk_api.get("/api/v1/patients?q=Ram.Sharma@ABDM")
    assert response.status_code == 200
    assert response.json()["kind"] == "abha_address"
    assert [p["uhid"] for p in response.json()["results"]] == [uhid]


def test_the_api_finds_a_patient_by_abha_number(clerk_api, ram):
    ram["abha_number"] = SANDBOX_NUMBER
    uhid = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    response = clerk_api.get(f"/api/v1/patients?q={SANDBOX_NUMBER}")
    assert response.json()["kind"] == "abha"
    assert [p["uhid"] for p in response.json()["results"]] == [uhid]


def test_a_search_with_a_malformed_abha_address_says_what_is_wrong(clerk_api, ram):
    response = clerk_api.get("/api/v1/patients?q=ram@gmail")
    assert response.status_code == 400
    assert "@abdm" in response.json()["error"]["fields"]["q"]


def test_the_counter_finds_a_patient_by_abha_address_and_audits_it(clerk, clerk_api, ram):
    ram["abha_address"] = "ram.sharma@abdm"
    uhid = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    browser = signed_in(clerk)
    html = htmx(browser, "get", "/counter/search", {"q": "ram.sharma@abdm"}).content.decode()
    assert uhid in html
    assert AuditEntry.objects.filter(patient=uhid, actor=clerk.username, via="screen").exists()


def test_the_counter_registers_an_abha_address(clerk):
    browser = signed_in(clerk)
    response = htmx(
        browser,
        "post",
        "/counter/new",
        {
            "name_en": "Geeta Kumari",
            "sex": "F",
            "age_years": "29",
            "abha_number": "91 5101 6530 5101",
            "abha_address": "Geeta.K@abdm",
            "department": "Medicine",
        },
    )
    assert response.status_code == 200, response.content.decode()
    patient = Patient.objects.get(name_en="Geeta Kumari")
    assert (patient.abha_number, patient.abha_address) == ("91510165305101", "geeta.k@abdm")


def test_the_counter_names_a_bad_abha_address_and_writes_nothing(clerk, snapshot):
    browser = signed_in(clerk)
    before = snapshot()
    response = htmx(
        browser,
        "post",
        "/counter/new",
        {
            "name_en": "Geeta Kumari",
            "sex": "F",
            "age_years": "29",
            "abha_address": "geeta@gmail.com",
            "department": "Medicine",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "an ABHA address ends in @abdm" in html
    assert 'value="geeta@gmail.com"' in html  # kept, for the clerk to fix
    assert before.unchanged()


def test_the_abha_errors_are_in_hindi_on_a_hindi_screen(clerk, snapshot):
    browser = signed_in(clerk)
    browser.post("/i18n/setlang/", {"language": "hi", "next": "/counter/"})
    response = htmx(
        browser,
        "post",
        "/counter/new",
        {
            "name_en": "Geeta Kumari",
            "sex": "F",
            "age_years": "29",
            "abha_number": "1234",
            "abha_address": "geeta@gmail.com",
            "department": "Medicine",
        },
    )
    html = response.content.decode()
    assert "आभा (ABHA) संख्या में 14 अंक होते हैं" in html
    assert "आभा (ABHA) पते के अंत में @abdm होता है" in html


def test_the_patient_page_shows_the_abha_number_hyphenated_and_the_address(clerk, clerk_api, ram):
    ram.update(abha_number="91510165305101", abha_address="ram.sharma@abdm")
    uhid = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    html = htmx(signed_in(clerk), "get", f"/counter/patients/{uhid}").content.decode()
    assert SANDBOX_NUMBER in html
    assert "ram.sharma@abdm" in html


def test_a_correction_sets_and_clears_the_abha_address_and_keeps_the_history(
    api_as, records, registered
):
    api = api_as(records)
    uhid = registered["uhid"]
    response = api.patch(f"/api/v1/patients/{uhid}", {"abha_address": "Ram.Sharma@abdm"})
    assert response.status_code == 200, response.content
    assert response.json()["abha_address"] == "ram.sharma@abdm"
    assert api.patch(f"/api/v1/patients/{uhid}", {"abha_address": ""}).json()["abha_address"] == ""
    history = api.get(f"/api/v1/patients/{uhid}/history").json()["changes"]
    values = [(c["value"], c["current"]) for c in history if c["field"] == "abha_address"]
    assert values == [("ram.sharma@abdm", False), ("", True)]


def test_a_bad_abha_address_correction_writes_nothing(api_as, records, registered, snapshot):
    api = api_as(records)
    before = snapshot()
    response = api.patch(f"/api/v1/patients/{registered['uhid']}", {"abha_address": "ram"})
    assert response.status_code == 400
    assert "abha_address" in response.json()["error"]["fields"]
    assert before.unchanged()


def test_the_correction_form_shows_the_number_hyphenated_and_saving_it_back_changes_nothing(
    records, clerk_api, ram
):
    ram.update(abha_number="91510165305101", abha_address="ram.sharma@abdm")
    uhid = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    browser = signed_in(records)
    form = htmx(browser, "get", f"/counter/patients/{uhid}/correct").content.decode()
    assert f'value="{SANDBOX_NUMBER}"' in form and 'value="ram.sharma@abdm"' in form
    response = htmx(
        browser,
        "post",
        f"/counter/patients/{uhid}/correct",
        {
            "name_en": ram["name_en"],
            "name_hi": ram["name_hi"],
            "sex": "M",
            "guardian_relation": "S/O",
            "guardian_name": "Shyam Lal",
            "mobile": "9876543210",
            "abha_number": SANDBOX_NUMBER,
            "abha_address": "Ram.Sharma@ABDM",
            "category": "general",
            "address_line": "12 Gali",
            "address_district": "Sitapur",
            "address_state": "Uttar Pradesh",
            "address_pin": "261001",
        },
    )
    assert response.status_code == 200
    stream = list(node().store.stream(f"patient:{uhid}"))
    assert [e.type for e in stream] == ["registration.patient_registered"]


def test_a_registration_written_before_abha_addresses_still_projects(clerk, clerk_api, ram):
    """Events signed before this field existed carry no abha_address: they project as
    they always did, and a later correction can still set it, in either order."""
    uhid = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    local = node()
    (new,) = local.store.stream(f"patient:{uhid}")
    body = {k: v for k, v in new.body.items() if k != "abha_address"}
    old = ledger_events.build(
        local.key,
        origin=new.origin,
        seq=new.seq,
        hlc=new.hlc,
        actor=new.actor,
        type=new.type,
        stream=new.stream,
        body=body,
        prev=new.prev,
    )
    correction = ledger_events.build(
        local.key,
        origin="ward-7",
        seq=1,
        hlc=HLC(new.hlc.wall + 10, 0),
        actor="records",
        type="registration.patient_corrected",
        stream=new.stream,
        body={"v": 1, "uhid": uhid, "changes": {"abha_address": "ram.k@abdm"}, "reason": ""},
        prev="0" * 64,
    )
    columns = [f.attname for f in Patient._meta.concrete_fields if f.attname != "id"]

    def replay(*events):
        projection.clear()
        for event in events:
            projection.apply(event)
        return Patient.objects.values(*columns).get(uhid=uhid)

    expected = replay(new)
    before = replay(old)
    assert before["abha_address"] == ""
    assert "abha_address" not in before["field_stamps"]
    # Stamped as every other field, it is kept as the table keeps a whole registration's.
    registered = rows.expanded_stamps(expected["field_stamps"], PATIENT_FIELDS)
    before["field_stamps"]["abha_address"] = registered["abha_address"]
    before["field_stamps"] = rows.compact_stamps(before["field_stamps"], PATIENT_FIELDS)
    assert before == expected
    assert replay(old, correction) == replay(correction, old)
    assert replay(correction, old)["abha_address"] == "ram.k@abdm"
