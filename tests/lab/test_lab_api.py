"""The laboratory through its JSON API: samples, results, verification, signed reports."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.lab import catalogue, hl7in, report
from nirantar.ledger.models import Event
from tests import pdf
from tests.conftest import make_user
from tests.openapi import assert_matches_schema

pytestmark = pytest.mark.django_db

ACCESSION = re.compile(r"^S-101-\d{7}-\d$")


@pytest.fixture
def pathologist(hospital: Any) -> Any:
    return make_user("nandita", "pathologist", "Dr. Nandita Rao")


@pytest.fixture
def lab(api_as: Any, lab_tech: Any) -> Any:
    return api_as(lab_tech)


@pytest.fixture
def path_api(api_as: Any, pathologist: Any) -> Any:
    return api_as(pathologist)


@pytest.fixture
def doc(api_as: Any, doctor: Any) -> Any:
    return api_as(doctor)


@pytest.fixture
def order(clerk_api: Any, doc: Any, ram: dict[str, Any]) -> Any:
    """order(tests, **patient) -> order number: a new patient's OPD visit orders the tests."""
    count = iter(range(1, 100))

    def make(tests: list[str], **patient: Any) -> str:
        n = next(count)
        person = {**ram, "mobile": f"98765432{n:02d}", "name_en": f"Ram Kumar {'X' * n}"}
        person.update(patient)
        created = clerk_api.post("/api/v1/patients", person)
        assert created.status_code == 201, created.content
        uhid = created.json()["uhid"]
        visit = clerk_api.post("/api/v1/visits", {"uhid": uhid, "department": "MED"})
        assert visit.status_code == 201, visit.content
        ordered = doc.post(f"/api/v1/visits/{visit.json()['visit']}/lab-orders", {"tests": tests})
        assert ordered.status_code == 201, ordered.content
        return ordered.json()["order"]

    return make


@pytest.fixture
def collected(order: Any, lab: Any) -> Any:
    """collected(tests, **patient) -> {test code: sample}, collected and received."""

    def make(tests: list[str], receive: bool = True, **patient: Any) -> dict[str, Any]:
        response = lab.post(f"/api/v1/lab/orders/{order(tests, **patient)}/collect")
        assert response.status_code == 201, response.content
        samples = response.json()["samples"]
        for s in samples:
            if receive:
                assert lab.post(f"/api/v1/lab/samples/{s['accession']}/receive").status_code == 200
        return {t: s for s in samples for t in s["tests"]}

    return make


def enter(api: Any, accession: str, values: dict[str, Any]) -> Any:
    return api.post(f"/api/v1/lab/samples/{accession}/results", {"values": values})


def by_analyte(sample: dict[str, Any], current: bool = True) -> dict[str, dict[str, Any]]:
    return {r["analyte"]: r for r in sample["results"] if r["current"] == current}


def oru(accession: str, control: str, obx: str) -> bytes:
    return (
        f"MSH|^~\\&|XN1000|LAB|NIRANTAR|HOSP|20261127101500||ORU^R01|{control}|P|2.5\r"
        f"OBR|1||{accession}|CBC\r{obx}\r"
    ).encode()


def test_collecting_makes_one_labelled_sample_per_container(order: Any, lab: Any) -> None:
    number = order(["CBC", "LFT", "RBS"])
    response = lab.post(f"/api/v1/lab/orders/{number}/collect")
    assert response.status_code == 201, response.content
    samples = response.json()["samples"]
    assert {s["container"]: s["tests"] for s in samples} == {
        catalogue.EDTA: ["CBC"],
        catalogue.SERUM: ["LFT"],
        catalogue.FLUORIDE: ["RBS"],
    }
    assert {s["container"]: s["section"] for s in samples} == {
        catalogue.EDTA: "haematology",
        catalogue.SERUM: "biochemistry",
        catalogue.FLUORIDE: "biochemistry",
    }
    assert len({s["accession"] for s in samples}) == 3
    for s in samples:
        assert ACCESSION.match(s["accession"]), s["accession"]
        assert s["status"] == "collected" and s["orders"] == [number]
        assert s["collected_by"] == "rohit" and s["results"] == []
        label = lab.get(s["label"])
        assert label.status_code == 200 and label["Content-Type"] == "application/pdf"
        text = pdf.text(label.content)
        assert s["accession"] in text and s["uhid"] in text
        for code in s["tests"]:
            assert code in text
        assert pdf.page_size_mm(label.content) == pytest.approx((50.0, 25.0), abs=0.3)

    again = lab.post(f"/api/v1/lab/orders/{number}/collect")
    assert again.status_code == 409, again.content
    assert lab.post("/api/v1/lab/orders/LO-101-9999999-9/collect").status_code in (400, 404)


def test_status_only_moves_forward(collected: Any, lab: Any, path_api: Any) -> None:
    sample = collected(["CBC"], receive=False)["CBC"]
    acc = sample["accession"]
    url = f"/api/v1/lab/samples/{acc}"

    assert lab.post(f"{url}/receive").json()["status"] == "received"
    again = lab.post(f"{url}/receive")
    assert again.status_code == 200 and again.json()["status"] == "received"
    received = Event.objects.filter(type="lab.sample_received", body__contains=acc)
    assert received.count() == 1  # a second receipt writes nothing

    assert enter(lab, acc, {"HGB": "14"}).json()["status"] == "resulted"
    assert lab.post(f"{url}/receive").json()["status"] == "resulted"
    assert path_api.post(f"{url}/verify").json()["status"] == "verified"
    assert lab.post(f"{url}/receive").json()["status"] == "verified"
    assert enter(lab, acc, {"HGB": "15"}).status_code == 409  # amend instead
    assert lab.post(f"{url}/reject", {"reason": "clotted"}).status_code == 409
    assert path_api.post(f"{url}/report").json()["status"] == "reported"
    assert lab.post(f"{url}/receive").json()["status"] == "reported"
    assert lab.get(url).json()["status"] == "reported"


def test_rejecting_recollects_the_same_tests_and_refuses_results(
    collected: Any, lab: Any, order: Any
) -> None:
    old = collected(["CBC", "MP"])["CBC"]
    acc = old["accession"]
    url = f"/api/v1/lab/samples/{acc}"

    assert lab.post(f"{url}/reject", {"reason": "smelly"}).status_code == 400
    assert lab.post(f"{url}/reject", {}).status_code == 400
    assert lab.get(url).json()["status"] == "received"

    response = lab.post(f"{url}/reject", {"reason": "haemolysed"})
    assert response.status_code == 201, response.content
    [new] = response.json()["samples"]
    assert new["accession"] != acc and ACCESSION.match(new["accession"])
    assert new["replaces"] == acc
    assert new["tests"] == ["CBC", "MP"] and new["container"] == catalogue.EDTA
    assert new["status"] == "collected" and new["orders"] == old["orders"]

    gone = lab.get(url).json()
    assert gone["status"] == "rejected" and gone["rejected_reason"] == "haemolysed"
    assert enter(lab, acc, {"HGB": "13"}).status_code == 409
    assert lab.post(f"{url}/receive").status_code == 409
    assert lab.post(f"/api/v1/lab/orders/{old['orders'][0]}/collect").status_code == 409

    ack, outcome = hl7in.handle(oru(acc, "REJ1", "OBX|1|NM|HGB||13.1|g/dL|||||F"))
    assert outcome.ack == "AE" and b"MSA|AE|REJ1" in ack
    assert lab.get(url).json()["results"] == []

    # The replacement takes the results.
    assert enter(lab, new["accession"], {"HGB": "13"}).status_code == 201


def test_results_are_formatted_and_flagged_for_the_patient(collected: Any, lab: Any) -> None:
    samples = collected(["CBC", "KFT"], name_en="Sita Devi", sex="F", age_years=30)
    cbc, kft = samples["CBC"]["accession"], samples["KFT"]["accession"]

    response = enter(lab, cbc, {"HGB": "11", "RBC": 4, "WBC": 7.24, "PLT": "250.4"})
    assert response.status_code == 201, response.content
    body = response.json()
    rows = by_analyte(body)
    assert {a: (r["value"], r["flag"]) for a, r in rows.items()} == {
        "HGB": ("11.0", "L"),  # a woman's range, 12-15
        "RBC": ("4.00", ""),
        "WBC": ("7.2", ""),
        "PLT": ("250", ""),
    }
    hgb = rows["HGB"]
    assert (hgb["low"], hgb["high"], hgb["unit"], hgb["name"], hgb["loinc"]) == (
        "12",
        "15",
        "g/dL",
        "Haemoglobin",
        "718-7",
    )
    assert hgb["source"] == "manual" and hgb["verified"] is False and hgb["by"] == "rohit"
    assert body["status"] == "resulted" and body["critical"] is False

    body = enter(lab, kft, {"K": "6.8", "NA": "150", "CREAT": "1", "UREA": "5"}).json()
    rows = by_analyte(body)
    assert {a: (r["value"], r["flag"]) for a, r in rows.items()} == {
        "K": ("6.8", "HH"),
        "NA": ("150", "H"),
        "CREAT": ("1.00", ""),
        "UREA": ("5", "L"),
    }
    assert body["critical"] is True
    assert lab.get(f"/api/v1/lab/samples/{cbc}").json()["critical"] is False


@pytest.mark.parametrize(("years", "flag"), [(5, ""), (45, "L")])
def test_the_age_band_decides_the_range(collected: Any, lab: Any, years: int, flag: str) -> None:
    acc = collected(["CBC"], age_years=years)["CBC"]["accession"]
    assert by_analyte(enter(lab, acc, {"HGB": "12"}).json())["HGB"]["flag"] == flag


def test_a_bad_value_writes_nothing(collected: Any, lab: Any, snapshot: Any) -> None:
    acc = collected(["CBC"])["CBC"]["accession"]
    before = snapshot()

    response = enter(lab, acc, {"HGB": "13.0", "WBC": "lots"})
    assert response.status_code == 400, response.content
    assert "WBC" in response.json()["error"]["fields"]
    assert "HGB" not in response.json()["error"]["fields"]

    response = enter(lab, acc, {"HGB": "13.0", "GLUR": "95"})  # not ordered on this sample
    assert response.status_code == 400 and "GLUR" in response.json()["error"]["fields"]
    assert enter(lab, acc, {"NOPE": "1"}).status_code == 400
    assert enter(lab, acc, {"HGB": "NaN"}).status_code == 400
    assert enter(lab, acc, {"HGB": " "}).status_code == 400
    assert enter(lab, acc, {}).status_code == 400
    assert before.unchanged()
    assert lab.get(f"/api/v1/lab/samples/{acc}").json()["results"] == []


def test_a_qualitative_result_is_flagged_abnormal(collected: Any, lab: Any) -> None:
    acc = collected(["MP"])["MP"]["accession"]
    response = enter(lab, acc, {"MP": "Seen: P. vivax"})
    assert response.status_code == 201, response.content
    mp = by_analyte(response.json())["MP"]
    assert (mp["value"], mp["flag"], mp["low"]) == ("Seen: P. vivax", "A", "Not seen")

    other = collected(["MP"])["MP"]["accession"]
    assert by_analyte(enter(lab, other, {"MP": "not seen"}).json())["MP"]["flag"] == ""


def check_report(api: Any, body: bytes) -> Any:
    path = "/api/v1/lab/check-report"
    response = api.client.post(path, data=body, content_type="application/pdf", headers=api.headers)
    assert_matches_schema(response, path, "post")
    assert response.status_code == 200, response.content
    return response.json()


def test_verify_amend_and_signed_report(
    collected: Any, lab: Any, path_api: Any, doc: Any, clerk_api: Any
) -> None:
    sample = collected(["CBC"])["CBC"]
    acc, uhid = sample["accession"], sample["uhid"]
    url = f"/api/v1/lab/samples/{acc}"

    assert path_api.post(f"{url}/verify").status_code == 409  # nothing to verify yet
    enter(lab, acc, {"HGB": "13.5", "PLT": "250"})
    assert path_api.post(f"{url}/report").status_code == 409  # not verified
    assert lab.post(f"{url}/verify").status_code == 403
    assert doc.post(f"{url}/verify").status_code == 403

    verified = path_api.post(f"{url}/verify")
    assert verified.status_code == 200, verified.content
    body = verified.json()
    assert body["status"] == "verified" and body["verified_by"] == "nandita"
    assert all(r["verified"] for r in body["results"])
    assert path_api.post(f"{url}/verify").status_code == 409  # nothing new
    assert doc.get(f"{url}/report.pdf").status_code == 409  # not issued yet
    assert lab.post(f"{url}/report").status_code == 403
    assert path_api.post(f"{url}/report").json()["status"] == "reported"

    printed = doc.get(f"{url}/report.pdf")
    assert printed.status_code == 200 and printed["Content-Type"] == "application/pdf"
    text = pdf.text(printed.content)
    for fact in (uhid, acc, "Haemoglobin", "13.5", "g/dL", "Platelet count", "250"):
        assert fact in text, fact
    assert "Dr. Nandita Rao" in text
    assert report.check_pdf(printed.content).genuine
    altered = bytearray(printed.content)
    altered[len(altered) // 2] ^= 0x01
    assert not report.check_pdf(bytes(altered)).genuine
    assert check_report(clerk_api, printed.content)["genuine"] is True
    assert check_report(clerk_api, bytes(altered))["genuine"] is False
    assert check_report(clerk_api, b"%PDF-1.4 not ours")["genuine"] is False

    # An amendment needs a reason, and keeps the earlier value in view.
    assert lab.post(f"{url}/amend", {"values": {"HGB": "12.5"}, "reason": "x"}).status_code == 403
    no_reason = path_api.post(f"{url}/amend", {"values": {"HGB": "12.5"}, "reason": " "})
    assert no_reason.status_code == 400
    assert path_api.post(f"{url}/amend", {"values": {"HGB": "12.5"}}).status_code == 400
    missing = path_api.post(f"{url}/amend", {"values": {"WBC": "7"}, "reason": "recount"})
    assert missing.status_code == 400  # no WBC result to amend
    before = by_analyte(lab.get(url).json())["HGB"]
    amended = path_api.post(
        f"{url}/amend", {"values": {"HGB": "12.5"}, "reason": "re-run after mixing"}
    )
    assert amended.status_code == 201, amended.content
    body = amended.json()
    old, new = by_analyte(body, current=False)["HGB"], by_analyte(body)["HGB"]
    assert old["result"] == before["result"] and old["value"] == "13.5" and old["verified"]
    assert new["value"] == "12.5" and new["amends"] == old["result"]
    assert new["reason"] == "re-run after mixing" and new["verified"] is False
    assert by_analyte(body)["PLT"]["verified"] is True

    assert path_api.post(f"{url}/report").status_code == 409  # verify again first
    assert path_api.post(f"{url}/verify").status_code == 200
    assert path_api.post(f"{url}/report").status_code == 200
    again = doc.get(f"{url}/report.pdf").content
    assert "12.5" in pdf.text(again) and report.check_pdf(again).genuine


def test_who_may_do_what_and_reads_are_audited(
    collected: Any, clerk_api: Any, doc: Any, lab: Any, order: Any
) -> None:
    number = order(["CBC"])
    assert clerk_api.post(f"/api/v1/lab/orders/{number}/collect").status_code == 403
    assert clerk_api.get("/api/v1/lab/worklist").status_code == 403
    assert clerk_api.get("/api/v1/lab/errors").status_code == 403

    sample = collected(["CBC"])["CBC"]
    acc, uhid = sample["accession"], sample["uhid"]
    url = f"/api/v1/lab/samples/{acc}"
    assert clerk_api.get(url).status_code == 403
    assert clerk_api.get(f"{url}/label.pdf").status_code == 403
    assert doc.post(f"{url}/receive").status_code == 403
    assert enter(doc, acc, {"HGB": "13"}).status_code == 403
    assert enter(lab, acc, {"HGB": "13"}).status_code == 201

    seen = AuditEntry.objects.filter(patient=uhid, action="lab.sample")
    before = seen.filter(actor="meera").count()
    response = doc.get(url)
    # A doctor acts on verified results: an unverified value is not shown to them.
    assert response.status_code == 200 and response.json()["results"] == []
    assert lab.get(url).json()["results"][0]["value"] == "13.0"
    assert seen.filter(actor="meera").count() == before + 1
    lab.get(url)
    assert seen.filter(actor="rohit").exists()
    assert lab.get("/api/v1/lab/samples/S-101-0009999-0").status_code in (400, 404)


def test_worklist_by_section_and_turnaround(
    collected: Any, lab: Any, path_api: Any, clerk_api: Any
) -> None:
    samples = collected(["CBC", "LFT", "RBS"])
    cbc = samples["CBC"]["accession"]

    def worklist(section: str = "") -> list[str]:
        response = lab.get(f"/api/v1/lab/worklist?section={section}")
        assert response.status_code == 200, response.content
        return [s["accession"] for s in response.json()]

    assert worklist("haematology") == [cbc]
    assert sorted(worklist("biochemistry")) == sorted(
        [samples["LFT"]["accession"], samples["RBS"]["accession"]]
    )
    assert worklist("microbiology") == []
    assert len(worklist()) == 3

    enter(lab, cbc, {"HGB": "14"})
    assert worklist("haematology") == [cbc]  # resulted, still waiting for a pathologist
    assert path_api.post(f"/api/v1/lab/samples/{cbc}/verify").status_code == 200
    assert worklist("haematology") == []

    assert clerk_api.get("/api/v1/lab/turnaround").status_code == 403
    response = path_api.get("/api/v1/lab/turnaround")
    assert response.status_code == 200, response.content
    rows = {(r["kind"], r["name"]): r for r in response.json()}
    assert set(rows) == {("test", "CBC"), ("section", "haematology")}
    for row in rows.values():
        assert row["samples"] == 1 and 0 <= row["median_minutes"] <= row["p90_minutes"] < 5
    assert lab.get("/api/v1/lab/turnaround?days=7").status_code == 200
