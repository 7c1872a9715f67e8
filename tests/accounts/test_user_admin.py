"""Administering users: `nirantar user ...`, `nirantar token` and the Users screen.

Every change is an event in the signed log naming who made it; a refused change
writes nothing; and the change takes effect at once - at sign-in, for screen
sessions already open, and for API tokens.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from django.conf import settings
from django.test import Client

from nirantar import cli, timeutil
from nirantar.accounts import actions as accounts
from nirantar.accounts import permissions
from nirantar.accounts.models import ApiToken, User
from nirantar.cli import main
from nirantar.ledger.models import Event
from nirantar.ledger.verify import verify
from tests.conftest import PASSWORD, Api

NEW_PASSWORD = "a-brand-new-passphrase"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def password_file(tmp_path, password: str):
    path = tmp_path / "pw"
    path.write_text(password + "\n")
    return str(path)


def signed_in(username: str, password: str = PASSWORD) -> Client:
    client = Client()
    assert client.login(username=username, password=password)
    return client


def signs_in(username: str, password: str = PASSWORD) -> bool:
    """Both ways in: Django's test login and the real sign-in form."""
    by_backend = Client().login(username=username, password=password)
    response = Client().post("/login/", {"username": username, "password": password})
    by_form = response.status_code == 302 and response["Location"] == "/"
    assert by_backend == by_form, (by_backend, response.status_code)
    return by_form


def session_alive(client: Client) -> bool:
    """A screen request in an already open session: served, or sent to sign in again."""
    response = client.get("/status/")
    if response.status_code == 302:
        assert response["Location"].startswith("/login/")
        return False
    assert response.status_code == 200
    return True


def status_code_with(token: str) -> int:
    return Api(token).get("/api/v1/status").status_code


def user_events(username: str, type_: str = "accounts.user_changed") -> list[Event]:
    return list(Event.objects.filter(type=type_, stream=f"user:{username}").order_by("row"))


def body(event: Event) -> dict:
    """The event's fields, without the schema version every body carries."""
    fields = json.loads(event.body)
    fields.pop("v", None)
    return fields


def assert_signed_by_cli(event: Event) -> None:
    assert event.actor == "cli"
    assert event.sig and event.hash
    assert verify().ok


# -- roles ---------------------------------------------------------------------------------
def test_the_cli_spells_exactly_the_roles_permissions_know():
    assert list(permissions.ROLES) == cli.ROLE_NAMES
    assert [value for value, _ in User.ROLES] == list(permissions.ROLES)
    user_group = main.commands["user"]
    add_role = next(p for p in user_group.commands["add"].params if p.name == "role")
    change_role = next(p for p in user_group.commands["role"].params if p.name == "role")
    assert list(add_role.type.choices) == list(permissions.ROLES)
    assert list(change_role.type.choices) == list(permissions.ROLES)
    assert set(permissions.ROLES) == {
        "clerk",
        "doctor",
        "nurse",
        "lab",
        "pathologist",
        "records",
        "billing",
        "accounts",
        "admin",
        "auditor",
        "display",
        "management",
    }


@pytest.mark.parametrize("role", permissions.ROLES)
def test_user_add_accepts_every_role(hospital, tmp_path, role):
    result = run(
        "user",
        "add",
        f"u-{role}",
        "--role",
        role,
        "--password-file",
        password_file(tmp_path, PASSWORD),
    )
    assert result.exit_code == 0, result.output
    assert User.objects.get(username=f"u-{role}").role == role


# -- user list -----------------------------------------------------------------------------
def test_user_list_shows_each_user_with_role_and_state(clerk, doctor, auditor):
    accounts.do_change_user("test", doctor.username, active=False)
    accounts.do_change_user("test", auditor.username, totp_secret=accounts.new_totp_secret())
    result = run("user", "list")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert lines["asha"].split()[:2] == ["asha", "clerk"]
    assert "Asha Verma" in lines["asha"]
    assert "DISABLED" not in lines["asha"] and "2FA" not in lines["asha"]
    assert lines["meera"].split()[:2] == ["meera", "doctor"]
    assert lines["meera"].rstrip().endswith("DISABLED")
    assert lines["privacy"].split()[:2] == ["privacy", "auditor"]
    assert lines["privacy"].rstrip().endswith("2FA")


def test_user_list_json_holds_the_same_facts(clerk, doctor, auditor):
    accounts.do_change_user("test", doctor.username, active=False)
    accounts.do_change_user("test", auditor.username, totp_secret=accounts.new_totp_secret())
    result = run("user", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    by_name = {row["username"]: row for row in rows}
    assert by_name["asha"] == {
        "username": "asha",
        "full_name": "Asha Verma",
        "role": "clerk",
        "active": True,
        "second_factor": False,
        "locked_here": False,
    }
    assert (by_name["meera"]["role"], by_name["meera"]["active"]) == ("doctor", False)
    assert by_name["meera"]["full_name"] == "Dr. Meera Iyer"
    assert by_name["privacy"]["second_factor"] is True
    for _ in range(settings.LOGIN_MAX_FAILURES):
        Client().post("/login/", {"username": "meera", "password": "not-her-password"})
    again = {row["username"]: row for row in json.loads(run("user", "list", "--json").output)}
    assert again["meera"]["locked_here"] is True and again["asha"]["locked_here"] is False
    assert "LOCKED" in run("user", "list").output
    assert [row["username"] for row in rows] == sorted(User.objects.values_list("pk", flat=True))
    # No secret of any kind travels in the listing.
    assert "password" not in result.output and "totp_secret" not in result.output


# -- disable / enable ----------------------------------------------------------------------
def test_a_disabled_user_is_refused_everywhere_until_enabled(clerk):
    token = accounts.do_issue_token("test", clerk.username)
    session = signed_in(clerk.username)
    assert status_code_with(token) == 200 and session_alive(session)

    result = run("user", "disable", clerk.username)
    assert result.exit_code == 0, result.output
    assert "Disabled asha" in result.output
    [event] = user_events(clerk.username)
    assert body(event) == {"active": False, "username": "asha"}
    assert_signed_by_cli(event)

    assert not signs_in(clerk.username)
    assert status_code_with(token) == 401
    assert not session_alive(session)  # the open session ends on its next request

    result = run("user", "enable", clerk.username)
    assert result.exit_code == 0, result.output
    assert "Enabled asha" in result.output
    enabled = user_events(clerk.username)[-1]
    assert body(enabled)["active"] is True
    assert_signed_by_cli(enabled)
    assert signs_in(clerk.username)
    # The screen left open while she was disabled stays ended: she signs in afresh.
    assert not session_alive(session)


# -- role ----------------------------------------------------------------------------------
def test_a_new_role_changes_what_the_user_may_do(clerk, registered):
    token = accounts.do_issue_token("test", clerk.username)
    audit = f"/api/v1/audit?patient={registered['uhid']}"
    search = "/api/v1/patients?q=ram"
    assert Api(token).get(audit).status_code == 403
    assert Api(token).get(search).status_code == 200

    result = run("user", "role", clerk.username, "auditor")
    assert result.exit_code == 0, result.output
    assert "asha is now auditor" in result.output
    event = user_events(clerk.username)[-1]
    assert body(event) == {"role": "auditor", "username": "asha"}
    assert_signed_by_cli(event)

    assert Api(token).get(audit).status_code == 200
    assert Api(token).get(search).status_code == 403


def test_an_unknown_role_is_refused_and_nothing_is_written(clerk, snapshot):
    before = snapshot()
    result = run("user", "role", clerk.username, "superuser")
    assert result.exit_code != 0
    assert "superuser" in result.output
    assert "clerk" in result.output and "auditor" in result.output  # says what is allowed
    assert before.unchanged()
    assert User.objects.get(username=clerk.username).role == "clerk"


def test_user_add_with_an_unknown_role_is_refused_and_nothing_is_written(
    hospital, tmp_path, snapshot
):
    before = snapshot()
    result = run(
        "user",
        "add",
        "sunil",
        "--role",
        "root",
        "--password-file",
        password_file(tmp_path, PASSWORD),
    )
    assert result.exit_code != 0
    assert "root" in result.output
    assert before.unchanged()
    assert not User.objects.filter(username="sunil").exists()


# -- password ------------------------------------------------------------------------------
def test_a_new_password_replaces_the_old_and_ends_open_sessions(clerk, tmp_path):
    session = signed_in(clerk.username)
    result = run(
        "user", "password", clerk.username, "--password-file", password_file(tmp_path, NEW_PASSWORD)
    )
    assert result.exit_code == 0, result.output
    assert "Password of asha changed" in result.output
    assert not signs_in(clerk.username, PASSWORD)
    assert signs_in(clerk.username, NEW_PASSWORD)
    assert not session_alive(session)
    event = user_events(clerk.username)[-1]
    assert NEW_PASSWORD not in event.body
    assert body(event)["password_hash"] == User.objects.get(pk="asha").password
    assert_signed_by_cli(event)


@pytest.mark.parametrize("weak", ["short", "1234567890123", "password123", "asha verma"])
def test_a_weak_new_password_is_refused_and_nothing_is_written(clerk, tmp_path, snapshot, weak):
    before = snapshot()
    result = run(
        "user", "password", clerk.username, "--password-file", password_file(tmp_path, weak)
    )
    assert result.exit_code != 0
    assert "password" in result.output
    assert before.unchanged()
    assert signs_in(clerk.username, PASSWORD)


# -- tokens --------------------------------------------------------------------------------
def test_token_for_one_day_works_now_and_not_after_it(clerk, monkeypatch):
    result = run("token", clerk.username, "--days", "1", "--label", "counter script")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert status_code_with(token) == 200
    row = ApiToken.objects.get(username=clerk.username)
    assert row.label == "counter script"
    issued = Event.objects.get(type="accounts.token_issued", stream="user:asha")
    assert body(issued)["token_id"] == row.token_id
    assert token.split("_", 2)[2] not in issued.body  # only the hash travels
    assert_signed_by_cli(issued)
    tomorrow = timeutil.local(timeutil.now() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert f"expires {tomorrow}" in run("user", "tokens", clerk.username).output

    from nirantar.accounts import auth

    monkeypatch.setattr(auth, "wall_ms", lambda: row.expires_at_ms + 1)
    assert status_code_with(token) == 401


@pytest.mark.parametrize("days", ["0", "-1", "3651", "many"])
def test_token_with_a_bad_lifetime_is_refused_and_nothing_is_written(clerk, snapshot, days):
    before = snapshot()
    result = run("token", clerk.username, "--days", days)
    assert result.exit_code != 0
    assert "days" in result.output.lower()
    assert before.unchanged()


def test_user_tokens_lists_tokens_without_their_secrets_and_revoke_kills_one(clerk):
    first = run("token", clerk.username, "--label", "first").output.strip()
    second = run("token", clerk.username, "--label", "second").output.strip()
    rows = list(ApiToken.objects.filter(username=clerk.username).order_by("issued_at_ms"))
    assert len(rows) == 2

    listing = run("user", "tokens", clerk.username)
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert [line.split()[0] for line in lines] == [r.token_id for r in rows]
    assert lines[0].rstrip().endswith("first") and lines[1].rstrip().endswith("second")
    for token, row in zip((first, second), rows, strict=True):
        secret = token.split("_", 2)[2]
        assert secret not in listing.output
        assert row.token_hash not in listing.output

    revoked = rows[0].token_id
    result = run("user", "revoke-token", revoked)
    assert result.exit_code == 0, result.output
    assert f"Revoked token {revoked}" in result.output
    event = Event.objects.get(type="accounts.token_revoked")
    assert body(event)["token_id"] == revoked
    assert_signed_by_cli(event)

    assert status_code_with(first) == 401
    assert status_code_with(second) == 200
    assert "revoked" in run("user", "tokens", clerk.username).output.splitlines()[0]


# -- names nobody holds --------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ["user", "disable", "nobody"],
        ["user", "enable", "nobody"],
        ["user", "role", "nobody", "doctor"],
        ["user", "password", "nobody", "--password-file", "{pw}"],
        ["user", "totp", "nobody"],
        ["user", "totp", "nobody", "--off"],
        ["user", "tokens", "nobody"],
        ["user", "unlock", "nobody"],
        ["token", "nobody"],
        ["user", "revoke-token", "0123456789abcdef"],
    ],
    ids=lambda c: " ".join(c[:2]) + (" --off" if "--off" in c else ""),
)
def test_an_unknown_user_or_token_is_an_error_and_nothing_is_written(
    clerk, tmp_path, snapshot, command
):
    command = [part.format(pw=password_file(tmp_path, NEW_PASSWORD)) for part in command]
    before = snapshot()
    result = run(*command)
    assert result.exit_code != 0, result.output
    named = "0123456789abcdef" if command[1] == "revoke-token" else "nobody"
    said = result.output.lower()
    assert "error" in said and ("no such" in said or named in said), result.output
    assert "Secret for" not in result.output  # no TOTP secret shown for nobody
    assert before.unchanged()


def test_a_disabled_user_gets_no_new_token(clerk, snapshot):
    accounts.do_change_user("test", clerk.username, active=False)
    before = snapshot()
    result = run("token", clerk.username)
    assert result.exit_code != 0
    assert "asha" in result.output
    assert before.unchanged()


# -- the Users screen ----------------------------------------------------------------------
def test_the_users_screen_lists_users_to_an_administrator(admin, clerk, doctor):
    accounts.do_change_user("test", doctor.username, active=False)
    page = signed_in(admin.username).get("/users/")
    assert page.status_code == 200
    html = page.content.decode()
    for user in (admin, clerk, doctor):
        assert f'value="{user.username}"' in html
        assert user.full_name in html
    row = html[html.index("Dr. Meera Iyer") :]
    row = row[: row.index("</tr>")]
    assert '<option value="doctor" selected>' in row
    assert "disabled" in row and 'value="enable"' in row


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_clerk_may_not_open_the_users_screen(clerk, doctor, snapshot, method):
    session = signed_in(clerk.username)
    before = snapshot()
    response = getattr(session, method)(
        "/users/", {"action": "disable", "username": doctor.username} if method == "post" else {}
    )
    assert response.status_code == 403
    assert "Dr. Meera Iyer" not in response.content.decode()
    assert before.unchanged()
    assert User.objects.get(pk=doctor.username).is_active


def test_someone_not_signed_in_is_sent_to_sign_in(clerk, snapshot):
    before = snapshot()
    response = Client().post("/users/", {"action": "disable", "username": clerk.username})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert before.unchanged()


def _post(session: Client, **form: str):
    response = session.post("/users/", form, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/users/", 302)]
    return response.content.decode()


def test_the_users_screen_disables_changes_role_and_sets_password_end_to_end(admin, clerk):
    token = accounts.do_issue_token("test", clerk.username)
    clerk_session = signed_in(clerk.username)
    session = signed_in(admin.username)

    page = _post(session, action="disable", username=clerk.username)
    assert "asha disabled." in page
    event = user_events(clerk.username)[-1]
    assert (event.actor, body(event)["active"]) == ("it-admin", False)
    assert not signs_in(clerk.username)
    assert status_code_with(token) == 401
    assert not session_alive(clerk_session)

    page = _post(session, action="enable", username=clerk.username)
    assert "asha enabled." in page
    assert signs_in(clerk.username)

    page = _post(session, action="role", username=clerk.username, role="auditor")
    assert "asha is now auditor." in page
    assert User.objects.get(pk=clerk.username).role == "auditor"
    assert user_events(clerk.username)[-1].actor == "it-admin"

    page = _post(session, action="password", username=clerk.username, password=NEW_PASSWORD)
    assert "Password of asha changed." in page
    assert not signs_in(clerk.username, PASSWORD)
    assert signs_in(clerk.username, NEW_PASSWORD)
    assert verify().ok


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"action": "role", "username": "asha", "role": "superuser"}, "role must be one of"),
        ({"action": "role", "username": "nobody", "role": "doctor"}, "no user nobody"),
        ({"action": "disable", "username": "nobody"}, "no user nobody"),
        ({"action": "password", "username": "asha", "password": "short"}, "password"),
        ({"action": "password", "username": "nobody", "password": NEW_PASSWORD}, "nobody"),
        ({"action": "disable", "username": "it-admin"}, "disable yourself"),
    ],
)
def test_the_users_screen_refuses_bad_changes_and_writes_nothing(
    admin, clerk, snapshot, form, says
):
    session = signed_in(admin.username)
    before = snapshot()
    page = _post(session, **form)
    assert says in page
    assert before.unchanged()
    assert signs_in(clerk.username) and signs_in(admin.username)


def test_an_administrator_changing_their_own_password_stays_signed_in(admin):
    session = signed_in(admin.username)
    page = _post(session, action="password", username=admin.username, password=NEW_PASSWORD)
    assert f"Password of {admin.username} changed." in page
    assert session.get("/users/").status_code == 200  # still signed in
    assert signs_in(admin.username, NEW_PASSWORD)


def test_an_administrator_cannot_change_their_own_role(admin, snapshot):
    session = signed_in(admin.username)
    before = snapshot()
    page = _post(session, action="role", username=admin.username, role="clerk")
    assert "you can&#x27;t change your own role" in page
    assert before.unchanged()
    assert session.get("/users/").status_code == 200


def test_a_full_name_with_control_characters_is_refused(admin, snapshot):
    session = signed_in(admin.username)
    before = snapshot()
    page = _post(
        session,
        action="add",
        username="sunil",
        role="clerk",
        password=NEW_PASSWORD,
        full_name="Sunil\x00 Kumar",
    )
    assert "invisible or control characters" in page
    assert before.unchanged()
