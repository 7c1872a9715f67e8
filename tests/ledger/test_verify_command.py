"""`nirantar verify`: exit 0 on an intact log; exit 1 naming the first altered event."""

import pytest
from click.testing import CliRunner
from django.db import connection

from nirantar.cli import main
from nirantar.ledger.models import Event


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_it_passes_on_an_intact_log(registered):
    result = run("verify")
    assert result.exit_code == 0, result.output
    assert "every hash, chain link and signature verified" in result.output


@pytest.mark.parametrize(
    ("column", "sql"),
    [
        (
            "body",
            "UPDATE ledger_event SET body = replace(body, 'Sitapur', 'Sitapor') WHERE id = %s",
        ),
        ("actor", "UPDATE ledger_event SET actor = 'bsha' WHERE id = %s"),
        ("hlc", "UPDATE ledger_event SET hlc_count = hlc_count + 1 WHERE id = %s"),
        (
            "sig",
            "UPDATE ledger_event SET sig = (CASE WHEN substr(sig, 1, 1) = 'A' THEN 'B' "
            "ELSE 'A' END) || substr(sig, 2) WHERE id = %s",
        ),
        (
            "hash",
            "UPDATE ledger_event SET hash = (CASE WHEN substr(hash, 1, 1) = '0' THEN '1' "
            "ELSE '0' END) || substr(hash, 2) WHERE id = %s",
        ),
    ],
)
def test_it_names_the_event_whose_stored_bytes_were_changed(registered, column, sql):
    target = Event.objects.get(
        type="registration.patient_registered", stream=f"patient:{registered['uhid']}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [target.id])
    result = run("verify")
    assert result.exit_code == 1
    assert target.id in result.output
    assert "FAILED" in result.output


def test_it_reports_as_json_for_scripts(registered):
    result = run("verify", "--json")
    assert result.exit_code == 0
    assert '"ok": true' in result.output
