"""The billing supervisor's screens through the Django test client: the conflict
worklist (roles, the audit of the patients it names, resolving with a note, bad input),
charging a procedure, and cancelling a charge."""

from __future__ import annotations

from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.billing import queries
from nirantar.billing.models import ChargeCancellation, ConflictResolution, ProcedureCharge
from tests.billing.test_billing_screens import signed_in
from tests.billing.test_charges_and_convergence import Apart, arrive, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def over_refunded(clerk: Any) -> tuple[str, str]:
    """A receipt refunded twice, by two counters cut off from each other: (uhid, key)."""
    from nirantar.registration import actions as registration

    uhid = registration.do_register_patient(
        clerk.username, {"name_en": "Sita Devi", "sex": "F", "age_years": 40}
    ).uhid
    apart = Apart()
    paid = apart.pay("counter-7", uhid, 10000, "G", at(9))
    one = apart.ask_refund("counter-7", paid, 8000, "G", at(10))
    yes_one = apart.approve("counter-7", one, at(11))
    two = apart.ask_refund("counter-8", paid, 8000, "H", at(10))
    yes_two = apart.approve("counter-8", two, at(11, 5))
    arrive([paid, one, yes_one, two, yes_two])
    return uhid, f"over_refunded:{paid.body['receipt']}"


def test_the_supervisor_sees_what_happened_and_the_patient_shown_is_audited(
    supervisor, over_refunded
):
    uhid, key = over_refunded
    client = signed_in(supervisor)
    page = client.get("/billing/conflicts")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Refunded more than was paid" in text and "recover 6000" in text
    assert uhid in text and 'name="note"' in text
    shown = AuditEntry.objects.filter(patient=uhid, action="patient.search_result")
    assert shown.count() == 1  # the UHID on the worklist is a read of that patient


def test_a_note_resolves_a_conflict_and_it_leaves_the_open_list(supervisor, over_refunded):
    _, key = over_refunded
    client = signed_in(supervisor)
    done = client.post("/billing/conflicts/resolve", {"conflict": key, "note": "recovered"})
    assert done.status_code == 302
    assert queries.conflicts() == []
    assert f'data-conflict="{key}"' not in client.get("/billing/conflicts").content.decode()
    everything = client.get("/billing/conflicts?all=1").content.decode()
    assert key in everything and "recovered" in everything


def test_bad_resolutions_say_why_beside_the_note_and_write_nothing(supervisor, over_refunded):
    _, key = over_refunded
    client = signed_in(supervisor)
    empty = client.post("/billing/conflicts/resolve", {"conflict": key, "note": "  "})
    assert empty.status_code == 400 and "note is needed" in empty.content.decode()
    unknown = client.post(
        "/billing/conflicts/resolve", {"conflict": "closed_twice:Z:2020-01-01", "note": "x"}
    )
    assert unknown.status_code == 404 and "no open billing conflict" in unknown.content.decode()
    control = client.post("/billing/conflicts/resolve", {"conflict": key, "note": "a\x00b"})
    assert control.status_code == 400
    assert not ConflictResolution.objects.exists() and len(queries.conflicts()) == 1


def test_who_sees_the_worklist_and_who_resolves(auditor, cashier, doctor, over_refunded):
    _, key = over_refunded
    watching = signed_in(auditor)
    page = watching.get("/billing/conflicts")
    assert page.status_code == 200 and key in page.content.decode()
    assert 'name="note"' not in page.content.decode()  # an auditor reads, never resolves
    assert (
        watching.post("/billing/conflicts/resolve", {"conflict": key, "note": "x"}).status_code
        == 403
    )
    for user in (cashier, doctor):
        client = signed_in(user)
        assert client.get("/billing/conflicts").status_code == 403
        assert (
            client.post("/billing/conflicts/resolve", {"conflict": key, "note": "x"}).status_code
            == 403
        )
    assert not ConflictResolution.objects.exists()


def test_a_doctor_charges_a_procedure_and_the_cashier_sees_it_owed(doctor, cashier, patient):
    uhid = patient()
    client = signed_in(doctor)
    form = client.get("/billing/procedure")
    assert form.status_code == 200 and "PROC-ECG" in form.content.decode()
    done = client.post(
        "/billing/procedure", {"uhid": uhid, "code": "PROC-ECG", "note": "chest pain"}
    )
    assert done.status_code == 302
    charged = ProcedureCharge.objects.get(uhid=uhid)
    assert (charged.code, charged.actor, charged.note) == (
        "PROC-ECG",
        doctor.username,
        "chest pain",
    )
    owed = signed_in(cashier).get(f"/billing/?uhid={uhid}").content.decode()
    assert charged.charge in owed and "ECG" in owed


def test_a_bad_procedure_is_said_beside_its_field(doctor, lab_tech, patient):
    uhid = patient()
    client = signed_in(doctor)
    wrong = client.post("/billing/procedure", {"uhid": uhid, "code": "LAB-CBC"})
    assert wrong.status_code == 400 and 'id="err-code"' in wrong.content.decode()
    nobody = client.post("/billing/procedure", {"uhid": "101-0000000-0", "code": "PROC-ECG"})
    assert nobody.status_code in (400, 404) and 'id="err-uhid"' in nobody.content.decode()
    assert 'value="101-0000000-0"' in nobody.content.decode()  # kept for correcting
    assert not ProcedureCharge.objects.exists()
    assert signed_in(lab_tech).get("/billing/procedure").status_code == 403


def test_a_supervisor_cancels_a_charge_and_a_cashier_may_not(supervisor, cashier, patient):
    uhid = patient()
    charge = f"REG:{uhid}"
    till = signed_in(cashier)
    assert (
        'action="/billing/charges/cancel"'
        not in till.get(f"/billing/?uhid={uhid}").content.decode()
    )
    sent = {"uhid": uhid, "charge": charge, "reason": "registered in error"}
    assert till.post("/billing/charges/cancel", sent).status_code == 403
    boss = signed_in(supervisor)
    assert boss.post("/billing/charges/cancel", {**sent, "reason": ""}).status_code == 400
    assert boss.post("/billing/charges/cancel", {**sent, "charge": "OPD:nope"}).status_code == 404
    assert not ChargeCancellation.objects.exists()
    done = boss.post("/billing/charges/cancel", sent, follow=True)
    assert done.status_code == 200 and "cancelled" in done.content.decode()
    again = boss.post("/billing/charges/cancel", sent)
    assert again.status_code == 409 and "cancelled already" in again.content.decode()
    assert ChargeCancellation.objects.count() == 1
