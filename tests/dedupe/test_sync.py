"""A duplicate made on another node is found when its registration arrives by sync."""

from nirantar.ledger import bootstrap, keys
from nirantar.ledger.models import Origin
from nirantar.ledger.sync import ingest_remote
from nirantar.ledger.writer import node
from nirantar.registration.events import UHID
from tests.dedupe.conftest import SUNITA_HI
from tests.ledger.factory import Chain


def test_a_registration_arriving_by_sync_lands_on_the_worklist(register, records_api):
    here = register(SUNITA_HI)
    local = node()
    key = keys.generate()
    bootstrap.enrol(local, node="counter-7", number=7, public_key=keys.public_text(key), actor="t")
    chain = Chain("counter-7", key, Origin.objects.get(name="counter-7").enrolment_hash)
    there = UHID.format(7, 1)
    event = chain.next(
        "registration.patient_registered",
        {
            "uhid": there,
            "name_en": "Suneeta Sharma",
            "name_hi": "",
            "sex": "F",
            "date_of_birth": "1985-03-14",
            "dob_estimated": False,
            "age_given": None,
            "guardian_relation": "W/O",
            "guardian_name": "Ramesh Sharma",
            "mobile": "9812345678",
            "abha_number": "",
            "category": "general",
            "address": {"line": "", "district": "Sitapur", "state": "", "pin": ""},
        },
        stream=f"patient:{there}",
    )
    ingest_remote(local.store, [event])
    [pair] = records_api.get("/api/v1/duplicates").json()["results"]
    assert {pair["uhid_a"], pair["uhid_b"]} == {here, there}
