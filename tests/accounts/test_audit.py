"""The audit trail, end to end: every read of a patient's record is one signed event.

A read on the counter screen, over the API and on a printed slip each leave exactly one
entry; the auditor sees them (API, screen, the patient's DPDP report) and reviews
emergency ("break the glass") accesses; everyone else is refused, and the refusal is
itself recorded. Tokens that are revoked, expired, forged or of a disabled user open
nothing.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from django.db import connection
from django.test import Client

from nirantar import timeutil
from nirantar.accounts.models import AccessReview, ApiToken, AuditEntry, DeniedAttempt
from nirantar.cli import main
from nirantar.ledger.models import Event
from nirantar.registration.events import UHID
from nirantar.registration.models import Patient, Visit
from tests import pdf
from tests.conftest import PASSWORD, Api, make_user

READ = "accounts.record_accessed"
DENIED = "accounts.access_denied"
REVIEWED = "accounts.access_reviewed"
NODE = "test-counter"
REASON = "Patient collapsed in the lab; need the allergy history now"


# -- helpers -------------------------------------------------------------------------
def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def signed_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def htmx_get(client: Client, path: str) -> Any:
    return client.get(path, headers={"HX-Request": "true"})


def counts(uhid: str) -> tuple[int, int, int]:
    """(audit entries of the patient, their events in the log, all events in the log)."""
    return (
        AuditEntry.objects.filter(patient=uhid).count(),
        Event.objects.filter(type=READ, stream=f"audit:{uhid}").count(),
        Event.objects.count(),
    )


def table_rows(page: str, marker: str) -> list[list[str]]:
    """The text of each cell of each body row of the first table after ``marker``."""
    assert marker in page, f"{marker!r} is not on the page"
    body = page.split(marker, 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def denials(actor: str) -> list[tuple[str, str, str, str, str]]:
    return sorted(
        DeniedAttempt.objects.filter(actor=actor).values_list(
            "permission", "method", "path", "node", "address"
        )
    )


def audit_api(api: Api, uhid: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/audit?patient={uhid}")
    assert response.status_code == 200, response.content
    assert response.json()["patient"] == uhid
    return response.json()["entries"]  # type: ignore[no-any-return]


def second_patient(clerk_api: Api) -> str:
    response = clerk_api.post(
        "/api/v1/patients", {"name_en": "Geeta Kumari", "sex": "F", "age_years": 29}
    )
    assert response.status_code == 201, response.content
    return response.json()["uhid"]  # type: ignore[no-any-return]


@pytest.fixture
def visit(clerk_api: Api, registered: dict[str, Any]) -> dict[str, Any]:
    response = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "Medicine"}
    )
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


# -- 1. the acceptance test ------------------------------------------------------------
def test_screen_api_and_slip_reads_each_leave_one_entry_the_auditor_sees_and_a_clerk_may_not(
    clerk, clerk_api, auditor, api_as, registered, visit, snapshot
):
    uhid = registered["uhid"]
    other = second_patient(clerk_api)
    assert clerk_api.get(f"/api/v1/patients/{other}").status_code == 200  # must not show up
    browser = signed_in(clerk)
    started_ms = datetime.now(UTC).timestamp() * 1000 - 1

    def on_screen() -> Any:
        response = htmx_get(browser, f"/counter/patients/{uhid}")
        assert "Ram Kumar Sharma" in response.content.decode()
        return response

    def by_api() -> Any:
        response = clerk_api.get(f"/api/v1/patients/{uhid}")
        assert response.json()["name_en"] == "Ram Kumar Sharma"
        return response

    def on_a_slip() -> Any:
        response = browser.get(f"/counter/visits/{visit['visit']}/slip.pdf")
        assert response["Content-Type"] == "application/pdf"
        assert uhid in pdf.text(response.content)
        return response

    for way, read in (("screen", on_screen), ("api", by_api), ("slip", on_a_slip)):
        before = counts(uhid)
        response = read()
        assert response.status_code == 200, (way, response.content[:300])
        entries, events, everything = before
        assert counts(uhid) == (entries + 1, events + 1, everything + 1), way
    ended_ms = datetime.now(UTC).timestamp() * 1000 + 1

    # The auditor sees all three over the API: who, what, how, where and when.
    entries = audit_api(api_as(auditor), uhid)
    assert sorted((e["actor"], e["action"], e["via"], e["node"]) for e in entries) == [
        (clerk.username, "patient.read", "api", NODE),
        (clerk.username, "patient.view", "screen", NODE),
        (clerk.username, "visit.slip", "pdf", NODE),
    ]
    moments = [datetime.fromisoformat(e["at"]) for e in entries]
    assert all(m.utcoffset() is not None for m in moments)  # an unambiguous instant
    assert all(started_ms <= m.timestamp() * 1000 <= ended_ms for m in moments), moments
    assert moments == sorted(moments, reverse=True)  # newest first
    for entry in entries:
        assert entry["address"] == "127.0.0.1"
        assert (entry["break_glass"], entry["reason"], entry["reviewed"]) == (False, "", False)

    # ... and on the audit screen, filtered by the patient (typed without dashes).
    page = signed_in(auditor).get("/audit/", {"patient": uhid.replace("-", "")})
    assert page.status_code == 200
    rows = table_rows(page.content.decode(), 'class="list audit"')
    assert sorted(tuple(row[1:6]) for row in rows) == [
        (clerk.username, uhid, "patient.read", "api", NODE),
        (clerk.username, uhid, "patient.view", "screen", NODE),
        (clerk.username, uhid, "visit.slip", "pdf", NODE),
    ]

    # A clerk may read patients but not the audit trail: refused both ways, and recorded.
    before = snapshot()
    refusals = Event.objects.filter(type=DENIED, actor=clerk.username).count()
    refused = clerk_api.get(f"/api/v1/audit?patient={uhid}")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert "entries" not in refused.json()
    screen = browser.get("/audit/", {"patient": uhid})
    assert screen.status_code == 403
    assert "patient.read" not in screen.content.decode()
    assert before.unchanged()
    assert Event.objects.filter(type=DENIED, actor=clerk.username).count() == refusals + 2
    assert denials(clerk.username) == [
        ("audit.read", "GET", "/api/v1/audit", NODE, "127.0.0.1"),
        ("audit.read", "GET", "/audit/", NODE, "127.0.0.1"),
    ]


def test_the_audit_screen_names_only_the_patient_asked_for(clerk, clerk_api, auditor, registered):
    uhid = registered["uhid"]
    other = second_patient(clerk_api)
    for patient in (uhid, other, other):
        assert clerk_api.get(f"/api/v1/patients/{patient}").status_code == 200
    page = signed_in(auditor).get("/audit/", {"patient": other}).content.decode()
    rows = table_rows(page, 'class="list audit"')
    assert [row[2] for row in rows] == [other, other]
    # The link to the patient's report is offered for the patient shown.
    assert f"/audit/patients/{other}/seen-by.pdf" in page


def test_a_mistyped_uhid_on_the_audit_screen_says_so_and_lists_nothing(
    clerk_api, auditor, registered
):
    clerk_api.get(f"/api/v1/patients/{registered['uhid']}")
    uhid = registered["uhid"]
    wrong = uhid[:-1] + str((int(uhid[-1]) + 1) % 10)
    page = signed_in(auditor).get("/audit/", {"patient": wrong})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'class="error" role="alert"' in text
    assert 'class="list audit"' not in text and "No reads match." in text


# -- 2. the audit trail is the signed log ----------------------------------------------
def test_each_read_is_a_signed_event_of_the_reader_and_verify_and_rebuild_still_pass(
    clerk, clerk_api, doctor, api_as, registered
):
    uhid = registered["uhid"]
    assert clerk_api.get(f"/api/v1/patients/{uhid}").status_code == 200
    assert api_as(doctor).get(f"/api/v1/patients/{uhid}").status_code == 200
    assert htmx_get(signed_in(clerk), f"/counter/patients/{uhid}").status_code == 200

    events = list(Event.objects.filter(type=READ, stream=f"audit:{uhid}").order_by("seq"))
    assert [(e.actor, e.origin) for e in events] == [
        (clerk.username, NODE),
        (doctor.username, NODE),
        (clerk.username, NODE),
    ]
    bodies = [json.loads(e.body) for e in events]
    assert [(b["patient"], b["action"], b["via"], b["break_glass"]) for b in bodies] == [
        (uhid, "patient.read", "api", False),
        (uhid, "patient.read", "api", False),
        (uhid, "patient.view", "screen", False),
    ]
    assert all(e.sig and e.hash and e.prev for e in events)
    # The table the auditor reads is a projection of exactly those events.
    projected = AuditEntry.objects.filter(patient=uhid)
    assert sorted((a.event, a.actor) for a in projected) == sorted(
        (e.hash, e.actor) for e in events
    )

    verified = run("verify")
    assert verified.exit_code == 0, verified.output
    assert "every hash, chain link and signature verified" in verified.output
    rebuilt = run("rebuild", "--check")
    assert rebuilt.exit_code == 0, rebuilt.output


def test_changing_who_read_a_record_is_caught_by_verify(clerk_api, registered):
    uhid = registered["uhid"]
    clerk_api.get(f"/api/v1/patients/{uhid}")
    target = Event.objects.get(type=READ, stream=f"audit:{uhid}")
    with connection.cursor() as cursor:  # someone edits the database behind the log
        cursor.execute("UPDATE ledger_event SET actor = 'someone-else' WHERE id = %s", [target.id])
    result = run("verify")
    assert result.exit_code == 1
    assert "FAILED" in result.output and target.id in result.output


# -- 3. the DPDP report: who has seen this record ---------------------------------------
def test_the_auditor_prints_who_has_seen_a_record_naming_every_reader(
    clerk, clerk_api, doctor, nurse, lab_tech, auditor, api_as, registered
):
    uhid = registered["uhid"]
    clerk_api.get(f"/api/v1/patients/{uhid}")
    clerk_api.get(f"/api/v1/patients/{uhid}")
    api_as(doctor).get(f"/api/v1/patients/{uhid}")
    lab = api_as(lab_tech)
    lab.headers["X-Emergency-Reason"] = REASON
    assert lab.get(f"/api/v1/patients/{uhid}").status_code == 200
    make_user("suresh", "doctor", "Dr. Suresh Rao")  # never read it: must not be named

    response = signed_in(auditor).get(f"/audit/patients/{uhid}/seen-by.pdf")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    text = pdf.text(response.content)
    flat = pdf.compact(text)
    assert uhid in text
    for reader in ("Asha Verma (asha)", "Dr. Meera Iyer (meera)", "Rohit (rohit)"):
        assert pdf.compact(reader) in flat, reader
    # Each reader with their role and how many times; the emergency read is flagged.
    assert pdf.compact("Asha Verma (asha) Registration clerk 2") in flat
    assert pdf.compact("Dr. Meera Iyer (meera) Doctor 1") in flat
    assert pdf.compact("Rohit (rohit) — emergency access Lab technician 1") in flat
    assert flat.count(pdf.compact("patient.read (api)")) == 3
    assert "suresh" not in text and nurse.username not in text
    # Preparing the report is itself a read of the record, by the auditor.
    report = AuditEntry.objects.get(patient=uhid, actor=auditor.username)
    assert (report.action, report.via, report.break_glass) == ("audit.report", "pdf", False)


def test_the_report_gives_the_time_it_was_prepared_in_the_hospitals_time_like_the_reads(
    clerk_api, auditor, registered
):
    uhid = registered["uhid"]
    clerk_api.get(f"/api/v1/patients/{uhid}")
    browser = signed_in(auditor)

    def hospital_clock() -> str:
        return timeutil.local(timeutil.now()).strftime("%d-%m-%Y %H:%M")

    before = hospital_clock()
    response = browser.get(f"/audit/patients/{uhid}/seen-by.pdf")
    after = hospital_clock()
    assert response.status_code == 200
    text = pdf.text(response.content)
    prepared = re.search(r"prepared (\d\d-\d\d-\d{4} \d\d:\d\d)", text)
    assert prepared, text
    read = AuditEntry.objects.get(patient=uhid, action="patient.read")
    read_at = timeutil.local(timeutil.from_ms(read.at_ms)).strftime("%d-%m-%Y %H:%M")
    assert read_at in text  # the read, in the hospital's time
    # Prepared after the read it lists, on the same clock (not UTC beside local times).
    assert prepared.group(1) in (before, after), (prepared.group(1), before, after)


def test_a_clerk_is_refused_the_report_and_the_refusal_is_recorded(
    clerk, clerk_api, registered, snapshot
):
    uhid = registered["uhid"]
    browser = signed_in(clerk)
    before = snapshot()
    response = browser.get(f"/audit/patients/{uhid}/seen-by.pdf")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert before.unchanged()
    assert denials(clerk.username) == [
        ("audit.read", "GET", f"/audit/patients/{uhid}/seen-by.pdf", NODE, "127.0.0.1")
    ]


def test_the_report_for_an_unknown_uhid_is_not_found_and_writes_nothing(
    auditor, hospital, snapshot
):
    browser = signed_in(auditor)
    before = snapshot()
    unknown = UHID.format(101, 4242)  # a well-formed number nobody was registered under
    response = browser.get(f"/audit/patients/{unknown}/seen-by.pdf")
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(patient=unknown).exists()
    assert before.unchanged()


def test_the_report_for_a_mistyped_uhid_is_a_bad_request_not_a_crash(auditor, registered):
    uhid = registered["uhid"]
    wrong = uhid[:-1] + str((int(uhid[-1]) + 1) % 10)
    response = signed_in(auditor).get(f"/audit/patients/{wrong}/seen-by.pdf")
    assert response.status_code == 400
    assert "check digit" in response.content.decode()


# -- 4. break the glass ---------------------------------------------------------------
def test_a_lab_technician_is_refused_the_record_the_usual_way_and_that_is_recorded(
    lab_tech, api_as, registered, snapshot
):
    uhid = registered["uhid"]
    browser = signed_in(lab_tech)
    lab = api_as(lab_tech)
    before = snapshot()
    panel = htmx_get(browser, f"/counter/patients/{uhid}")
    assert panel.status_code == 403
    assert "Ram Kumar Sharma" not in panel.content.decode()
    no_reason = lab.get(f"/api/v1/patients/{uhid}")
    assert no_reason.status_code == 403
    assert no_reason.json()["error"]["code"] == "reason_required"
    assert "name_en" not in no_reason.json()
    assert before.unchanged()
    assert not AuditEntry.objects.filter(patient=uhid).exists()
    assert denials(lab_tech.username) == [
        ("registration.read", "GET", f"/counter/patients/{uhid}", NODE, "127.0.0.1")
    ]


@pytest.mark.parametrize("reason", ["", "          ", "urgent"])
def test_breaking_the_glass_without_a_real_reason_is_refused_with_a_message_and_nothing_written(
    lab_tech, registered, snapshot, reason
):
    uhid = registered["uhid"]
    browser = signed_in(lab_tech)
    form = browser.get(f"/counter/patients/{uhid}/emergency")
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()
    before = snapshot()
    events = Event.objects.count()
    response = browser.post(f"/counter/patients/{uhid}/emergency", {"reason": reason})
    assert response.status_code == 403
    page = response.content.decode()
    assert "needs a reason" in page and "at least 10 characters" in page
    assert "Ram Kumar Sharma" not in page and "9876543210" not in page
    assert before.unchanged()
    assert Event.objects.count() == events  # not even a refusal: the form just asks again


def test_breaking_the_glass_with_a_reason_opens_the_record_and_flags_the_read_for_review(
    clerk_api, lab_tech, auditor, api_as, registered
):
    uhid = registered["uhid"]
    clerk_api.get(f"/api/v1/patients/{uhid}")  # an ordinary read, for contrast
    browser = signed_in(lab_tech)
    before = counts(uhid)
    response = browser.post(f"/counter/patients/{uhid}/emergency", {"reason": REASON})
    assert response.status_code == 200
    assert "Ram Kumar Sharma" in response.content.decode()
    assert counts(uhid) == tuple(n + 1 for n in before)

    entry = AuditEntry.objects.get(patient=uhid, actor=lab_tech.username)
    assert (entry.action, entry.via, entry.break_glass, entry.reason) == (
        "patient.view",
        "screen",
        True,
        REASON,
    )
    event = Event.objects.get(hash=entry.event)
    assert (event.type, event.actor) == (READ, lab_tech.username)
    assert json.loads(event.body)["reason"] == REASON

    emergencies = [e for e in audit_api(api_as(auditor), uhid) if e["break_glass"]]
    assert [(e["actor"], e["reason"], e["reviewed"]) for e in emergencies] == [
        (lab_tech.username, REASON, False)
    ]

    page = signed_in(auditor).get("/audit/").content.decode()
    pending = table_rows(page, "Emergency accesses waiting for review")
    assert [row[1:4] for row in pending] == [[lab_tech.username, uhid, REASON]]
    assert f'name="event" value="{entry.event}"' in page
    only = signed_in(auditor).get("/audit/", {"patient": uhid, "emergency": "1"}).content.decode()
    assert [row[1] for row in table_rows(only, 'class="list audit"')] == [lab_tech.username]


@pytest.mark.parametrize("role", ["lab", "pathologist", "billing", "admin"])
def test_every_role_that_may_break_the_glass_can_over_the_api_with_a_reason(
    api_as, registered, role
):
    uhid = registered["uhid"]
    person = make_user(f"glass-{role}", role)
    api = api_as(person)
    api.headers["X-Emergency-Reason"] = REASON
    response = api.get(f"/api/v1/patients/{uhid}")
    assert response.status_code == 200
    assert response.json()["uhid"] == uhid
    entry = AuditEntry.objects.get(patient=uhid, actor=person.username)
    assert (entry.via, entry.break_glass, entry.reason) == ("api", True, REASON)


def test_an_auditor_cannot_break_the_glass_and_a_clerk_has_no_glass_to_break(
    auditor, clerk, api_as, registered, snapshot
):
    uhid = registered["uhid"]
    watcher = api_as(auditor)
    watcher.headers["X-Emergency-Reason"] = REASON
    clerk_browser = signed_in(clerk)
    before = snapshot()
    assert watcher.get(f"/api/v1/patients/{uhid}").status_code == 403
    emergency = clerk_browser.post(f"/counter/patients/{uhid}/emergency", {"reason": REASON})
    assert emergency.status_code == 403
    assert before.unchanged()
    assert not AuditEntry.objects.filter(patient=uhid).exists()
    assert [d[:3] for d in denials(auditor.username)] == [
        ("registration.read", "GET", f"/api/v1/patients/{uhid}")
    ]
    assert [d[:3] for d in denials(clerk.username)] == [
        ("registration.emergency", "POST", f"/counter/patients/{uhid}/emergency")
    ]


@pytest.fixture
def emergency(lab_tech, registered) -> AuditEntry:
    response = signed_in(lab_tech).post(
        f"/counter/patients/{registered['uhid']}/emergency", {"reason": REASON}
    )
    assert response.status_code == 200
    return AuditEntry.objects.get(patient=registered["uhid"], break_glass=True)


def test_the_auditor_marks_an_emergency_access_reviewed(auditor, api_as, registered, emergency):
    uhid = registered["uhid"]
    browser = signed_in(auditor)
    response = browser.post(
        "/audit/review",
        {"event": emergency.event, "note": "Checked with the lab head: genuine emergency"},
        follow=True,
    )
    assert response.redirect_chain == [("/audit/", 302)]
    page = response.content.decode()
    assert "Review recorded." in page
    assert "Emergency accesses waiting for review" not in page

    review = AccessReview.objects.get(access=emergency.event)
    assert (review.reviewer, review.patient, review.note) == (
        auditor.username,
        uhid,
        "Checked with the lab head: genuine emergency",
    )
    event = Event.objects.get(type=REVIEWED, stream=f"audit:{uhid}")
    assert event.actor == auditor.username
    assert json.loads(event.body)["event"] == emergency.event
    [entry] = [e for e in audit_api(api_as(auditor), uhid) if e["break_glass"]]
    assert entry["reviewed"] is True


def test_a_review_needs_a_note_and_must_be_of_an_emergency_access(
    clerk, clerk_api, auditor, registered, emergency, snapshot
):
    clerk_api.get(f"/api/v1/patients/{registered['uhid']}")
    ordinary = AuditEntry.objects.get(patient=registered["uhid"], actor=clerk.username)
    browser = signed_in(auditor)
    before = snapshot()
    events = Event.objects.count()
    blank = browser.post("/audit/review", {"event": emergency.event, "note": "  "}, follow=True)
    assert "a review needs a note" in blank.content.decode()
    assert "Emergency accesses waiting for review" in blank.content.decode()
    wrong = browser.post("/audit/review", {"event": ordinary.event, "note": "fine"}, follow=True)
    assert "no emergency access with that reference" in wrong.content.decode()
    assert before.unchanged() and Event.objects.count() == events
    assert not AccessReview.objects.exists()


def test_the_person_who_broke_the_glass_cannot_review_it_themselves(lab_tech, emergency, snapshot):
    browser = signed_in(lab_tech)
    before = snapshot()
    response = browser.post("/audit/review", {"event": emergency.event, "note": "all fine"})
    assert response.status_code == 403
    assert before.unchanged()
    assert not AccessReview.objects.exists()
    assert ("audit.read", "POST", "/audit/review", NODE, "127.0.0.1") in denials(lab_tech.username)


# -- 5. tokens ------------------------------------------------------------------------
def issue(username: str, *options: str) -> str:
    result = run("token", username, *options)
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("nrt_")
    return token


def listed_tokens(username: str) -> list[str]:
    result = run("user", "tokens", username)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def assert_unauthorised(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"] == "Bearer"
    assert "name_en" not in response.content.decode()


def test_a_token_revoked_with_the_cli_is_refused_and_the_users_other_tokens_still_work(
    clerk, registered
):
    uhid = registered["uhid"]
    script = issue(clerk.username, "--label", "counter script")
    spare = issue(clerk.username, "--label", "spare")
    assert Api(script).get(f"/api/v1/patients/{uhid}").status_code == 200

    [line] = [row for row in listed_tokens(clerk.username) if "counter script" in row]
    token_id = line.split()[0]
    assert token_id == script.split("_")[1]
    assert script.split("_", 2)[2] not in "\n".join(listed_tokens(clerk.username))
    revoked = run("user", "revoke-token", token_id)
    assert revoked.exit_code == 0, revoked.output
    [line] = [row for row in listed_tokens(clerk.username) if token_id in row]
    assert "revoked" in line

    before = counts(uhid)
    denied = DeniedAttempt.objects.count()
    assert_unauthorised(Api(script).get(f"/api/v1/patients/{uhid}"))
    assert counts(uhid) == before and DeniedAttempt.objects.count() == denied
    assert Api(spare).get(f"/api/v1/patients/{uhid}").status_code == 200


def test_revoking_a_token_nobody_issued_is_an_error(hospital, snapshot):
    before = snapshot()
    result = run("user", "revoke-token", "0123456789abcdef")
    assert result.exit_code == 2
    assert "no such token" in result.output
    assert before.unchanged()


def test_a_token_works_until_it_expires_and_is_refused_after(clerk, registered):
    uhid = registered["uhid"]
    token = issue(clerk.username, "--days", "1")
    expires = ApiToken.objects.get(token_id=token.split("_")[1]).expires_at_ms
    api = Api(token)
    assert api.get("/api/v1/status").status_code == 200
    issued = datetime.now(UTC)
    before = counts(uhid)
    with time_machine.travel(issued + timedelta(hours=23, minutes=55), tick=False):
        assert api.get("/api/v1/status").status_code == 200
    with time_machine.travel(datetime.fromtimestamp(expires / 1000, UTC), tick=False):
        assert_unauthorised(api.get(f"/api/v1/patients/{uhid}"))
    with time_machine.travel(issued + timedelta(days=1, minutes=5), tick=False):
        assert_unauthorised(api.get(f"/api/v1/patients/{uhid}"))
        assert_unauthorised(api.get("/api/v1/status"))
    assert counts(uhid) == before


def test_forged_malformed_and_missing_tokens_are_refused_and_nothing_is_written(
    clerk, clerk_api, registered
):
    uhid = registered["uhid"]
    real = issue(clerk.username)
    _, token_id, secret = real.split("_", 2)
    wrong_secret = f"nrt_{token_id}_{'x' * len(secret)}"
    before = counts(uhid)
    denied = DeniedAttempt.objects.count()
    for token in (
        None,
        "garbage",
        "nrt_",
        "nrt__",
        f"nrt_{token_id}",
        f"nrt_{token_id}_",
        wrong_secret,
        f"xyz_{token_id}_{secret}",
        f"nrt_ffffffffffffffff_{secret}",
    ):
        response = Api(token).get(f"/api/v1/patients/{uhid}")
        assert_unauthorised(response)
    basic = Client().get(f"/api/v1/patients/{uhid}", headers={"Authorization": f"Basic {real}"})
    assert basic.status_code == 401
    assert counts(uhid) == before and DeniedAttempt.objects.count() == denied
    assert Api(real).get(f"/api/v1/patients/{uhid}").status_code == 200  # the real one works


def test_an_auditor_may_not_register_a_patient_and_the_attempt_is_recorded(
    auditor, clerk, api_as, ram, hospital, snapshot
):
    watcher = api_as(auditor)
    before = snapshot()
    response = watcher.post("/api/v1/patients", ram)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    # Refused before the body is read: a malformed body gets the same answer.
    assert watcher.post("/api/v1/patients", raw="{not json").status_code == 403
    assert before.unchanged()
    assert not Patient.objects.filter(name_en=ram["name_en"]).exists()
    # The same refusal again within a minute is not recorded twice: a looping script
    # must not flood every node's log.
    assert denials(auditor.username) == [
        ("registration.register", "POST", "/api/v1/patients", NODE, "127.0.0.1"),
    ]
    event = Event.objects.filter(type=DENIED, actor=auditor.username).first()
    assert event is not None and event.stream == "audit:denied"
    assert json.loads(event.body)["path"] == "/api/v1/patients"
    # The auditor sees the refused attempts on the audit screen.
    page = signed_in(auditor).get("/audit/").content.decode()
    refused = table_rows(page, "Refused attempts")
    assert [auditor.username, "registration.register", "POST /api/v1/patients", NODE] in [
        row[1:] for row in refused
    ]


def test_a_nurse_may_read_a_patient_but_not_register_a_visit(nurse, api_as, registered, snapshot):
    uhid = registered["uhid"]
    ward = api_as(nurse)
    assert ward.get(f"/api/v1/patients/{uhid}").status_code == 200
    before = snapshot()
    response = ward.post("/api/v1/visits", {"uhid": uhid, "department": "Medicine"})
    assert response.status_code == 403
    assert before.unchanged()
    assert not Visit.objects.filter(uhid=uhid).exists()
    assert denials(nurse.username) == [
        ("registration.register", "POST", "/api/v1/visits", NODE, "127.0.0.1")
    ]


# -- 6. disabled users ----------------------------------------------------------------
def test_a_disabled_users_token_is_refused_and_their_browser_session_ends(
    clerk, clerk_api, registered
):
    uhid = registered["uhid"]
    browser = signed_in(clerk)
    assert htmx_get(browser, f"/counter/patients/{uhid}").status_code == 200
    assert clerk_api.get(f"/api/v1/patients/{uhid}").status_code == 200

    result = run("user", "disable", clerk.username)
    assert result.exit_code == 0, result.output
    before = counts(uhid)

    assert_unauthorised(clerk_api.get(f"/api/v1/patients/{uhid}"))
    page = browser.get("/counter/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    panel = htmx_get(browser, f"/counter/patients/{uhid}")
    assert panel.status_code == 401 and panel["HX-Redirect"] == "/login/"
    assert counts(uhid) == before
    assert not Client().login(username=clerk.username, password=PASSWORD)


def test_enabling_a_user_again_does_not_revive_the_session_open_when_they_were_disabled(
    clerk, registered
):
    browser = signed_in(clerk)
    assert browser.get("/counter/").status_code == 200
    assert run("user", "disable", clerk.username).exit_code == 0
    assert browser.get("/counter/").status_code == 302
    assert run("user", "enable", clerk.username).exit_code == 0
    # The session ended when the user was disabled: signing in again is the way back.
    page = browser.get("/counter/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert signed_in(clerk).get("/counter/").status_code == 200


def test_the_same_refusal_is_recorded_again_after_a_minute(auditor, api_as, ram):
    watcher = api_as(auditor)
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        assert watcher.post("/api/v1/patients", ram).status_code == 403
        assert watcher.post("/api/v1/patients", ram).status_code == 403
        assert len(denials(auditor.username)) == 1
        clock.shift(61)
        assert watcher.post("/api/v1/patients", ram).status_code == 403
        assert len(denials(auditor.username)) == 2


def test_a_refused_url_holding_a_nul_is_recorded_percent_encoded(clerk):
    client = signed_in(clerk)
    assert client.get("/audit/patients/%00/seen-by.pdf").status_code == 403
    (path,) = DeniedAttempt.objects.filter(actor=clerk.username).values_list("path", flat=True)
    assert path == "/audit/patients/%00/seen-by.pdf"
