"""The counter screens, through a signed-in browser session (Django's test client)."""

import pytest
from django.test import Client

from nirantar.accounts.models import AuditEntry
from tests.conftest import PASSWORD


@pytest.fixture
def browser(clerk):
    client = Client()
    response = client.post("/login/", {"username": clerk.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def htmx(client, method, path, data=None):
    return getattr(client, method)(path, data or {}, headers={"HX-Request": "true"})


def test_the_counter_asks_for_a_sign_in_first(hospital):
    response = Client().get("/counter/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_wrong_password_is_refused(clerk):
    response = Client().post("/login/", {"username": clerk.username, "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert b"Wrong user name or password" in response.content


def test_a_clerk_lands_on_the_counter_with_the_search_box_first(browser):
    response = browser.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/counter/"
    html = response.content.decode()
    assert 'id="q"' in html and "autofocus" in html.split('id="q"')[1].split(">")[0]


def test_labels_switch_to_hindi(browser):
    browser.post("/i18n/setlang/", {"language": "hi", "next": "/counter/"})
    html = browser.get("/counter/").content.decode()
    assert "नया मरीज़" in html and 'lang="hi"' in html


def test_registering_a_new_patient_gives_a_token_and_a_slip(browser):
    response = htmx(
        browser,
        "post",
        "/counter/new",
        {
            "name_en": "Geeta Kumari",
            "name_hi": "गीता कुमारी",
            "sex": "F",
            "age_years": "29",
            "guardian_relation": "W/O",
            "guardian_name": "Mohan Lal",
            "mobile": "9811111111",
            "address_district": "Alwar",
            "address_state": "rajasthan",
            "address_pin": "301001",
            "category": "general",
            "department": "OBG",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="token">A-001<' in html
    slip_url = html.split('id="slip-frame"')[1].split('src="')[1].split('"')[0]
    slip = browser.get(slip_url)
    assert slip["Content-Type"] == "application/pdf"


def test_a_bad_form_comes_back_with_the_fields_named_and_nothing_written(browser, snapshot):
    before = snapshot()
    response = htmx(
        browser,
        "post",
        "/counter/new",
        {
            "name_en": "Geeta2",
            "sex": "F",
            "age_years": "29",
            "mobile": "12345",
            "department": "",
            "address_pin": "0001",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    for field in ("name_en", "mobile", "department", "address_pin"):
        assert f'class="field {field}' in html or f"err-{field}" in html or field in html
    assert html.count('class="field-error"') >= 4
    assert before.unchanged()


def test_a_returning_patient_gets_a_visit_in_two_steps(browser, registered):
    results = htmx(browser, "get", "/counter/search", {"q": "ram sharma"}).content.decode()
    assert registered["uhid"] in results
    panel = htmx(browser, "get", f"/counter/patients/{registered['uhid']}").content.decode()
    assert 'id="department"' in panel
    token = htmx(
        browser, "post", f"/counter/patients/{registered['uhid']}/visit", {"department": "ENT"}
    ).content.decode()
    assert 'id="token">A-001<' in token


def test_opening_a_patient_on_screen_is_one_audited_read(browser, clerk, registered):
    htmx(browser, "get", f"/counter/patients/{registered['uhid']}")
    entries = AuditEntry.objects.filter(patient=registered["uhid"], via="screen")
    assert [(e.actor, e.action) for e in entries] == [(clerk.username, "patient.view")]


def test_a_bad_search_says_what_is_wrong(browser, registered):
    uhid = registered["uhid"]
    bad = uhid[:-1] + str((int(uhid[-1]) + 1) % 10)
    html = htmx(browser, "get", "/counter/search", {"q": bad}).content.decode()
    assert "check digit" in html


def test_a_latin_name_is_offered_in_devanagari_and_back(browser):
    to_hi = htmx(
        browser, "get", "/counter/transliterate", {"target": "hi", "name_en": "Sunita Devi"}
    )
    assert 'data-value="सुनीता देवी"' in to_hi.content.decode()
    to_en = htmx(browser, "get", "/counter/transliterate", {"target": "en", "name_hi": "राम कुमार"})
    assert 'data-value="Ram Kumar"' in to_en.content.decode()


def test_markup_in_a_guardian_name_is_refused_not_rendered(browser, snapshot):
    before = snapshot()
    response = htmx(
        browser,
        "post",
        "/counter/new",
        {
            "name_en": "Asha",
            "sex": "F",
            "age_years": "20",
            "guardian_relation": "D/O",
            "guardian_name": "<script>alert(1)</script>",
            "department": "MED",
        },
    )
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert before.unchanged()


def test_a_records_clerk_corrects_details_on_screen(records, registered):
    client = Client()
    client.post("/login/", {"username": records.username, "password": PASSWORD})
    response = htmx(
        client,
        "post",
        f"/counter/patients/{registered['uhid']}/correct",
        {
            "name_en": "Ram K. Sharma",
            "name_hi": registered["name_hi"],
            "sex": "M",
            "guardian_relation": "S/O",
            "guardian_name": "Shyam Lal",
            "mobile": "9876543210",
            "category": "general",
            "address_line": "12 Gali",
            "address_district": "Sitapur",
            "address_state": "Uttar Pradesh",
            "address_pin": "261001",
            "reason": "typo",
        },
    )
    assert response.status_code == 200
    assert "Ram K. Sharma" in response.content.decode()


def test_a_doctor_cannot_open_the_registration_counter(doctor):
    client = Client()
    client.post("/login/", {"username": doctor.username, "password": PASSWORD})
    assert client.get("/counter/").status_code == 403


def test_the_empty_new_patient_form_shows_no_errors(browser):
    html = browser.get("/counter/").content.decode()
    template = html.split('id="new-patient-template"')[1].split("</template>")[0]
    assert 'name="name_en"' in template
    assert "field-error" not in template and "invalid" not in template


def test_an_age_in_an_unusual_digit_is_an_error_not_a_crash(browser, snapshot):
    before = snapshot()
    response = htmx(
        browser,
        "post",
        "/counter/new",
        {"name_en": "Asha", "sex": "F", "age_years": "\u00b2", "department": "MED"},
    )
    assert response.status_code == 422
    assert before.unchanged()


def test_correcting_the_mobile_keeps_an_estimated_birth_date_estimated(records, registered):
    from nirantar.registration.models import Patient

    client = Client()
    client.post("/login/", {"username": records.username, "password": PASSWORD})
    form = htmx(client, "get", f"/counter/patients/{registered['uhid']}/correct").content.decode()
    dob = form.split('name="date_of_birth"')[1].split('value="')[1].split('"')[0]
    response = htmx(
        client,
        "post",
        f"/counter/patients/{registered['uhid']}/correct",
        {
            "name_en": registered["name_en"],
            "name_hi": registered["name_hi"],
            "sex": "M",
            "date_of_birth": dob,
            "guardian_relation": "S/O",
            "guardian_name": "Shyam Lal",
            "mobile": "9000000009",
            "category": "general",
            "address_line": "12 Gali",
            "address_district": "Sitapur",
            "address_state": "Uttar Pradesh",
            "address_pin": "261001",
        },
    )
    assert response.status_code == 200
    patient = Patient.objects.get(uhid=registered["uhid"])
    assert patient.mobile == "9000000009" and patient.dob_estimated is True


def test_correcting_an_unknown_patient_says_so(records, hospital):
    from nirantar.registration.events import UHID

    client = Client()
    client.post("/login/", {"username": records.username, "password": PASSWORD})
    assert (
        htmx(client, "post", f"/counter/patients/{UHID.format(101, 999)}/correct").status_code
        == 404
    )
    assert htmx(client, "post", "/counter/patients/101-0000001-0/correct").status_code == 400


def test_a_failed_visit_still_audits_the_record_it_shows(browser, clerk, registered):
    response = htmx(
        browser,
        "post",
        f"/counter/patients/{registered['uhid']}/visit",
        {"department": "Astrology"},
    )
    assert response.status_code == 422
    assert AuditEntry.objects.filter(patient=registered["uhid"], actor=clerk.username).count() == 1
