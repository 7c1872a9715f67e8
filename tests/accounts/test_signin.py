"""Signing in at /login/: lockout, the second factor, session limits, headers and CSRF.

Everything goes through the doors people use: the sign-in form (Django's test
client), the users screen, and `nirantar user unlock|totp` (the CLI, in-process).
Time moves with time-machine, which moves every clock the product reads
(``timezone.now()`` for lockout and session expiry, ``time.time()`` for codes and
the absolute session limit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import runpy
import struct
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from click.testing import CliRunner
from django.conf import settings
from django.test import Client, override_settings

import nirantar.settings
from nirantar.accounts import signin
from nirantar.accounts.models import User
from nirantar.cli import main
from tests.conftest import PASSWORD

WRONG = "not-the-password-at-all"
# 10 s into a 30-second TOTP step, so a code computed "now" is well inside its step.
START = datetime(2026, 3, 2, 4, 30, 10, tzinfo=UTC)
LOCKED = "Too many failed sign-ins"
BAD_PASSWORD = "Wrong user name or password"
BAD_CODE = "That code is not right, or it has been used already."


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def give_code(client: Client, code: str, **extra):
    return client.post("/login/code/", {"code": code}, **extra)


def signed_in_as(client: Client) -> str | None:
    """Who the session cookie the client holds belongs to (None: nobody)."""
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).username if user_id else None


def text(response) -> str:
    return response.content.decode()


def fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        response = sign_in(client, username, WRONG)
        assert response.status_code == 200
        assert BAD_PASSWORD in text(response)


def rfc6238(secret: str, at: datetime) -> str:
    """The six-digit code an authenticator app shows, computed from RFC 6238 directly."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int(at.timestamp()) // 30
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def csrf_token(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(response))
    assert match, "the form carries no CSRF token"
    return match.group(1)


def users_row(html: str, username: str) -> str:
    """The users screen's table row for ``username``."""
    for row in html.split("<tr>"):
        if f"<td>{username}</td>" in row:
            return row
    raise AssertionError(f"{username} is not on the users screen")


NEW_PATIENT = {
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
}


# -- lockout ---------------------------------------------------------------------
def test_five_wrong_passwords_lock_the_user_name_even_against_the_right_password(clerk, records):
    client = Client()
    fail(client, clerk.username, settings.LOGIN_MAX_FAILURES)

    response = sign_in(client, clerk.username, PASSWORD)
    assert response.status_code == 200
    assert LOCKED in text(response)
    assert f"Try again in {settings.LOGIN_LOCK_MINUTES} minutes" in text(response)
    assert signed_in_as(client) is None
    assert client.get("/counter/")["Location"].startswith("/login/")

    # Someone else at the same machine is not held up by it.
    colleague = Client()
    response = sign_in(colleague, records.username)
    assert response.status_code == 302
    assert signed_in_as(colleague) == records.username


def test_after_nirantar_user_unlock_the_right_password_works_again(clerk):
    client = Client()
    fail(client, clerk.username, settings.LOGIN_MAX_FAILURES)
    assert LOCKED in text(sign_in(client, clerk.username))

    result = run("user", "unlock", clerk.username)
    assert result.exit_code == 0, result.output
    forgotten = re.fullmatch(
        rf"Unlocked {clerk.username} \((\d+) failed attempts forgotten\)\.\n", result.output
    )
    assert forgotten, result.output
    assert int(forgotten.group(1)) >= settings.LOGIN_MAX_FAILURES

    response = sign_in(client, clerk.username)
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == clerk.username


def test_an_administrator_sees_the_lock_on_the_users_screen_and_lifts_it(clerk, records, admin):
    fail(Client(), clerk.username, settings.LOGIN_MAX_FAILURES)
    it = Client()
    assert sign_in(it, admin.username).status_code == 302

    html = text(it.get("/users/"))
    locked_row = users_row(html, clerk.username)
    assert "locked" in locked_row and 'value="unlock"' in locked_row
    assert 'value="unlock"' not in users_row(html, records.username)

    response = it.post("/users/", {"action": "unlock", "username": clerk.username}, follow=True)
    assert f"{clerk.username} unlocked at this node." in text(response)
    assert 'value="unlock"' not in users_row(text(response), clerk.username)

    person = Client()
    assert sign_in(person, clerk.username).status_code == 302
    assert signed_in_as(person) == clerk.username


def test_the_lock_lifts_by_itself_after_the_lock_minutes(clerk):
    minutes = settings.LOGIN_LOCK_MINUTES
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        fail(client, clerk.username, settings.LOGIN_MAX_FAILURES)

        clock.shift(timedelta(minutes=minutes) - timedelta(seconds=30))
        response = sign_in(client, clerk.username)
        assert LOCKED in text(response) and "Try again in 1 minute" in text(response)
        assert signed_in_as(client) is None

        clock.shift(timedelta(seconds=31))  # the last failure is now LOCK_MINUTES old
        response = sign_in(client, clerk.username)
        assert response.status_code == 302
        assert signed_in_as(client) == clerk.username


def test_one_machine_failing_on_many_user_names_is_locked_out_for_every_name(clerk):
    machine = Client(REMOTE_ADDR="10.1.2.3")
    for n in range(settings.LOGIN_ADDRESS_MAX_FAILURES):
        response = sign_in(machine, f"guess{n}", WRONG)
        assert BAD_PASSWORD in text(response), n  # each name alone is far below its limit

    response = sign_in(machine, clerk.username)
    assert LOCKED in text(response)
    assert signed_in_as(machine) is None
    # The same person at another machine signs in.
    elsewhere = Client(REMOTE_ADDR="10.1.2.4")
    assert sign_in(elsewhere, clerk.username).status_code == 302


def test_the_user_name_is_not_case_sensitive_at_sign_in_nor_for_counting_failures(clerk):
    client = Client()
    assert sign_in(client, "  ASHA ").status_code == 302
    assert signed_in_as(client) == "asha"

    other = Client()
    for spelling in ("ASHA", "Asha", "aSHA", "asha ", "AsHa"):
        assert BAD_PASSWORD in text(sign_in(other, spelling, WRONG))
    assert LOCKED in text(sign_in(other, "asha"))


# -- second factor ---------------------------------------------------------------
def turn_on_totp(username: str) -> str:
    result = run("user", "totp", username)
    assert result.exit_code == 0, result.output
    match = re.search(
        rf"Secret for {re.escape(username)}'s authenticator app: ([A-Z2-7]+)\s", result.output
    )
    assert match, result.output
    secret = match.group(1)
    uri = urlparse(result.output.strip().splitlines()[-1])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert username in uri.path
    query = parse_qs(uri.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == [settings.NODE.hospital]
    return secret


def test_an_administrator_with_a_code_signs_in_with_the_password_then_the_code(admin):
    secret = turn_on_totp(admin.username)
    with time_machine.travel(START, tick=False) as clock:
        first = Client()
        response = first.post(
            "/login/", {"username": admin.username, "password": PASSWORD, "next": "/users/"}
        )
        assert response.status_code == 302 and response["Location"] == "/login/code/"
        assert signed_in_as(first) is None
        assert first.get("/users/")["Location"].startswith("/login/")
        assert "six-digit code" in text(first.get("/login/code/"))

        code = rfc6238(secret, START)
        assert code == signin.totp_code(secret, START.timestamp())
        response = give_code(first, code)
        assert response.status_code == 302 and response["Location"] == "/users/"
        assert signed_in_as(first) == admin.username
        assert first.get("/users/").status_code == 200

        # The same code, seen over a shoulder, is no good for a second sign-in.
        second = Client()
        assert sign_in(second, admin.username)["Location"] == "/login/code/"
        response = give_code(second, code)
        assert response.status_code == 400 and BAD_CODE in text(response)
        assert signed_in_as(second) is None

        # The next code, 30 s later, is.
        clock.shift(30)
        response = give_code(second, rfc6238(secret, START + timedelta(seconds=30)))
        assert response.status_code == 302
        assert signed_in_as(second) == admin.username


def test_wrong_codes_are_refused_and_count_toward_the_lock(admin):
    secret = turn_on_totp(admin.username)
    with time_machine.travel(START, tick=False):
        client = Client()
        assert sign_in(client, admin.username)["Location"] == "/login/code/"
        right = rfc6238(secret, START)
        near = {rfc6238(secret, START + timedelta(seconds=s)) for s in (-30, 0, 30)}
        wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in near)
        attempts = ["12345", "abcdef"] + [wrong] * (settings.LOGIN_MAX_FAILURES - 2)
        for attempt in attempts:
            response = give_code(client, attempt)
            assert response.status_code == 400 and BAD_CODE in text(response)
            assert signed_in_as(client) is None

        response = give_code(client, right)
        assert response.status_code == 400 and LOCKED in text(response)
        assert signed_in_as(client) is None
        # Starting over with the password does not get round it either.
        assert LOCKED in text(sign_in(Client(), admin.username))


def test_the_code_must_follow_the_password_within_five_minutes(admin):
    secret = turn_on_totp(admin.username)
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        assert sign_in(client, admin.username)["Location"] == "/login/code/"
        clock.shift(301)
        later = START + timedelta(seconds=301)
        response = give_code(client, rfc6238(secret, later), follow=True)
        assert response.redirect_chain[-1][0] == "/login/"
        assert "The code was not given in time" in text(response)
        assert signed_in_as(client) is None


def test_user_totp_off_lets_the_password_alone_sign_in_again(admin):
    turn_on_totp(admin.username)
    assert sign_in(Client(), admin.username)["Location"] == "/login/code/"

    result = run("user", "totp", admin.username, "--off")
    assert result.exit_code == 0, result.output
    assert f"{admin.username} signs in with a password alone." in result.output
    client = Client()
    response = sign_in(client, admin.username)
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == admin.username


# -- session limits ------------------------------------------------------------------
def test_a_session_left_idle_for_the_idle_minutes_must_sign_in_again(clerk):
    idle = timedelta(minutes=settings.SESSION_IDLE_MINUTES)
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        assert sign_in(client, clerk.username).status_code == 302
        for _ in range(3):  # each request restarts the idle clock
            clock.shift(idle - timedelta(minutes=1))
            assert client.get("/counter/").status_code == 200

        clock.shift(idle + timedelta(seconds=1))
        response = client.get("/counter/")
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=/counter/"
        assert signed_in_as(client) is None


def test_a_busy_session_still_ends_after_the_session_hours(clerk):
    limit = timedelta(hours=settings.SESSION_MAX_HOURS)
    step = timedelta(minutes=settings.SESSION_IDLE_MINUTES) - timedelta(minutes=2)
    with time_machine.travel(START, tick=False) as clock:
        page, screen = Client(), Client()  # a full page, and an htmx request
        assert sign_in(page, clerk.username).status_code == 302
        assert sign_in(screen, clerk.username).status_code == 302
        elapsed = timedelta(0)
        while elapsed + step < limit:
            clock.shift(step)
            elapsed += step
            assert page.get("/counter/").status_code == 200, elapsed
            assert (
                screen.get("/counter/search?q=x", headers={"HX-Request": "true"}).status_code == 200
            )

        clock.shift(limit - elapsed + timedelta(seconds=1))
        response = page.get("/counter/")
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=/counter/"
        assert signed_in_as(page) is None
        assert "Your session has ended" in text(page.get(response["Location"]))

        response = screen.get("/counter/search?q=x", headers={"HX-Request": "true"})
        assert response.status_code == 401 and response["HX-Redirect"] == "/login/"
        assert signed_in_as(screen) is None


# -- headers -------------------------------------------------------------------------
def assert_not_frameable(response) -> None:
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_sign_in_page_and_the_counter_may_not_be_framed(clerk):
    client = Client()
    assert_not_frameable(client.get("/login/"))
    sign_in(client, clerk.username)
    counter = client.get("/counter/")
    assert counter.status_code == 200
    assert_not_frameable(counter)
    assert counter["Cache-Control"] == "no-store"


def test_only_the_slip_may_be_framed_and_only_by_the_node_itself(clerk):
    client = Client()
    sign_in(client, clerk.username)
    response = client.post("/counter/new", NEW_PATIENT, headers={"HX-Request": "true"})
    assert response.status_code == 200, text(response)
    assert_not_frameable(response)
    slip_url = text(response).split('id="slip-frame"')[1].split('src="')[1].split('"')[0]

    slip = client.get(slip_url)
    assert slip.status_code == 200 and slip["Content-Type"] == "application/pdf"
    assert slip["X-Frame-Options"] == "SAMEORIGIN"
    policy = slip["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "'none'" not in policy.split("frame-ancestors")[1]


def https_settings(monkeypatch) -> dict[str, object]:
    """What nirantar/settings.py itself sets when NIRANTAR_HTTPS=1."""
    monkeypatch.setenv("NIRANTAR_HTTPS", "1")
    production = runpy.run_path(nirantar.settings.__file__)
    names = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS")
    values = {name: production[name] for name in names}
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    return {**values, "SECURE_SSL_REDIRECT": production["SECURE_SSL_REDIRECT"]}


def test_behind_https_browsers_are_told_to_insist_on_it_and_cookies_stay_on_it(clerk, monkeypatch):
    with override_settings(**https_settings(monkeypatch)):
        client = Client()
        page = client.get("/login/", secure=True)
        assert page.status_code == 200
        hsts = page["Strict-Transport-Security"]
        assert hsts.startswith(f"max-age={settings.SECURE_HSTS_SECONDS}")
        assert page.cookies["csrftoken"]["secure"] is True

        response = sign_in(client, clerk.username, secure=True)
        assert response.status_code == 302
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        assert cookie["secure"] is True and cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        assert "Strict-Transport-Security" in client.get("/counter/", secure=True)

        # Over plain HTTP (loopback health checks) there is no HSTS header to send.
        assert "Strict-Transport-Security" not in Client().get("/login/")


# -- CSRF --------------------------------------------------------------------------------
def test_the_sign_in_form_needs_its_csrf_token(clerk):
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, clerk.username).status_code == 403
    assert signed_in_as(client) is None

    token = csrf_token(client.get("/login/"))
    response = client.post(
        "/login/",
        {"username": clerk.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert signed_in_as(client) == clerk.username


def test_a_counter_form_posted_without_the_csrf_token_is_refused_and_writes_nothing(
    clerk, snapshot
):
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client.get("/login/"))
    client.post(
        "/login/",
        {"username": clerk.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert signed_in_as(client) == clerk.username

    before = snapshot()
    response = client.post("/counter/new", NEW_PATIENT, headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert before.unchanged()

    # With the token the page's form carries, the same post registers the patient.
    token = csrf_token(client.get("/counter/new", headers={"HX-Request": "true"}))
    response = client.post(
        "/counter/new",
        {**NEW_PATIENT, "csrfmiddlewaretoken": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and 'id="token"' in text(response)
    assert not before.unchanged()


# -- password rules ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("weak", "reason"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("9876543210123", "entirely numeric"),
    ],
)
def test_a_weak_password_set_on_the_users_screen_is_refused_with_the_reason(
    clerk, admin, snapshot, weak, reason
):
    it = Client()
    sign_in(it, admin.username)
    before = snapshot()

    response = it.post(
        "/users/", {"action": "password", "username": clerk.username, "password": weak}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/users/"
    html = text(response)
    assert reason in html and "Password of" not in html
    assert before.unchanged()
    assert sign_in(Client(), clerk.username, weak).status_code == 200
    assert sign_in(Client(), clerk.username).status_code == 302


def test_a_weak_password_for_a_new_user_on_the_users_screen_is_refused(admin, snapshot):
    it = Client()
    sign_in(it, admin.username)
    before = snapshot()
    response = it.post(
        "/users/",
        {
            "action": "add",
            "username": "sunil",
            "role": "clerk",
            "full_name": "Sunil Kumar",
            "password": "qwertyuiop",
        },
        follow=True,
    )
    assert "too common" in text(response)
    assert "Added sunil" not in text(response)
    assert before.unchanged()


# -- found in review -------------------------------------------------------------
def test_the_password_step_gives_a_new_session_key_before_asking_for_the_code(admin):
    turn_on_totp(admin.username)
    client = Client()
    client.get("/login/")
    client.session.save()  # a session key planted before sign-in
    planted = client.session.session_key
    assert planted
    assert sign_in(client, admin.username)["Location"] == "/login/code/"
    assert client.session.session_key != planted
    # The planted key does not carry the half-finished sign-in.
    from django.contrib.sessions.backends.db import SessionStore

    assert "pending_user" not in SessionStore(session_key=planted).load()


def test_attempts_in_flight_count_against_the_limit(clerk):
    # Parallel guesses each start an attempt before any password is checked; the
    # attempt after the limit is refused even though none has finished yet.
    started = [signin.begin(clerk.username, "10.0.0.9") for _ in range(5)]
    assert all(not isinstance(a, signin.Lock) for a in started)
    assert isinstance(signin.begin(clerk.username, "10.0.0.9"), signin.Lock)


@override_settings(TRUST_PROXY=True)
def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(clerk, records):
    # nginx adds the client's address to X-Forwarded-For; without reading it every
    # client would be 127.0.0.1 and thirty typos anywhere would lock the whole node.
    desk = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.5, 10.0.4.12"}
    with override_settings(LOGIN_ADDRESS_MAX_FAILURES=3):
        for _ in range(3):
            sign_in(Client(), clerk.username, WRONG, **desk)
        other = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.0.4.13"}
        client = Client()
        assert sign_in(client, records.username, **other).status_code == 302
        locked = sign_in(Client(), records.username, **desk)
        assert LOCKED in text(locked)


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(clerk, records):
    spoofed = {"HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    with override_settings(LOGIN_ADDRESS_MAX_FAILURES=3):
        for _ in range(3):
            sign_in(Client(), clerk.username, WRONG, **spoofed)
        # Counted against the real address, whatever the header claimed.
        assert LOCKED in text(sign_in(Client(), records.username))
