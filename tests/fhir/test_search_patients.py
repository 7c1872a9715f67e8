"""GET /fhir/Patient?... - searchset Bundles over the counter's own search."""

from urllib.parse import quote

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir.resources import uhid_system
from tests.fhir.conftest import asha

ABHA = "https://healthid.ndhm.gov.in"


@pytest.fixture
def made(clerk_fhir, clerk_api, ram):
    """Asha through FHIR, Ram and Sunita at the counter's API."""
    first = clerk_fhir.post("/fhir/Patient", asha()).json()
    ram = clerk_api.post("/api/v1/patients", ram).json()
    sunita = clerk_api.post(
        "/api/v1/patients",
        {"name_hi": "सुनीता देवी", "sex": "F", "date_of_birth": "1990-07-09"},
    ).json()
    return {"asha": first["id"], "ram": ram["uhid"], "sunita": sunita["uhid"]}


def ids(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "searchset"
    return [e["resource"]["id"] for e in body.get("entry", [])]


def test_it_finds_by_uhid_and_by_abha_number(clerk_fhir, made):
    bare = made["ram"].replace("-", "")
    ours = uhid_system()
    assert ids(clerk_fhir.get(f"/fhir/Patient?identifier={ours}|{made['ram']}")) == [made["ram"]]
    assert ids(clerk_fhir.get(f"/fhir/Patient?identifier={bare}")) == [made["ram"]]
    for abha in ("91-5101-6530-5101", "91510165305101"):
        found = ids(clerk_fhir.get(f"/fhir/Patient?identifier={ABHA}|{abha}"))
        assert found == [made["asha"]]


def test_an_identifier_of_another_system_matches_nobody(clerk_fhir, made):
    assert ids(clerk_fhir.get("/fhir/Patient?identifier=urn:oid:1.2.3|91510165305101")) == []


def test_a_uhid_with_a_wrong_check_digit_is_a_400(clerk_fhir, made):
    bad = made["ram"][:-1] + str((int(made["ram"][-1]) + 3) % 10)
    response = clerk_fhir.get(f"/fhir/Patient?identifier={uhid_system()}|{bad}")
    assert response.status_code == 400
    assert "check digit" in response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("name", "who"),
    [
        ("kumar", "ram"),
        ("राम", "ram"),
        ("सुनीता", "sunita"),
        ("asha sharma", "asha"),
        ("आशा", "asha"),
    ],
)
def test_it_finds_a_name_in_either_script(clerk_fhir, made, name, who):
    assert ids(clerk_fhir.get(f"/fhir/Patient?name={quote(name)}")) == [made[who]]


def test_it_finds_by_phone_with_or_without_the_country_code(clerk_fhir, made):
    for phone in ("9876543210", quote("+919876543210"), quote("+91-98765-43210")):
        assert ids(clerk_fhir.get(f"/fhir/Patient?phone={phone}")) == [made["ram"]], phone


def test_it_finds_by_birthdate_at_the_precision_given(clerk_fhir, made):
    assert set(ids(clerk_fhir.get("/fhir/Patient?birthdate=1990"))) == {
        made["asha"],
        made["sunita"],
    }
    assert ids(clerk_fhir.get("/fhir/Patient?birthdate=1990-07")) == [made["sunita"]]
    assert ids(clerk_fhir.get("/fhir/Patient?birthdate=eq1990-04-01")) == [made["asha"]]
    assert clerk_fhir.get("/fhir/Patient?birthdate=gt1990").status_code == 400
    assert clerk_fhir.get("/fhir/Patient?birthdate=1990-02-30").status_code == 400


def test_parameters_combine_with_and(clerk_fhir, made):
    assert ids(clerk_fhir.get("/fhir/Patient?birthdate=1990&gender=female&name=asha")) == [
        made["asha"]
    ]
    assert ids(clerk_fhir.get("/fhir/Patient?gender=male&name=asha")) == []


def test_unknown_parameters_and_an_empty_search_are_refused(clerk_fhir, made):
    for query in (
        "",
        "?family=Sharma",
        "?_count=5",
        "?gender=female",  # alone it narrows nothing enough: a bulk export, not a search
        "?name=asha&gender=banana",
        "?name=a&name=b",
    ):
        response = clerk_fhir.get(f"/fhir/Patient{query}")
        assert response.status_code == 400, query
        assert response.json()["resourceType"] == "OperationOutcome"


def test_pages_follow_next_and_previous_links_with_a_total(clerk_fhir, clerk_api):
    made = [
        clerk_api.post(
            "/api/v1/patients", {"name_en": f"Pager {c}", "sex": "M", "age_years": 30}
        ).json()["uhid"]
        for c in "ABCDE"
    ]
    seen, url, pages = [], "/fhir/Patient?name=pager&_count=2", 0
    while url:
        body = clerk_fhir.get(url.replace("http://testserver", "")).json()
        assert body["total"] == 5
        assert len(body.get("entry", [])) <= 2
        seen += [e["resource"]["id"] for e in body.get("entry", [])]
        links = {link["relation"]: link["url"] for link in body["link"]}
        assert ("previous" in links) == (pages > 0)
        url, pages = links.get("next"), pages + 1
    assert pages == 3
    assert sorted(seen) == sorted(made)
    only_total = clerk_fhir.get("/fhir/Patient?name=pager&_count=0").json()
    assert only_total["total"] == 5 and "entry" not in only_total
    assert clerk_fhir.get("/fhir/Patient?name=pager&_count=101").status_code == 400


def test_each_patient_a_search_returned_is_audited(clerk_fhir, clerk, made):
    clerk_fhir.get("/fhir/Patient?name=kumar")
    entry = AuditEntry.objects.get(patient=made["ram"])
    assert (entry.actor, entry.action, entry.via) == (
        clerk.username,
        "patient.search_result",
        "fhir",
    )
    assert not AuditEntry.objects.filter(patient=made["asha"]).exists()


def test_searching_needs_the_right_to_read_patients(fhir_as, lab_tech, made):
    assert fhir_as(None).get("/fhir/Patient?name=kumar").status_code == 401
    assert fhir_as(lab_tech).get("/fhir/Patient?name=kumar").status_code == 403


def test_a_patient_registered_at_the_counter_is_found_through_fhir(clerk_fhir, registered):
    for query in ("name=ram%20kumar", "phone=9876543210", f"identifier={registered['uhid']}"):
        body = clerk_fhir.get(f"/fhir/Patient?{query}").json()
        assert [e["resource"]["id"] for e in body["entry"]] == [registered["uhid"]], query
        assert body["entry"][0]["fullUrl"].endswith(f"/fhir/Patient/{registered['uhid']}")


def test_an_empty_identifier_or_phone_matches_nobody_not_everyone(clerk_fhir, made):
    """A record without an ABHA number or mobile holds "" there; "" must not match it."""
    for query in (
        "identifier=%7C",
        f"identifier={ABHA}%7C",
        f"identifier={ABHA}%7C---",
        "phone=%2B91",
        "phone=-",
        "phone=()",
    ):
        response = clerk_fhir.get(f"/fhir/Patient?{query}")
        assert response.status_code == 200, query
        assert response.json()["total"] == 0, query


def test_the_uhid_system_is_the_hospitals_own(clerk_fhir, made, settings):
    """Every hospital numbers from 101-0000001-3: its UHIDs carry a system no other hospital
    has - the genesis's by default, or the URI its operators set."""
    from nirantar import operations

    genesis = operations.status()["genesis"]
    assert uhid_system() == f"urn:nirantar:hospital:{genesis[:16]}:uhid"
    read = clerk_fhir.get(f"/fhir/Patient/{made['ram']}").json()
    assert read["identifier"][0]["system"] == uhid_system()
    another = f"urn:nirantar:hospital:{'0' * 16}:uhid"
    assert ids(clerk_fhir.get(f"/fhir/Patient?identifier={another}|{made['ram']}")) == []

    settings.FHIR_UHID_SYSTEM = "https://hospital.example.in/fhir/uhid"
    read = clerk_fhir.get(f"/fhir/Patient/{made['ram']}").json()
    assert read["identifier"][0]["system"] == "https://hospital.example.in/fhir/uhid"
    found = clerk_fhir.get(
        f"/fhir/Patient?identifier=https://hospital.example.in/fhir/uhid|{made['ram']}"
    )
    assert ids(found) == [made["ram"]]
