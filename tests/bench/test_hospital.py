"""The synthetic hospital (bench/hospital.py): reproducible, and what the actions write."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import hospital

SCALE = 0.002  # 30 outpatients, a couple of admissions a day


def lines_of(tmp: Path, seed: int) -> list[bytes]:
    tmp.mkdir()
    hospital.generate(seed, 1, SCALE, tmp)
    return (tmp / "hospital.ndjson").read_bytes().splitlines()


def test_the_same_seed_gives_the_same_log_byte_for_byte(tmp_path: Path) -> None:
    first = lines_of(tmp_path / "a", 3)
    assert first == lines_of(tmp_path / "b", 3)
    assert first != lines_of(tmp_path / "c", 4)


def test_a_day_has_every_kind_of_event_from_many_nodes(tmp_path: Path) -> None:
    events = [json.loads(line) for line in lines_of(tmp_path / "a", 3)]
    types = {e["type"] for e in events}
    for kind in (
        "registration.patient_registered",
        "registration.visit_registered",
        "opd.queue_moved",
        "opd.diagnosis_recorded",
        "lab.tests_ordered",
        "lab.report_issued",
        "wards.patient_admitted",
        "wards.patient_discharged",
    ):
        assert kind in types
    assert len({e["origin"] for e in events}) > 10


@pytest.mark.system
def test_every_event_is_accepted_and_projected_by_a_node(tmp_path: Path) -> None:
    """The generator ingests its log into a fresh node and refuses to finish if any
    event is held, refused, or raises an alarm; here the read models are counted too."""
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.hospital",
            "--make",
            str(out),
            "--seed",
            "3",
            "--scale",
            str(SCALE),
        ],
        check=True,
        capture_output=True,
    )
    meta = json.loads((out / "meta.json").read_text())
    with sqlite3.connect(out / "source" / "nirantar.sqlite3") as db:

        def count(table: str) -> Any:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608

        assert count("ledger_event") == meta["events"]
    types = meta["types"]
    assert count_rows(out, "registration_patient") == types["registration.patient_registered"]
    assert count_rows(out, "registration_visit") == types["registration.visit_registered"]
    assert count_rows(out, "lab_sample") == types["lab.sample_collected"]
    assert count_rows(out, "wards_admission") == types["wards.patient_admitted"]


def count_rows(out: Path, table: str) -> int:
    with sqlite3.connect(out / "source" / "nirantar.sqlite3") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_each_event_has_the_body_the_actions_write(
    tmp_path: Path, doctor: Any, nurse: Any, lab_tech: Any
) -> None:
    """Built directly, the generator's bodies must not drift from the actions': each
    type's fields are those of an event the real action writes."""
    from nirantar.lab import actions as lab
    from nirantar.lab import catalogue
    from nirantar.ledger.writer import node
    from nirantar.opd import actions as opd
    from nirantar.registration import actions as registration
    from nirantar.wards import actions as wards
    from nirantar.wards.catalogue import demo_wards

    patient = registration.do_register_patient(
        "clerk", {"name_en": "Asha Devi", "sex": "F", "age_years": 40, "mobile": "9812345678"}
    )
    visit = registration.do_register_visit("clerk", patient.uhid, "MED").visit_no
    me = doctor.username
    opd.do_call(me, visit)
    opd.do_start(me, visit)
    opd.do_record_vitals(me, visit, {"bp_systolic": 120, "bp_diastolic": 80, "pulse": 72})
    opd.do_record_note(me, visit, {"kind": "complaints", "text": "fever"})
    opd.do_record_diagnosis(me, visit, {"code": "R50.9"})
    opd.do_prescribe(
        me,
        visit,
        {
            "items": [
                {
                    "drug": "Paracetamol 500 mg tablet",
                    "dose": "1 tablet",
                    "frequency": "TDS",
                    "duration_days": 5,
                }
            ]
        },
    )
    order = opd.do_order_labs(me, visit, {"tests": ["KFT"]})
    opd.do_advise_admission(me, visit, {"reason": "for evaluation"})
    opd.do_close(me, visit)
    tech = lab_tech.username
    sample = lab.do_collect(tech, order.order_no)[0]
    lab.do_receive(tech, sample.accession)
    values = {a.code: "1.0" for a in catalogue.analytes_of(sample.tests)}
    lab.do_enter_results(tech, sample.accession, values)
    lab.do_verify(me, sample.accession)
    lab.do_issue_report(me, sample.accession)
    ward = next(w for w in demo_wards() if w["sex"] == "F")
    wards.do_define_ward("admin", ward)
    bed = ward["beds"][0]["bed"]
    admission = wards.do_admit(
        nurse.username,
        {"uhid": patient.uhid, "bed": bed, "attending": me, "source": "opd", "visit": visit},
    ).admission_no
    wards.do_discharge(me, admission, {"type": "normal", "diagnoses": "fever"})
    wards.do_clean_bed(nurse.username, bed)

    written = {e.type: set(e.body) for e in node().store.in_causal_order()}
    generated: dict[str, set[str]] = {}
    for line in lines_of(tmp_path / "a", 3):
        event = json.loads(line)
        generated[event["type"]] = set(event["body"])
    compared = 0
    for kind, fields in generated.items():
        if kind in written and not kind.startswith("ledger."):
            assert fields == written[kind], kind
            compared += 1
    assert compared >= 17
