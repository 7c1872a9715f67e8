"""Laboratory projections converge: the same samples, results, verifications, reports,
rejections and error-queue entries give the same tables in any order."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nirantar.lab import actions as lab
from nirantar.lab import hl7in
from nirantar.ledger import projection
from nirantar.ledger.writer import node
from nirantar.opd import actions as opd
from nirantar.registration import actions as registration
from tests.conftest import make_user


def _history(clerk, doctor, lab_tech) -> list:
    pathologist = make_user("patho", "pathologist", "Dr. Path")
    ram = registration.do_register_patient(
        clerk.username, {"name_en": "Ram", "sex": "M", "age_years": 45}
    )
    visit = registration.do_register_visit(clerk.username, ram.uhid, "MED")
    order = opd.do_order_labs(doctor.username, visit.visit_no, {"tests": ["CBC", "KFT"]})
    cbc, kft = sorted(lab.do_collect(lab_tech.username, order.order_no), key=lambda s: s.tests)
    lab.do_receive(lab_tech.username, cbc.accession)
    lab.do_enter_results(lab_tech.username, cbc.accession, {"HGB": "9.1", "PLT": "180"})
    lab.do_verify(pathologist.username, cbc.accession)
    lab.do_amend(pathologist.username, cbc.accession, {"HGB": "10.1"}, "transcription error")
    lab.do_verify(pathologist.username, cbc.accession)
    lab.do_issue_report(pathologist.username, cbc.accession)
    [again] = lab.do_reject(lab_tech.username, kft.accession, "haemolysed")
    message = (
        "MSH|^~\\&|COBASC311|LAB|||20261127||ORU^R01|M1|P|2.5\r"
        f"OBR|1||{again.accession}\rOBX|1|NM|K||4.2|mmol/L\r"
    )
    hl7in.handle(message.encode())
    hl7in.handle(message.replace("M1", "M2").replace("|4.2|", "|high|").encode())
    from nirantar.lab import queries

    failure = queries.failures()[0]
    lab.do_resolve_failure(lab_tech.username, failure.failure_id, "re-run on the analyser")
    return list(node().store.in_causal_order())


def _replay(events) -> dict:
    projection.clear()
    for event in events:
        projection.apply(event)
    return projection.dump()


_cache: dict[str, list] = {}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_order_of_the_same_lab_events_gives_the_same_tables(clerk, doctor, lab_tech, data):
    key = f"{clerk.pk}:{doctor.pk}:{lab_tech.pk}"
    if key not in _cache:
        _cache.clear()
        _cache[key] = _history(clerk, doctor, lab_tech)
    events = _cache[key]
    expected = _replay(sorted(events, key=lambda e: e.order_key))
    assert expected["lab.Sample"] and expected["lab.Result"] and expected["lab.MessageFailure"]
    shuffled = data.draw(st.permutations(events))
    assert _replay(shuffled) == expected


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_order_in_batches_of_any_size_gives_the_same_tables(clerk, doctor, lab_tech, data):
    # Orders and sample events have batch handlers (sync and rebuild apply thousands at
    # once): several events of one sample, and the samples of one order, in one batch must
    # end as one by one.
    key = f"{clerk.pk}:{doctor.pk}:{lab_tech.pk}"
    if key not in _cache:
        _cache.clear()
        _cache[key] = _history(clerk, doctor, lab_tech)
    events = _cache[key]
    expected = _replay(sorted(events, key=lambda e: e.order_key))
    shuffled = data.draw(st.permutations(events))
    size = data.draw(st.integers(1, len(events)))
    projection.clear()
    for start in range(0, len(shuffled), size):
        assert projection.apply_many(shuffled[start : start + size]) == []
    assert projection.dump() == expected
