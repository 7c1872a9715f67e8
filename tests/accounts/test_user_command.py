"""`nirantar user add` and `nirantar token`, run in-process."""

from click.testing import CliRunner
from django.test import Client

from nirantar.accounts.models import ApiToken, User
from nirantar.cli import main
from nirantar.ledger.models import Event


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_it_adds_a_user_who_can_then_sign_in(hospital, tmp_path):
    password_file = tmp_path / "pw"
    password_file.write_text("a-long-enough-passphrase\n")
    result = run(
        "user",
        "add",
        "sunil",
        "--role",
        "clerk",
        "--full-name",
        "Sunil Kumar",
        "--password-file",
        str(password_file),
    )
    assert result.exit_code == 0, result.output
    user = User.objects.get(username="sunil")
    assert (user.role, user.full_name) == ("clerk", "Sunil Kumar")
    assert Client().login(username="sunil", password="a-long-enough-passphrase")


def test_the_password_is_asked_for_twice_when_not_given(hospital):
    result = run(
        "user",
        "add",
        "geeta",
        "--role",
        "nurse",
        input="another-long-secret\nanother-long-secret\n",
    )
    assert result.exit_code == 0, result.output
    assert User.objects.filter(username="geeta", role="nurse").exists()


def test_a_weak_password_is_refused_and_nothing_is_written(hospital, snapshot):
    before = snapshot()
    result = run("user", "add", "weak", "--role", "clerk", input="12345678\n12345678\n")
    assert result.exit_code == 2
    assert "password" in result.output
    assert before.unchanged()


def test_the_user_and_password_hash_travel_as_a_signed_event(hospital):
    run(
        "user",
        "add",
        "ravi",
        "--role",
        "doctor",
        input="ravi-has-a-passphrase\nravi-has-a-passphrase\n",
    )
    event = Event.objects.get(type="accounts.user_added", stream="user:ravi")
    assert "ravi-has-a-passphrase" not in event.body
    assert User.objects.get(username="ravi").password in event.body


def test_a_token_is_printed_once_and_only_its_hash_is_kept(clerk):
    result = run("token", clerk.username)
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("nrt_")
    assert not Event.objects.filter(body__contains=token.split("_", 2)[2]).exists()
    stored = ApiToken.objects.get(username=clerk.username)
    assert stored.token_hash != token


def test_a_token_for_nobody_is_refused(hospital):
    result = run("token", "nobody")
    assert result.exit_code == 2
