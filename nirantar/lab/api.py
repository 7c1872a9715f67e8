"""The laboratory's part of the JSON API: the orders waiting for it."""
# No `from __future__ import annotations`: django-ninja reads these hints at import time.

import re
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from nirantar import timeutil
from nirantar.accounts import actions as account_actions
from nirantar.accounts.auth import client_address, needs
from nirantar.accounts.permissions import allowed
from nirantar.lab import actions, catalogue, queries, report
from nirantar.lab.models import Result, Sample
from nirantar.lab.permissions import (
    BENCH,
    CHECK_REPORT,
    COLLECT,
    READ_ORDERS,
    READ_REPORT,
    VERIFY,
)
from nirantar.registration import queries as registration
from nirantar.schemas import ERRORS

router = Router(tags=["laboratory"])
UHID_IN_TEXT = re.compile(r"\b\d{3}-\d{7}-\d\b")


class OrderOut(Schema):
    order: str
    uhid: str
    visit: str
    tests: list[str]
    status: str
    source: str
    department: str
    note: str
    at: str
    by: str
    node: str


def order_row(o: Any) -> dict[str, Any]:
    return {
        "order": o.order_no,
        "uhid": o.uhid,
        "visit": o.visit,
        "tests": o.tests,
        "status": o.status,
        "source": o.source,
        "department": o.department,
        "note": o.note,
        "at": timeutil.from_ms(o.at_ms).isoformat(),
        "by": o.ordered_by,
        "node": o.node,
    }


@router.get(
    "/lab/orders",
    response={200: list[OrderOut], **ERRORS},
    summary="Orders for the laboratory, oldest first (status=ordered: not yet collected)",
    auth=needs(READ_ORDERS),
)
def list_orders(
    request: HttpRequest,
    status: Literal["ordered", "all"] = Query("ordered"),
    limit: int = Query(200, ge=1, le=queries.MAX_ORDERS),
) -> Any:
    rows = queries.orders(None if status == "all" else status, limit)
    # Who has which tests ordered is part of their record: the list is an audited read.
    account_actions.do_record_search(
        request.user,
        f"lab orders {status}",
        sorted({o.uhid for o in rows}),
        via="api",
        address=client_address(request),
    )
    return [order_row(o) for o in rows]


class CounterOrderIn(Schema):
    model_config = ConfigDict(extra="forbid")
    uhid: str = Field(..., max_length=20, examples=["101-0000001-3"])
    tests: list[str] = Field(..., max_length=30, examples=[["CBC", "RBS"]])
    note: str | None = Field(None, max_length=200, examples=["paper prescription, Dr. Rao"])


class SampleResultOut(Schema):
    result: str
    analyte: str
    name: str
    loinc: str
    value: str
    unit: str
    flag: str
    low: str
    high: str
    source: str
    instrument: str
    amends: str
    reason: str
    current: bool
    verified: bool
    at: str
    by: str


class SampleOut(Schema):
    accession: str
    uhid: str
    name: str
    orders: list[str]
    tests: list[str]
    specimen: str
    container: str
    section: str
    status: str
    rejected_reason: str
    replaces: str
    collected_at: str | None
    collected_by: str
    verified_at: str | None
    verified_by: str
    reported_at: str | None
    critical: bool
    results: list[SampleResultOut]
    label: str
    report: str


class CollectedOut(Schema):
    samples: list[SampleOut]


class RejectIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: Literal["haemolysed", "clotted", "insufficient", "unlabelled"]


class ResultsIn(Schema):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, str | float | int] = Field(..., examples=[{"HGB": 13.2, "WBC": "7.1"}])


class AmendIn(ResultsIn):
    reason: str = Field(..., max_length=200)


class FailureOut(Schema):
    failure: str
    instrument: str
    control_id: str
    ack: str
    reason: str
    message: str
    at: str
    node: str
    resolved: bool
    note: str


class ResolveIn(Schema):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(..., max_length=200)


class CheckOut(Schema):
    genuine: bool
    message: str


class TurnaroundOut(Schema):
    kind: str
    name: str
    samples: int
    median_minutes: float
    p90_minutes: float


def _iso(ms: int | None) -> str | None:
    return timeutil.from_ms(ms).isoformat() if ms else None


def sample_out(sample: Sample, patient: Any, verified_only: bool = False) -> dict[str, Any]:
    rows = list(
        Result.objects.filter(accession=sample.accession, uhid=sample.uhid).order_by("at_ms")
    )
    if verified_only:  # those who act on results see what a pathologist has verified
        rows = [r for r in rows if r.result_id in sample.verified_results]
    standing = {r.result_id for r in actions.current_results(sample)}
    covered = set(sample.verified_results)
    results = []
    for r in rows:
        analyte = catalogue.ANALYTES.get(r.analyte)
        results.append(
            {
                "result": r.result_id,
                "analyte": r.analyte,
                "name": analyte.name if analyte else r.analyte,
                "loinc": analyte.loinc if analyte else "",
                "value": r.value,
                "unit": r.unit,
                "flag": r.flag,
                "low": r.low,
                "high": r.high,
                "source": r.source,
                "instrument": r.instrument,
                "amends": r.amends,
                "reason": r.reason,
                "current": r.result_id in standing,
                "verified": r.result_id in covered,
                "at": _iso(r.at_ms),
                "by": r.actor,
            }
        )
    base = f"/api/v1/lab/samples/{sample.accession}"
    return {
        "accession": sample.accession,
        "uhid": sample.uhid,
        "name": patient.display_name if patient else "",
        "orders": sample.orders,
        "tests": sample.tests,
        "specimen": sample.specimen,
        "container": sample.container,
        "section": sample.section,
        "status": sample.status,
        "rejected_reason": sample.rejected_reason,
        "replaces": sample.replaces,
        "collected_at": _iso(sample.collected_at_ms),
        "collected_by": sample.collected_by,
        "verified_at": _iso(sample.verified_at_ms),
        "verified_by": sample.verified_by,
        "reported_at": _iso(sample.reported_at_ms),
        "critical": any(x["flag"] in ("HH", "LL") and x["current"] for x in results),
        "results": results,
        "label": f"{base}/label.pdf",
        "report": f"{base}/report.pdf",
    }


def _read(request: HttpRequest, accession: str, action: str) -> dict[str, Any]:
    sample, patient = queries.access_sample(
        request.user, accession, action=action, via="api", request=request
    )
    bench = allowed(request.user, BENCH.name) or allowed(request.user, VERIFY.name)
    return sample_out(sample, patient, verified_only=not bench)


@router.post(
    "/lab/orders",
    response={201: OrderOut, **ERRORS},
    summary="Order tests at the lab counter (from a paper prescription)",
    auth=needs(BENCH),
)
def order_at_counter(request: HttpRequest, payload: CounterOrderIn) -> Any:
    order = actions.do_order_at_counter(
        request.user.username, payload.uhid, payload.tests, payload.note or ""
    )
    return Status(201, order_row(order))


@router.post(
    "/lab/orders/{order}/collect",
    response={201: CollectedOut, **ERRORS},
    summary="Collect an order: one sample per container, accession numbers minted here",
    auth=needs(COLLECT),
)
def collect(request: HttpRequest, order: str) -> Any:
    samples = actions.do_collect(request.user.username, order)
    return Status(201, {"samples": [_read(request, s.accession, "lab.collect") for s in samples]})


@router.get(
    "/lab/samples/{accession}",
    response={200: SampleOut, **ERRORS},
    summary="A sample, its status and every result (amended ones too)",
    auth=needs(BENCH, READ_REPORT, COLLECT),
)
def read_sample(request: HttpRequest, accession: str) -> Any:
    return _read(request, accession, "lab.sample")


@router.get(
    "/lab/samples/{accession}/label.pdf",
    response={200: None, **ERRORS},
    summary="The sample's barcode label, 50 x 25 mm",
    openapi_extra={"responses": {"200": {"content": {"application/pdf": {}}}}},
    auth=needs(COLLECT),
)
def label(request: HttpRequest, accession: str) -> HttpResponse:
    sample, patient = queries.access_sample(
        request.user, accession, action="lab.label", via="pdf", request=request
    )
    response = HttpResponse(report.label_pdf(sample, patient), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{sample.accession}.pdf"'
    return response


@router.post(
    "/lab/samples/{accession}/receive",
    response={200: SampleOut, **ERRORS},
    summary="The sample has reached the laboratory",
    auth=needs(BENCH),
)
def receive(request: HttpRequest, accession: str) -> Any:
    actions.do_receive(request.user.username, accession)
    return _read(request, accession, "lab.sample")


@router.post(
    "/lab/samples/{accession}/reject",
    response={201: CollectedOut, **ERRORS},
    summary="Reject a sample; its tests are collected again under a new accession",
    auth=needs(BENCH),
)
def reject(request: HttpRequest, accession: str, payload: RejectIn) -> Any:
    again = actions.do_reject(request.user.username, accession, payload.reason)
    return Status(201, {"samples": [_read(request, s.accession, "lab.collect") for s in again]})


@router.post(
    "/lab/samples/{accession}/results",
    response={201: SampleOut, **ERRORS},
    summary="Enter results at the bench (they await verification)",
    auth=needs(BENCH),
)
def enter_results(request: HttpRequest, accession: str, payload: ResultsIn) -> Any:
    actions.do_enter_results(request.user.username, accession, payload.values)
    return Status(201, _read(request, accession, "lab.sample"))


@router.post(
    "/lab/samples/{accession}/verify",
    response={200: SampleOut, **ERRORS},
    summary="Verify every standing result of the sample",
    auth=needs(VERIFY),
)
def verify(request: HttpRequest, accession: str) -> Any:
    actions.do_verify(request.user.username, accession)
    return _read(request, accession, "lab.sample")


@router.post(
    "/lab/samples/{accession}/amend",
    response={201: SampleOut, **ERRORS},
    summary="Amend results (the earlier values stay visible); verify again after",
    auth=needs(VERIFY),
)
def amend(request: HttpRequest, accession: str, payload: AmendIn) -> Any:
    actions.do_amend(request.user.username, accession, payload.values, payload.reason)
    return Status(201, _read(request, accession, "lab.sample"))


@router.post(
    "/lab/samples/{accession}/report",
    response={200: SampleOut, **ERRORS},
    summary="Issue the report of a verified sample (signed by this node)",
    auth=needs(VERIFY),
)
def issue_report(request: HttpRequest, accession: str) -> Any:
    actions.do_issue_report(request.user.username, accession)
    return _read(request, accession, "lab.sample")


@router.get(
    "/lab/samples/{accession}/report.pdf",
    response={200: None, **ERRORS},
    summary="The signed report PDF (check it with nirantar lab check-report)",
    openapi_extra={"responses": {"200": {"content": {"application/pdf": {}}}}},
    auth=needs(READ_REPORT),
)
def report_pdf(request: HttpRequest, accession: str) -> HttpResponse:
    sample, patient = queries.access_sample(
        request.user, accession, action="lab.report", via="pdf", request=request
    )
    pdf = report.report_pdf(sample, patient, actions.reported_results(sample))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="report-{sample.accession}.pdf"'
    return response


@router.get(
    "/lab/worklist",
    response={200: list[SampleOut], **ERRORS},
    summary="Samples not yet verified, oldest first (section=biochemistry, ...)",
    auth=needs(BENCH),
)
def worklist(request: HttpRequest, section: str = "") -> Any:
    rows = queries.worklist(section)
    patients = {s.uhid: registration.get_patient(s.uhid) for s in rows}
    account_actions.do_record_search(
        request.user,
        f"lab worklist {section}",
        sorted(patients),
        via="api",
        address=client_address(request),
    )
    return [sample_out(s, patients[s.uhid]) for s in rows]


@router.get(
    "/lab/errors",
    response={200: list[FailureOut], **ERRORS},
    summary="Analyser messages not stored: the error queue",
    auth=needs(BENCH),
)
def errors(request: HttpRequest, resolved: bool = False) -> Any:
    rows = queries.failures(resolved)
    # Raw messages name patients (PID): reading them is an audited read of each.
    named = sorted({u for f in rows for u in UHID_IN_TEXT.findall(f.message)})
    account_actions.do_record_search(
        request.user, "lab error queue", named, via="api", address=client_address(request)
    )
    return [
        {
            "failure": f.failure_id,
            "instrument": f.instrument,
            "control_id": f.control_id,
            "ack": f.ack,
            "reason": f.reason,
            "message": f.message,
            "at": _iso(f.at_ms),
            "node": f.node,
            "resolved": f.resolved,
            "note": f.resolved_note,
        }
        for f in rows
    ]


@router.post(
    "/lab/errors/{failure}/resolve",
    response={200: None, **ERRORS},
    summary="Mark a queued analyser message as dealt with, saying how",
    auth=needs(BENCH),
)
def resolve(request: HttpRequest, failure: str, payload: ResolveIn) -> Any:
    actions.do_resolve_failure(request.user.username, failure, payload.note)
    return {"resolved": failure}


@router.post(
    "/lab/check-report",
    response={200: CheckOut, **ERRORS},
    summary="Is this report PDF (the request body) genuine and unaltered?",
    # Any content type will do: the body is read as the file's bytes.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
    auth=needs(CHECK_REPORT),
)
def check(request: HttpRequest) -> Any:
    result = report.check_pdf(request.body)
    return {"genuine": result.genuine, "message": result.message}


class CodeIn(Schema):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(..., max_length=1000, description="the text of a report's QR code")


@router.post(
    "/lab/check-code",
    response={200: CheckOut, **ERRORS},
    summary="Is this QR code (from a printed report) genuine and current?",
    auth=needs(CHECK_REPORT),
)
def check_code(request: HttpRequest, payload: CodeIn) -> Any:
    result = report.check_qr(payload.code)
    return {"genuine": result.genuine, "message": result.message}


@router.get(
    "/lab/turnaround",
    response={200: list[TurnaroundOut], **ERRORS},
    summary="Collection to verification, minutes, per test and section (last `days` days)",
    auth=needs(BENCH, VERIFY),
)
def turnaround(request: HttpRequest, days: int = Query(1, ge=1, le=90)) -> Any:
    since = int(timeutil.now().timestamp() * 1000) - days * 86_400_000
    return queries.turnaround(since)
