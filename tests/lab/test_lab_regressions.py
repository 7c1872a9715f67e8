"""What the laboratory's tests found, kept found."""

from __future__ import annotations

from typing import Any

import pytest

from nirantar.errors import Conflict, ValidationFailed
from nirantar.lab import actions, hl7in
from nirantar.lab.models import MessageFailure, Result
from tests.conftest import make_user
from tests.lab.test_hl7 import msa, oru, sample  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def pathologist(hospital: Any) -> Any:
    return make_user("patho", "pathologist", "Dr. Path")


def test_a_report_is_never_printed_with_values_nobody_verified(sample, pathologist, api_as, doctor):  # noqa: F811
    made = sample(["CBC"])
    actions.do_enter_results("rohit", made.accession, {"HGB": "13.5"})
    actions.do_verify(pathologist.username, made.accession)
    actions.do_issue_report(pathologist.username, made.accession)
    api = api_as(doctor)
    assert api.get(f"/api/v1/lab/samples/{made.accession}/report.pdf").status_code == 200
    actions.do_amend(pathologist.username, made.accession, {"HGB": "9.9"}, "typo fix")
    stale = api.get(f"/api/v1/lab/samples/{made.accession}/report.pdf")
    assert stale.status_code == 409 and "out of date" in stale.json()["error"]["message"]
    from nirantar.lab import queries

    assert made.accession in [s.accession for s in queries.worklist()]  # verify it again


def test_an_analyser_cannot_change_a_verified_sample(sample, pathologist):  # noqa: F811
    made = sample(["CBC"])
    actions.do_enter_results("rohit", made.accession, {"HGB": "13.5"})
    actions.do_verify(pathologist.username, made.accession)
    reply, outcome = hl7in.handle(oru("V-1", [(made.accession, ["HGB|9.9|g/dL"])]))
    assert outcome.ack == "AE" and msa(reply)[2] == "V-1"
    assert Result.objects.filter(accession=made.accession).count() == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"MSH|^~\\&|XN1000|LAB|||2026||ORU^R01|" + b"X" * 80 + b"|P|2.5\rOBR|1||S\r",
        b"MSH|^~#&|XN1000|LAB|||2026||ORU^R01|E-7|P|2.5\r",
    ],
)
def test_every_message_is_answered_and_kept(raw):
    reply, outcome = hl7in.handle(raw)
    assert outcome.ack in ("AE", "AR") and msa(reply)[1] == outcome.ack
    if b"E-7" in raw:
        assert msa(reply)[2] == "E-7"  # refused unparsed, but still answered to its id
    assert MessageFailure.objects.count() == 1


def test_numbers_are_bounded_and_comparators_kept(sample):  # noqa: F811
    made = sample(["KFT"])
    with pytest.raises(ValidationFailed):
        actions.do_enter_results("rohit", made.accession, {"CREAT": "1e250"})
    [row] = actions.do_enter_results("rohit", made.accession, {"CREAT": "<0.20"})
    assert (row.value, row.flag) == ("<0.20", "L")


def test_fasting_and_post_meal_glucose_are_separate_draws(sample, registered):  # noqa: F811
    order = actions.do_order("meera", registered["uhid"], ["FBS", "PPBS"], source="lab")
    drawn = actions.do_collect("rohit", order.order_no)
    assert sorted(s.tests for s in drawn) == [["FBS"], ["PPBS"]]
    with pytest.raises(Conflict):
        actions.do_collect("rohit", order.order_no)


def test_a_control_id_reused_for_other_results_is_refused_not_lost(sample):  # noqa: F811
    first, second = sample(["CBC"]), sample(["CBC"])
    _, outcome = hl7in.handle(oru("0777", [(first.accession, ["HGB|13.1|g/dL"])]))
    assert outcome.ack == "AA"
    reply, outcome = hl7in.handle(oru("0777", [(second.accession, ["HGB|6.1|g/dL"])]))
    assert outcome.ack == "AE" and "used before" in outcome.reason
    assert MessageFailure.objects.filter(control_id="0777").count() == 1
    assert not Result.objects.filter(accession=second.accession).exists()


def test_a_unit_the_laboratory_does_not_report_in_is_refused(sample):  # noqa: F811
    made = sample(["RBS"])
    raw = oru("U-1", [(made.accession, ["GLUC3|5.5|mmol/L"])], instrument="COBASC311")
    reply, outcome = hl7in.handle(raw)
    assert outcome.ack == "AE" and "mmol/L" in outcome.reason
    assert not Result.objects.filter(accession=made.accession).exists()
    _, outcome = hl7in.handle(
        oru("U-2", [(made.accession, ["GLUC3|99|mg/dl"])], instrument="COBASC311")
    )
    assert outcome.ack == "AA"  # the same unit in another case


def test_an_obx_that_could_not_be_obtained_is_skipped_and_the_rest_stored(sample):  # noqa: F811
    made = sample(["CBC"])
    raw = oru("X-1", [(made.accession, ["HGB|13.1|g/dL", "PLT||10^3/uL"])]).replace(
        b"OBX|2|NM|PLT^name^L|||10^3/uL|||||F", b"OBX|2|NM|PLT^name^L|||10^3/uL|||||X"
    )
    _, outcome = hl7in.handle(raw)
    assert (outcome.ack, outcome.stored) == ("AA", 1)
