"""Hostile input: markup, SQL metacharacters, path tricks and numbers nobody was given.

Whatever a caller sends, the node answers 4xx (never 500), returns only what really
matches, writes nothing it should not, and shows stored text as text.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from nirantar.ledger.models import Event
from nirantar.ledger.numbering import verhoeff_check_digit
from nirantar.ledger.verify import verify
from nirantar.registration.models import Patient, Visit
from tests import pdf
from tests.conftest import PASSWORD

SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>x</b>"
ATTRIBUTE = "\"'><img src=x onerror=alert(1)>"
MARKUP = [SCRIPT, BOLD, ATTRIBUTE]

# Well-formed numbers, with a true check digit, that this hospital never gave anyone.
NEVER_UHID = f"101-9999999-{verhoeff_check_digit('1019999999')}"
NEVER_VISIT = f"OP-101-9999999-{verhoeff_check_digit('1019999999')}"


class Tags(HTMLParser):
    """Every start tag in a document, with its attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str, *texts: str) -> None:
    """None of ``texts`` appears as markup; each appears escaped, as the text it is."""
    tags = Tags(html).tags
    assert not [t for t, a in tags if t in ("b", "img", "i")], tags
    assert not [a for t, a in tags if t == "script" and "src" not in a], "an inline script"
    assert not [a for _, a in tags if "onerror" in a], "an event handler attribute"
    for text in texts:
        assert text not in html
        assert escaped(text) in html, f"{escaped(text)!r} is not on the page"


def escaped(text: str) -> str:
    from django.utils.html import escape

    return str(escape(text))


def screen_as(username: str) -> Client:
    # A fault shows as the 500 a browser would get, not as an exception in the test.
    client = Client(raise_request_exception=False)
    assert client.login(username=username, password=PASSWORD)
    return client


def api_client(api: Any) -> tuple[Client, dict[str, str]]:
    """A raw client with an Api's token: for paths and answers the schema can't describe."""
    return Client(raise_request_exception=False), api.headers


@pytest.fixture
def counter(clerk) -> Client:
    return screen_as(clerk.username)


# -- markup in free text -------------------------------------------------------------------
@pytest.mark.parametrize("payload", [*MARKUP, "Ram <b>Sharma", "Tom & Jerry"])
@pytest.mark.parametrize(
    "field", ["name_en", "name_hi", "guardian_name", "mobile", "address.state", "address.pin"]
)
def test_markup_in_a_name_or_a_coded_field_is_refused_and_nothing_is_written(
    clerk_api, ram, snapshot, field, payload
):
    if field.startswith("address."):
        ram["address"][field.split(".")[1]] = payload
    else:
        ram[field] = payload
    before = snapshot()
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert before.unchanged()


@pytest.mark.parametrize("payload", MARKUP)
def test_markup_sent_from_the_counter_form_is_refused_and_shown_back_as_text(
    counter, snapshot, payload
):
    before = snapshot()
    response = counter.post(
        "/counter/new",
        {
            "name_en": payload,
            "sex": "M",
            "age_years": "40",
            "guardian_relation": "S/O",
            "guardian_name": payload,
            "department": "MED",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="err-name_en"' in html
    assert_inert(html, payload)  # echoed into value="..." without breaking out
    assert before.unchanged()


@pytest.fixture
def marked(clerk_api, ram) -> dict[str, Any]:
    """A patient whose address holds markup: the rules allow any printable text there."""
    ram.update(
        name_en="Ram D'Souza",
        guardian_name="Shyam O'Brien",
        address={"line": SCRIPT + " " + ATTRIBUTE, "district": BOLD, "state": "Uttar Pradesh"},
    )
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 201, response.content
    patient = response.json()
    # Stored as typed: text is data, and escaping is the screen's job, not the store's.
    assert patient["address"]["line"] == SCRIPT + " " + ATTRIBUTE
    assert patient["address"]["district"] == BOLD
    return patient


def test_stored_markup_is_text_in_the_search_results(counter, marked):
    response = counter.get("/counter/search", {"q": "d'souza"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-uhid="{marked["uhid"]}"' in html
    assert_inert(html, BOLD, "Ram D'Souza", "Shyam O'Brien")


def test_stored_markup_is_text_in_the_patient_panel_and_its_history(counter, marked):
    response = counter.get(f"/counter/patients/{marked['uhid']}")
    assert response.status_code == 200
    html = response.content.decode()
    assert_inert(html, SCRIPT, ATTRIBUTE, BOLD, "Ram D'Souza")
    assert "History of this record" in html


def test_stored_markup_is_text_in_the_correction_form(counter, marked):
    response = counter.get(f"/counter/patients/{marked['uhid']}/correct")
    assert response.status_code == 200
    assert_inert(response.content.decode(), SCRIPT + " " + ATTRIBUTE, BOLD)


def test_stored_markup_is_text_in_the_token_panel_and_on_the_slip(counter, clerk_api, marked):
    visit = clerk_api.post("/api/v1/visits", {"uhid": marked["uhid"], "department": "Medicine"})
    assert visit.status_code == 201
    number = visit.json()["visit"]

    response = counter.get(f"/counter/visits/{number}")
    assert response.status_code == 200
    assert_inert(response.content.decode(), "Ram D'Souza")

    for page in ("a5", "thermal80"):
        slip = counter.get(f"/counter/visits/{number}/slip.pdf", {"format": page})
        assert slip.status_code == 200
        text = pdf.text(slip.content)
        assert "Ram D'Souza" in text and "O'Brien" in text  # the characters, not &#x27;
        assert "&#" not in text and "&lt;" not in text and "&amp;" not in text


def test_markup_in_a_search_is_echoed_as_text(counter, marked):
    for query in [SCRIPT, ATTRIBUTE, BOLD, "d'souza" + ATTRIBUTE]:
        response = counter.get("/counter/search", {"q": query})
        assert response.status_code == 200
        assert_inert(response.content.decode(), query)


def test_markup_in_a_number_on_the_emergency_screen_is_text(admin, snapshot):
    # The number is shown back before anything is looked up (a '/' can't be in a path part).
    number = "<img src=x onerror=alert(1)>"
    before = snapshot()
    response = screen_as(admin.username).get(f"/counter/patients/{number}/emergency")
    assert response.status_code == 200
    assert_inert(response.content.decode(), number)
    assert before.unchanged()


def test_markup_in_a_staff_name_is_text_on_every_page_that_shows_it(admin):
    from nirantar.accounts import actions as accounts

    accounts.do_add_user("test", "mallory", "clerk", PASSWORD, SCRIPT + BOLD)
    own = screen_as("mallory").get("/counter/")
    assert own.status_code == 200
    assert_inert(own.content.decode(), SCRIPT + BOLD)
    listing = screen_as(admin.username).get("/users/")
    assert listing.status_code == 200
    assert_inert(listing.content.decode(), SCRIPT + BOLD)


# -- SQL metacharacters in searches --------------------------------------------------------
@pytest.fixture
def patients(clerk_api, ram) -> dict[str, str]:
    made = {"ram": clerk_api.post("/api/v1/patients", ram).json()["uhid"]}
    for key, body in {
        "sunita": {"name_hi": "सुनीता देवी", "sex": "F", "age_years": 30, "mobile": "9123456789"},
        "salim": {"name_en": "Mohammad Salim", "sex": "M", "age_years": 61},
        "anna": {"name_en": "Anna Maria", "sex": "F", "age_years": 25},
    }.items():
        response = clerk_api.post("/api/v1/patients", body)
        assert response.status_code == 201
        made[key] = response.json()["uhid"]
    return made


HOSTILE_QUERIES = [
    "' OR 1=1 --",
    "' OR '1'='1",
    "ram' OR '1'='1' --",
    '"; DROP TABLE registration_patient; --',
    "'; DELETE FROM ledger_event; --",
    "%",
    "%%",
    "%a%",
    "a%",
    "_",
    "__",
    "_a_",
    "r_m",
    "\\",
    "\\\\",
    "ram\\",
    "\\%",
    "*",
    "ram*",
    '"',
    '"ram"',
    "ram OR kumar",
    "NEAR(ram kumar)",
    "ram AND NOT salim",
    "\x00",
    "\x00\x00",
    "ram\x00",
    "ra\x00m",
    "ram\x00' OR 1=1 --",
    "a" * 101,
    "ram " + "%" * 500,
    "x" * 10_000,
]


def screen_uhids(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [a["data-uhid"] for t, a in Tags(response.content.decode()).tags if "data-uhid" in a]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=repr)
def test_a_hostile_search_on_the_screen_finds_nothing_and_writes_nothing(
    counter, patients, snapshot, query
):
    before = snapshot()
    response = counter.get("/counter/search", {"q": query})
    assert screen_uhids(response) == []
    assert before.unchanged()
    assert Patient.objects.filter(is_registered=True).count() == len(patients)


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=repr)
def test_a_hostile_search_on_the_api_finds_nothing_and_writes_nothing(
    clerk_api, patients, snapshot, query
):
    before = snapshot()
    client, headers = api_client(clerk_api)
    response = client.get("/api/v1/patients", {"q": query}, headers=headers)
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 200:
        assert response.json()["results"] == []
    else:
        assert "q" in response.json()["error"]["fields"]
    assert before.unchanged()


def test_the_patients_are_all_there_after_the_hostile_searches(clerk_api, counter, patients):
    client, headers = api_client(clerk_api)
    for query in HOSTILE_QUERIES:
        client.get("/api/v1/patients", {"q": query}, headers=headers)
        counter.get("/counter/search", {"q": query})
    assert set(Patient.objects.filter(is_registered=True).values_list("uhid", flat=True)) == set(
        patients.values()
    )
    found = client.get("/api/v1/patients", {"q": "kumar"}, headers=headers).json()["results"]
    assert [p["uhid"] for p in found] == [patients["ram"]]
    assert verify().ok


@pytest.mark.parametrize(
    ("query", "who"),
    [("ram", ["ram"]), ("ann", ["anna"]), ("salim", ["salim"]), ("सुनीता", ["sunita"])],
)
def test_real_matches_are_still_found_beside_them(clerk_api, counter, patients, query, who):
    expected = [patients[k] for k in who]
    assert screen_uhids(counter.get("/counter/search", {"q": query})) == expected
    found = clerk_api.get(f"/api/v1/patients?q={query}").json()["results"]
    assert [p["uhid"] for p in found] == expected


# -- path tricks and malformed numbers -----------------------------------------------------
@pytest.fixture
def visit(clerk_api, registered) -> str:
    response = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "Medicine"}
    )
    assert response.status_code == 201
    return response.json()["visit"]


ODD_FORMATS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "/etc/passwd",
    "a5/../../../../etc/passwd",
    "A5",
    "a5 ",
    "a5\x00",
    "",
    "thermal80;cat /etc/passwd",
    "slip.html",
    "x" * 5000,
]


@pytest.mark.parametrize("page", ODD_FORMATS, ids=repr)
def test_an_odd_slip_format_is_refused_on_the_screen(counter, visit, snapshot, page):
    before = snapshot()
    response = counter.get(f"/counter/visits/{visit}/slip.pdf", {"format": page})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"root:" not in response.content and b"%PDF" not in response.content
    assert before.unchanged()  # refused before the record is opened: no audited read


@pytest.mark.parametrize("page", ODD_FORMATS, ids=repr)
def test_an_odd_slip_format_is_refused_on_the_api(clerk_api, visit, snapshot, page):
    before = snapshot()
    client, headers = api_client(clerk_api)
    response = client.get(f"/api/v1/visits/{visit}/slip.pdf", {"format": page}, headers=headers)
    assert response.status_code == 400
    assert "format" in response.json()["error"]["fields"]
    assert b"root:" not in response.content
    assert before.unchanged()


ODD_IDS = [
    "..%2F..%2Fetc%2Fpasswd",
    "..%252F..%252Fetc%252Fpasswd",
    "..",
    "%2e%2e",
    "%00",
    "101-0000001-%00",
    "%0d%0aSet-Cookie:%20x=1",
    "1" * 5000,
    "OP-" + "1" * 5000,
    "%E0%A5%A7%E0%A5%A6%E0%A5%A7",
    "%FF%FE",
    "'%20OR%201=1%20--",
    "*",
    "null",
    "-1",
]

# (who, method, route): every route that takes a patient or visit number.
ROUTES = [
    ("clerk", "get", "/counter/patients/{id}"),
    ("clerk", "get", "/counter/patients/{id}/correct"),
    ("clerk", "post", "/counter/patients/{id}/correct"),
    ("clerk", "post", "/counter/patients/{id}/visit"),
    ("admin", "post", "/counter/patients/{id}/emergency"),
    ("clerk", "get", "/counter/visits/{id}"),
    ("clerk", "get", "/counter/visits/{id}/slip.pdf"),
    ("auditor", "get", "/audit/patients/{id}/seen-by.pdf"),
    ("clerk", "get", "/api/v1/patients/{id}"),
    ("clerk", "get", "/api/v1/patients/{id}/history"),
    ("records", "patch", "/api/v1/patients/{id}"),
    ("clerk", "get", "/api/v1/visits/{id}"),
    ("clerk", "get", "/api/v1/visits/{id}/slip.pdf"),
]

FORMS = {
    "/counter/patients/{id}/correct": {"address_line": "1 New Road", "reason": "moved house"},
    "/counter/patients/{id}/visit": {"department": "MED"},
    "/counter/patients/{id}/emergency": {"reason": "unconscious in casualty"},
}


@pytest.fixture
def people(clerk, admin, auditor, records, api_as):
    users = {"clerk": clerk, "admin": admin, "auditor": auditor, "records": records}
    signed_in = {name: (screen_as(u.username), api_as(u).headers) for name, u in users.items()}
    return {**signed_in, "anonymous": (Client(raise_request_exception=False), {})}


def request(people, who: str, method: str, route: str, ident: str):
    client, headers = people[who]
    path = route.format(id=ident)
    if route.startswith("/api/"):
        kwargs: dict[str, Any] = {"headers": headers}
        if method == "patch":
            kwargs.update(data={"address": {"line": "1 New Road"}}, content_type="application/json")
        return getattr(client, method)(path, **kwargs)
    if method == "post":
        return client.post(path, FORMS[route])
    return client.get(path)


@pytest.mark.parametrize("ident", ODD_IDS, ids=lambda v: v[:30])
@pytest.mark.parametrize(("who", "method", "route"), ROUTES, ids=lambda v: v)
def test_a_malformed_number_is_refused_on_every_route(
    people, registered, snapshot, who, method, route, ident
):
    before = snapshot()
    response = request(people, who, method, route, ident)
    assert response.status_code in (400, 404), (response.status_code, response.content[:300])
    assert b"root:" not in response.content and b"%PDF" not in response.content
    assert "Set-Cookie" not in response.headers or "x=1" not in response["Set-Cookie"]
    assert before.unchanged()


# -- numbers that are well-formed but were never given -------------------------------------
@pytest.mark.parametrize(("who", "method", "route"), ROUTES, ids=lambda v: v)
def test_a_number_never_given_is_404_with_a_clear_message_and_no_audit(
    people, registered, snapshot, who, method, route
):
    ident = NEVER_VISIT if "/visits/" in route else NEVER_UHID
    before = snapshot()
    response = request(people, who, method, route, ident)
    assert response.status_code == 404, (response.status_code, response.content[:300])
    said = response.content.decode()
    if route.startswith("/api/"):
        said = response.json()["error"]["message"]
    noun = "visit" if "/visits/" in route else "patient"
    assert f"no {noun}" in said.lower() and ident in said, said
    # Nothing was read, so there is nothing to audit: a read is recorded only when a
    # record was shown (access_patient raises NotFound before do_record_access).
    assert before.unchanged()


def test_a_search_for_a_number_never_given_finds_nothing_and_audits_nothing(
    clerk_api, counter, registered, snapshot
):
    before = snapshot()
    for query in (NEVER_UHID, NEVER_VISIT):
        assert clerk_api.get(f"/api/v1/patients?q={query}").json()["results"] == []
        assert screen_uhids(counter.get("/counter/search", {"q": query})) == []
    assert before.unchanged()
    assert not Visit.objects.filter(uhid=NEVER_UHID).exists()


# -- a NUL byte wherever a form or API field reaches the database --------------------------
# SQLite keeps a NUL; PostgreSQL refuses one in any text (psycopg raises DataError). A
# field that goes to a query or a table unchecked is therefore a 500 on PostgreSQL - and a
# value an SQLite counter stores can then not be projected at a PostgreSQL hub.
NUL_CASES = [
    ("admin", "post", "/users/", {"action": "disable", "username": "asha\x00"}),
    ("admin", "post", "/users/", {"action": "role", "username": "asha\x00", "role": "doctor"}),
    ("admin", "post", "/users/", {"action": "unlock", "username": "asha\x00"}),
    ("auditor", "get", "/audit/", {"actor": "asha\x00"}),
    ("auditor", "post", "/audit/review", {"event": "\x00", "note": "checked"}),
    ("anonymous", "post", "/login/", {"username": "asha\x00", "password": PASSWORD}),
    ("anonymous", "post", "/login/", {"username": "asha", "password": PASSWORD + "\x00"}),
    (
        "clerk",
        "post",
        "/counter/new",
        {"name_en": "Ram", "sex": "M", "age_years": "4", "department": "MED\x00"},
    ),
    ("clerk", "post", "/counter/patients/{uhid}/visit", {"department": "MED\x00"}),
    ("clerk", "api", "/api/v1/visits", {"uhid": "{uhid}", "department": "Medicine\x00"}),
    (
        "admin",
        "post",
        "/counter/patients/{uhid}/emergency",
        {"reason": "unconscious\x00 in casualty"},
    ),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "form"),
    NUL_CASES,
    ids=[f"{c[2]} {next(k for k, v in c[3].items() if chr(0) in v)}" for c in NUL_CASES],
)
def test_a_nul_byte_in_a_field_is_refused_not_a_fault(
    people, registered, snapshot, who, method, path, form
):
    path = path.format(uhid=registered["uhid"])
    form = {k: v.format(uhid=registered["uhid"]) for k, v in form.items()}
    client, headers = people[who]
    before = snapshot()
    if method == "api":
        response = client.post(path, form, content_type="application/json", headers=headers)
    else:
        response = getattr(client, method)(path, form)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400 and path.endswith("/visit"):
        # A refused visit shows the patient again with the error: that read is audited
        # (test_a_failed_visit_still_audits_the_record_it_shows), and nothing else written.
        new = Event.objects.order_by("-id")[: Event.objects.count() - before.state[0]]
        assert {e.type for e in new} <= {"accounts.record_accessed"}
    elif response.status_code >= 400:
        assert before.unchanged()
    # Whatever was accepted was accepted without the NUL: none reaches the signed log
    # (canonical JSON writes it as \\u0000), where a PostgreSQL node could not project it.
    assert not Event.objects.filter(body__contains="\\u0000").exists()
