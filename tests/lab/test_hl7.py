"""Analyser results over HL7 v2: hl7in.handle(raw) -> (ACK bytes, outcome).

AA stores every result of the message (awaiting verification); AE and AR store none of
them and keep the message in the laboratory's error queue for a person to resolve.
"""

from __future__ import annotations

from typing import Any

import pytest

from nirantar.lab import actions, events, hl7in
from nirantar.lab.models import MessageFailure, Result, Sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(registered: dict[str, Any], hospital: Any) -> Any:
    """sample(tests, receive=True) -> a new Sample of the registered patient."""

    def make(tests: list[str], receive: bool = True) -> Sample:
        order = actions.do_order("meera", registered["uhid"], tests, source="lab")
        [made] = actions.do_collect("rohit", order.order_no)
        return actions.do_receive("rohit", made.accession) if receive else made

    return make


def oru(
    control: str,
    groups: list[tuple[str, list[str]]],
    instrument: str = "XN1000",
    kind: str = "ORU^R01",
) -> bytes:
    """An ORU^R01 from `instrument`: one OBR per (accession, [OBX 'code|value|unit'])."""
    lines = [f"MSH|^~\\&|{instrument}|LAB|NIRANTAR|HOSP|20261127101500||{kind}|{control}|P|2.5"]
    lines.append("PID|1||101-0000001-3")
    for n, (accession, results) in enumerate(groups, 1):
        lines.append(f"OBR|{n}||{accession}|PANEL")
        for i, obx in enumerate(results, 1):
            code, value, unit = obx.split("|")
            lines.append(f"OBX|{i}|NM|{code}^name^L||{value}|{unit}|||||F")
    return ("\r".join(lines) + "\r").encode()


def msa(ack: bytes) -> list[str]:
    """The ACK's MSA fields: [MSA, code, control id echoed, text]."""
    segments = ack.decode().split("\r")
    assert segments[0].startswith("MSH|^~\\&|NIRANTAR|LAB|"), ack
    found = [s.split("|") for s in segments if s.startswith("MSA|")]
    assert len(found) == 1, ack
    return found[0] + [""] * (4 - len(found[0]))


def queued(raw: bytes, ack: str) -> MessageFailure:
    """The message is in the error queue, whole, with the code it was answered with."""
    [row] = MessageFailure.objects.filter(message=raw.decode())
    assert (row.ack, row.resolved) == (ack, False) and row.reason
    return row


CBC = ["HGB|14.2|g/dL", "WBC|7.25|10^3/uL", "PLT|250|10^3/uL"]


def test_a_good_message_is_stored_once_awaiting_verification(sample: Any) -> None:
    cbc = sample(["CBC"])
    raw = oru("MSG0001", [(cbc.accession, CBC)])

    ack, outcome = hl7in.handle(raw)
    assert msa(ack)[:3] == ["MSA", "AA", "MSG0001"]
    assert (outcome.ack, outcome.stored) == ("AA", 3)
    rows = {r.analyte: r for r in Result.objects.filter(accession=cbc.accession)}
    assert {a: r.value for a, r in rows.items()} == {"HGB": "14.2", "WBC": "7.2", "PLT": "250"}
    for r in rows.values():
        assert (r.source, r.instrument, r.control_id) == ("analyser", "XN1000", "MSG0001")
        assert r.actor == hl7in.ACTOR and r.flag == "" and not r.amends
    cbc.refresh_from_db()
    assert cbc.status == "resulted" and cbc.verified_results == []
    assert {r.analyte for r in actions.awaiting_verification(cbc)} == set(rows)

    ack, outcome = hl7in.handle(raw)  # the analyser did not hear the ACK, and resends
    assert msa(ack)[:3] == ["MSA", "AA", "MSG0001"]
    assert (outcome.ack, outcome.stored) == ("AA", 0)
    assert Result.objects.filter(accession=cbc.accession).count() == 3
    assert not MessageFailure.objects.exists()


def test_line_feeds_and_the_placer_field_are_understood(sample: Any) -> None:
    cbc = sample(["CBC"])
    raw = oru("MSG0002", [(cbc.accession, ["718-7|6.5|g/dL"])]).replace(b"\r", b"\r\n")
    raw = raw.replace(f"OBR|1||{cbc.accession}".encode(), f"OBR|1|{cbc.accession}|".encode())
    ack, outcome = hl7in.handle(raw)
    assert msa(ack)[1:3] == ["AA", "MSG0002"]
    [hgb] = Result.objects.filter(accession=cbc.accession)
    assert (hgb.analyte, hgb.value, hgb.flag) == ("HGB", "6.5", "LL")  # a LOINC code


GOOD = "MSH|^~\\&|XN1000|LAB|NIRANTAR|HOSP|20261127101500||ORU^R01|{}|P|2.5\rOBR|1||{}|CBC\r"


@pytest.mark.parametrize(
    ("case", "raw"),
    [
        ("not HL7", b"HELLO|this is not a message\rOBX|1|NM|HGB||14|g/dL"),
        ("does not begin with MSH", b"PID|1\r" + GOOD.format("AR1", "S").encode()),
        ("a blank segment", GOOD.format("AR2", "S").encode() + b"\r\rOBX|1|NM|HGB||14"),
        ("encoding characters", GOOD.format("AR3", "S").replace("^~\\&", "^~\\#").encode()),
        ("field separator", GOOD.format("AR4", "S").replace("|", "#").encode()),
        ("truncated", b"MSH|^~"),
    ],
)
def test_an_unusable_message_is_refused_ar(sample: Any, case: str, raw: bytes) -> None:
    ack, outcome = hl7in.handle(raw)
    assert msa(ack)[1] == "AR" and outcome.ack == "AR" and outcome.stored == 0
    assert msa(ack)[3], "the ACK says why"
    queued(raw, "AR")
    assert not Result.objects.exists()


@pytest.mark.parametrize(
    ("kind", "control"), [("ADT^A01", "ADT1"), ("ORM^O01", "ORM1"), ("ORU^R01", "")]
)
def test_not_a_result_message_is_refused_ar(sample: Any, kind: str, control: str) -> None:
    cbc = sample(["CBC"])
    raw = oru(control, [(cbc.accession, CBC)], kind=kind)
    ack, outcome = hl7in.handle(raw)
    assert msa(ack)[1:3] == ["AR", control]  # MSA-2 echoes MSH-10
    queued(raw, "AR")
    assert not Result.objects.exists()


def test_an_oversize_message_is_refused_ar(sample: Any) -> None:
    cbc = sample(["CBC"])
    raw = oru("BIG1", [(cbc.accession, CBC)])
    raw += b"NTE|1||" + b"x" * (hl7in.MAX_MESSAGE - len(raw)) + b"\r"
    assert len(raw) > hl7in.MAX_MESSAGE
    ack, outcome = hl7in.handle(raw)
    assert msa(ack)[1] == "AR" and "limit" in outcome.reason
    [row] = MessageFailure.objects.all()
    assert row.ack == "AR" and row.message == raw[: hl7in.MAX_MESSAGE].decode()
    assert not Result.objects.exists()


def mistyped(accession: str) -> str:
    return accession[:-1] + str((int(accession[-1]) + 1) % 10)


def rejected(sample: Any) -> str:
    s = sample(["CBC"])
    actions.do_reject("rohit", s.accession, "haemolysed")
    return s.accession


@pytest.mark.parametrize(
    ("case", "groups"),
    [
        ("not an accession", lambda s: [("NOT-A-SAMPLE", CBC)]),
        ("check digit wrong", lambda s: [(mistyped(s(["CBC"]).accession), CBC)]),
        ("no such sample", lambda s: [(events.ACCESSION.format(101, 99999), CBC)]),
        ("code not mapped", lambda s: [(s(["CBC"]).accession, ["GLUC3|95|mg/dL"])]),
        ("code not ordered", lambda s: [(s(["CBC"]).accession, ["ESR|12|mm/h"])]),
        ("not a number", lambda s: [(s(["CBC"]).accession, ["HGB|14.2|g/dL", "WBC|high|x"])]),
        ("no value", lambda s: [(s(["CBC"]).accession, ["HGB||g/dL"])]),
        ("rejected sample", lambda s: [(rejected(s), CBC)]),
        ("no results", lambda s: [(s(["CBC"]).accession, [])]),
    ],
)
def test_a_message_that_cannot_be_taken_is_answered_ae(sample: Any, case: str, groups: Any) -> None:
    raw = oru("AE1", groups(sample))
    ack, outcome = hl7in.handle(raw)
    assert msa(ack)[1:3] == ["AE", "AE1"], (case, outcome)
    assert outcome.stored == 0 and msa(ack)[3]
    queued(raw, "AE")
    assert not Result.objects.exists()


def test_an_obx_before_any_obr_is_ae(sample: Any) -> None:
    raw = GOOD.format("AE2", "x").split("\rOBR")[0].encode() + b"\rOBX|1|NM|HGB||14|g/dL\r"
    ack, _ = hl7in.handle(raw)
    assert msa(ack)[1:3] == ["AE", "AE2"]
    queued(raw, "AE")


@pytest.mark.parametrize("bad", ["WBC|lots|10^3/uL", "GLUC3|95|mg/dL"])
def test_one_bad_group_stores_nothing_of_the_message(sample: Any, bad: str) -> None:
    first, second = sample(["CBC"]), sample(["CBC"])
    raw = oru("TWO1", [(first.accession, CBC), (second.accession, ["HGB|13.0|g/dL", bad])])
    ack, outcome = hl7in.handle(raw)
    assert msa(ack)[1:3] == ["AE", "TWO1"] and outcome.stored == 0
    assert not Result.objects.exists()  # all or nothing: the good first group waits too
    for s in (first, second):
        s.refresh_from_db()
        assert s.status == "received"
    queued(raw, "AE")

    # Corrected and sent again under the same control id: now it is taken whole.
    good = ["HGB|13.0|g/dL", "WBC|7.0|10^3/uL"]
    fixed = oru("TWO1", [(first.accession, CBC), (second.accession, good)])
    ack, outcome = hl7in.handle(fixed)
    assert msa(ack)[1:3] == ["AA", "TWO1"] and outcome.stored == 5


def test_the_error_queue_keeps_messages_until_resolved(
    sample: Any, api_as: Any, lab_tech: Any, clerk_api: Any
) -> None:
    cbc = sample(["CBC"])
    bad = oru("Q1", [(cbc.accession, ["HGB|abc|g/dL"])])
    junk = b"not hl7 at all"
    assert hl7in.handle(bad)[1].ack == "AE" and hl7in.handle(junk)[1].ack == "AR"
    assert hl7in.handle(oru("Q2", [(cbc.accession, CBC)]))[1].ack == "AA"

    lab = api_as(lab_tech)
    assert clerk_api.get("/api/v1/lab/errors").status_code == 403
    response = lab.get("/api/v1/lab/errors")
    assert response.status_code == 200, response.content
    listed = {f["control_id"]: f for f in response.json()}
    assert set(listed) == {"Q1", ""}  # the good message is not queued
    assert listed["Q1"]["message"] == bad.decode() and listed["Q1"]["ack"] == "AE"
    assert listed["Q1"]["instrument"] == "XN1000" and "HGB" in listed["Q1"]["reason"]
    assert listed[""]["message"] == junk.decode() and listed[""]["ack"] == "AR"

    failure = listed["Q1"]["failure"]
    url = f"/api/v1/lab/errors/{failure}/resolve"
    assert lab.post(url, {"note": ""}).status_code == 400
    assert clerk_api.post(url, {"note": "entered by hand"}).status_code == 403
    assert lab.post(url, {"note": "value entered by hand after re-run"}).status_code == 200
    assert lab.post(url, {"note": "again"}).status_code == 409
    assert lab.post("/api/v1/lab/errors/nope:1/resolve", {"note": "gone"}).status_code == 404

    assert [f["control_id"] for f in lab.get("/api/v1/lab/errors").json()] == [""]
    [done] = lab.get("/api/v1/lab/errors?resolved=true").json()
    assert done["failure"] == failure and done["resolved"] is True
    assert done["note"] == "value entered by hand after re-run"
    assert done["message"] == bad.decode()


def test_one_glucose_code_maps_by_what_was_ordered(sample: Any) -> None:
    fasting, random = sample(["FBS"]), sample(["RBS"])
    for n, s in enumerate((fasting, random)):
        raw = oru(f"GLU{n}", [(s.accession, ["GLUC3|110|mg/dL"])], instrument="COBASC311")
        ack, _ = hl7in.handle(raw)
        assert msa(ack)[1:3] == ["AA", f"GLU{n}"]
    [gluf] = Result.objects.filter(accession=fasting.accession)
    [glur] = Result.objects.filter(accession=random.accession)
    assert (gluf.analyte, gluf.flag, gluf.instrument) == ("GLUF", "H", "COBASC311")  # 70-100
    assert (glur.analyte, glur.flag, glur.instrument) == ("GLUR", "", "COBASC311")  # 70-140

    # The same control id from another analyser is another message.
    lft = sample(["LFT"])
    raw = oru("GLU0", [(lft.accession, ["BILT3|0.8|mg/dL", "ALTL|30|U/L"])], "COBASC311")
    assert hl7in.handle(raw)[1].stored == 0  # COBASC311 sent GLU0 already
    raw = raw.replace(b"COBASC311", b"COBASC311B").replace(b"BILT3", b"1975-2")
    raw = raw.replace(b"ALTL", b"1742-6")
    assert hl7in.handle(raw)[1].stored == 2  # LOINC codes are understood from any analyser
