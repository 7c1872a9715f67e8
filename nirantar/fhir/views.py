"""The FHIR R4 REST endpoints under /fhir/.

Authentication is the JSON API's bearer token and the same permissions
(``RoleBearer``); a screen session never authorises a FHIR request, so no
cookie can be used to forge one. Every answer is FHIR JSON, every error an
OperationOutcome. Every resource we send is validated with fhirclient first: a
failure there is our fault, logged, and answered with a 500 OperationOutcome.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from nirantar import timeutil
from nirantar.accounts import permissions
from nirantar.accounts.auth import RoleBearer
from nirantar.accounts.permissions import Permission, allowed, public, require
from nirantar.errors import ActionError, NotFound, ValidationFailed
from nirantar.fhir import capability, entries, resources, search
from nirantar.fhir import conditions as condition_resources
from nirantar.fhir import diagnostic_reports as diagnostic_report_resources
from nirantar.fhir import documents as document_resources
from nirantar.fhir import encounters as encounter_resources
from nirantar.fhir import locations as location_resources
from nirantar.fhir import medications as medication_resources
from nirantar.fhir import observations as observation_resources
from nirantar.fhir import service_requests as service_request_resources
from nirantar.fhir import vitals as vital_resources
from nirantar.fhir.validation import Invalid, issue, outcome, problems
from nirantar.lab import actions as lab_actions
from nirantar.lab import queries as lab_queries
from nirantar.lab.models import LabOrder, Result, Sample
from nirantar.lab.permissions import READ_ORDERS, READ_REPORT
from nirantar.ledger.writer import writing
from nirantar.opd import prescription as opd_prescription
from nirantar.opd import queries as opd_queries
from nirantar.opd.permissions import READ_CLINICAL
from nirantar.printing.renderer import RendererUnavailable
from nirantar.registration import actions as registration
from nirantar.registration import queries, rules
from nirantar.registration.api import EMERGENCY_HEADER
from nirantar.registration.permissions import BREAK_GLASS, READ_PATIENT, REGISTER
from nirantar.wards import documents as ward_documents
from nirantar.wards import queries as ward_queries
from nirantar.wards.permissions import BOARD, READ_CHART

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
JSON_TYPES = {FHIR_JSON, "application/json"}
FORMATS = {"json", *JSON_TYPES}
# Marks a FHIR view for the permission matrix: bearer tokens, a rule per HTTP method.
BEARER_RULE = "fhir-bearer"
MAX_TRANSACTION_ENTRIES = 100
# An action's refusal (ActionError.status) as OperationOutcome.issue.code.
ACTION_ISSUE_CODES = {403: "forbidden", 404: "not-found", 409: "conflict", 422: "business-rule"}

View = Callable[..., HttpResponse]


def fhir_response(
    resource: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    found = problems(str(resource.get("resourceType")), resource)
    if found:
        log.error("invalid FHIR %s built by the server: %s", resource.get("resourceType"), found)
        resource = outcome([issue("exception", "the server built an invalid resource (logged)")])
        status, headers = 500, {}
    response = HttpResponse(
        json.dumps(resource, ensure_ascii=False),
        status=status,
        content_type=FHIR_JSON + "; charset=utf-8",
    )
    # Patient data must not linger in shared caches.
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(status: int, issues: list[dict[str, Any]], **headers: str) -> HttpResponse:
    return fhir_response(outcome(issues), status, headers)


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _negotiate(request: HttpRequest) -> None:
    """JSON only: ``_format`` and ``Accept`` may ask for it, or for anything."""
    wanted = request.GET.get("_format")
    if wanted is not None and wanted.lower() not in FORMATS:
        raise Invalid(406, [issue("not-supported", "only JSON is served (_format=json)")])
    accept = request.headers.get("Accept", "")
    if accept:
        offered = {_media_type(part) for part in accept.split(",")}
        if not offered & (JSON_TYPES | {"*/*", "application/*"}):
            raise Invalid(406, [issue("not-supported", "only FHIR JSON is served")])


def _body(request: HttpRequest) -> Any:
    if _media_type(request.content_type or "") not in JSON_TYPES:
        raise Invalid(
            415, [issue("not-supported", "send application/fhir+json (or application/json)")]
        )
    try:
        return json.loads(request.body, parse_constant=_no_constant)
    except RequestDataTooBig as exc:
        raise Invalid(413, [issue("too-costly", "the request body is too large")]) from exc
    except (ValueError, RecursionError) as exc:
        raise Invalid(400, [issue("structure", "the request body is not valid JSON")]) from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _authenticate(request: HttpRequest, permissions: tuple[Permission, ...]) -> Any:
    user = RoleBearer(*(p.name for p in permissions))(request)
    if user is None:
        raise Invalid(
            401, [issue("login", "a valid API token is required (Authorization: Bearer ...)")]
        )
    return user


def operation(rules: dict[str, tuple[Permission, ...]]) -> Callable[[View], View]:
    """A FHIR endpoint answering ``rules``' methods, each to a token holding one of its
    permissions. Auth is checked before the body is read, so a refused caller learns
    nothing from validation errors."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            allow = ", ".join(sorted(rules))
            try:
                if request.method not in rules:
                    raise Invalid(405, [issue("not-supported", f"use {allow}")])
                _negotiate(request)
                if rules[request.method]:
                    _authenticate(request, rules[request.method])
                return view(request, *args, **kwargs)
            except Invalid as exc:
                extra = {"Allow": allow} if exc.status == 405 else {}
                if exc.status == 401:
                    extra["WWW-Authenticate"] = "Bearer"
                return error_response(exc.status, exc.issues, **extra)
            except PermissionDenied as exc:
                return error_response(403, [issue("forbidden", str(exc) or "not allowed")])
            except NotFound as exc:
                return error_response(404, [issue("not-found", exc.message)])
            except ActionError as exc:
                code = ACTION_ISSUE_CODES.get(
                    exc.status, "invalid" if exc.status < 500 else "exception"
                )
                return error_response(exc.status, [issue(code, exc.message)])
            except Exception:
                # A fault of ours: still FHIR, and the details stay in the log.
                log.exception("FHIR %s %s failed", request.method, request.path)
                return error_response(500, [issue("exception", "internal error (logged)")])

        wrapper.nirantar_permission = BEARER_RULE  # type: ignore[attr-defined]
        wrapper.nirantar_fhir_rules = {  # type: ignore[attr-defined]
            method: tuple(p.name for p in permissions) for method, permissions in rules.items()
        }
        return csrf_exempt(wrapper)

    return decorate


@operation({"GET": ()})
def metadata(request: HttpRequest) -> HttpResponse:
    """Public, as FHIR clients expect: it says what the server does, nothing about patients."""
    return fhir_response(capability.statement(request.build_absolute_uri("/fhir")))


@operation({"GET": (READ_PATIENT,), "POST": (REGISTER,)})
def patients(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    return _search(request)


@operation({"GET": (READ_PATIENT, BREAK_GLASS)})
def patient(request: HttpRequest, uhid: str) -> HttpResponse:
    """Read one record: audited by ``access_patient``, as the JSON API reads it.

    A record merged away is answered as FHIR's merge leaves it: inactive, with a link
    ``replaced-by`` its survivor (the JSON API answers with the survivor's record)."""
    try:
        registration.parse_uhid(uhid)
    except ValidationFailed as exc:
        raise NotFound(f"no Patient/{uhid[:40]}") from exc
    record = queries.access_patient(
        request.user,
        uhid,
        action="patient.read",
        via="fhir",
        request=request,
        reason=request.headers.get(EMERGENCY_HEADER, ""),
        follow_merge=False,
    )
    survivor = queries.survivor_of(record.uhid)
    if survivor != record.uhid:
        return fhir_response(resources.patient_resource(record, replaced_by=survivor))
    replaces = queries.group_of(record.uhid)[1:]
    return fhir_response(resources.patient_resource(record, replaces=replaces))


def _search(request: HttpRequest) -> HttpResponse:
    params = search.read_params(request.GET)
    count, offset = search.paging(params)
    # Names on a result list are a read: audited as the counter's search audits them.
    patients, total = queries.access_patients(
        request.user,
        search.criteria(params),
        offset,
        count,
        query=request.GET.urlencode(),
        via="fhir",
        request=request,
    )
    merged = queries.merged_into_each({p.uhid for p in patients})  # survivors only
    found = [
        (p.uhid, resources.patient_resource(p, replaces=merged.get(p.uhid, []))) for p in patients
    ]
    return fhir_response(searchset(request, "Patient", params, found, total, offset, count))


def searchset(
    request: HttpRequest,
    kind: str,
    params: dict[str, str],
    found: list[tuple[str, dict[str, Any]]],
    total: int,
    offset: int,
    count: int,
) -> dict[str, Any]:
    """A searchset Bundle of one page (``found``: (id, resource)), with self/next/previous."""

    def link(relation: str, at: int) -> dict[str, str]:
        query = {k: v for k, v in sorted(params.items()) if k not in ("_offset", "_format")}
        query.update({"_count": str(count), "_offset": str(at)})
        url = request.build_absolute_uri(f"/fhir/{kind}?{urlencode(query)}")
        return {"relation": relation, "url": url}

    links = [link("self", offset)]
    if offset + count < total and count:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": timeutil.now().isoformat(),
        "total": total,
        "link": links,
    }
    if found:  # FHIR forbids an empty list (ele-1)
        bundle["entry"] = [
            {
                "fullUrl": request.build_absolute_uri(f"/fhir/{kind}/{key}"),
                "resource": resource,
                "search": {"mode": "match"},
            }
            for key, resource in found
        ]
    return bundle


def checked_registration(resource: Any) -> tuple[dict[str, Any], list[str]]:
    """(the registration action's input, elements not kept) for a posted Patient, checked
    by the same rules as the counter's registrations, before anything is written."""
    found = problems("Patient", resource)
    if found:
        raise Invalid(400, found)
    data, dropped = resources.registration_data(resource)
    try:
        rules.clean_patient(data, timeutil.today())
    except ValidationFailed as exc:
        raise resources.refusal(exc.fields, exc.message) from exc
    return data, dropped


def _register(request: HttpRequest, data: dict[str, Any]) -> Any:
    try:
        return registration.do_register_patient(request.user.username, data)
    except ValidationFailed as exc:
        raise resources.refusal(exc.fields, exc.message) from exc


def _create(request: HttpRequest) -> HttpResponse:
    """Register; answer 201 with the record, or - with ``Prefer: return=OperationOutcome`` -
    with what was not kept, so a client can see exactly what the record holds."""
    data, dropped = checked_registration(_body(request))
    record = _register(request, data)
    location = {"Location": request.build_absolute_uri(f"/fhir/Patient/{record.uhid}")}
    if "return=operationoutcome" in request.headers.get("Prefer", "").replace(" ", "").lower():
        notes = [
            issue("informational", f"{path} is not kept", path, severity="information")
            for path in dropped
        ]
        notes = notes or [issue("informational", "everything was kept", severity="information")]
        return fhir_response(outcome(notes), 201, location)
    return fhir_response(resources.patient_resource(record), 201, location)


@operation({"POST": (REGISTER,)})
def transaction_bundle(request: HttpRequest) -> HttpResponse:
    """A transaction of Patient creates: every entry is checked first, then all are
    registered in one database transaction - all of them, or (on any refusal) none."""
    bundle = _body(request)
    found = problems("Bundle", bundle)
    if found:
        raise Invalid(400, found)
    if bundle.get("type") != "transaction":
        raise Invalid(
            400, [issue("not-supported", "only a transaction Bundle is accepted", "Bundle.type")]
        )
    entries = bundle.get("entry") or []
    if len(entries) > MAX_TRANSACTION_ENTRIES:
        raise Invalid(
            400,
            [issue("too-costly", f"at most {MAX_TRANSACTION_ENTRIES} entries", "Bundle.entry")],
        )
    checked = [_checked_entry(entry, i)[0] for i, entry in enumerate(entries)]
    with writing():  # one durable transaction: every registration, or none
        records = [_register(request, data) for data in checked]
    answer: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "timestamp": timeutil.now().isoformat(),
    }
    if records:  # FHIR forbids an empty list (ele-1)
        answer["entry"] = [
            {
                "fullUrl": request.build_absolute_uri(f"/fhir/Patient/{r.uhid}"),
                "resource": resources.patient_resource(r),
                "response": {"status": "201 Created", "location": f"Patient/{r.uhid}"},
            }
            for r in records
        ]
    return fhir_response(answer)


def _checked_entry(entry: dict[str, Any], index: int) -> tuple[dict[str, Any], list[str]]:
    where = f"Bundle.entry[{index}]"
    request = entry.get("request") or {}
    if request.get("method") != "POST" or str(request.get("url", "")).strip("/") != "Patient":
        raise Invalid(
            422,
            [issue("not-supported", "each entry must be POST Patient", f"{where}.request")],
        )
    try:
        return checked_registration(entry.get("resource"))
    except Invalid as exc:
        for found in exc.issues:
            found["diagnostics"] = f"{where}: {found['diagnostics']}"
            found["expression"] = [
                e.replace("Patient", f"{where}.resource", 1) for e in found.get("expression", [])
            ]
            if not found["expression"]:
                del found["expression"]
        raise


ENCOUNTER_PARAMS = ("patient", "subject", "date", "status")


@operation({"GET": (READ_PATIENT,)})
def encounters(request: HttpRequest) -> HttpResponse:
    """A patient's OPD visits and stays, newest first: one audited read of the patient."""
    params = search.read_params(request.GET, ENCOUNTER_PARAMS, ENCOUNTER_PARAMS)
    count, offset = search.paging(params)
    uhid = search_uhid(encounter_resources.patient_param(params))
    narrow = encounter_resources.narrowing(params)
    try:
        record = queries.access_patient(
            request.user, uhid, action="encounter.search", via="fhir", request=request
        )
    except NotFound:
        found: list[dict[str, Any]] = []  # nobody to read: an empty result, nothing audited
    else:  # the visits and stays of every UHID merged into the record too
        found = narrow(encounter_resources.encounters_of(queries.group_of(record.uhid)))
    page = [(r["id"], r) for r in found[offset : offset + count]]
    return fhir_response(searchset(request, "Encounter", params, page, len(found), offset, count))


def search_uhid(text: str) -> str:
    try:
        return registration.parse_uhid(text)
    except ValidationFailed as exc:
        raise Invalid(400, [issue("invalid", f"patient: {exc.message}", "patient")]) from exc


@operation({"GET": (READ_PATIENT,)})
def encounter(request: HttpRequest, visit: str) -> HttpResponse:
    """A visit (OP-...) through ``access_visit``, a stay (IP-...) through
    ``access_admission``: audited as the JSON API audits them."""
    kind = encounter_resources.kind_of(visit)
    try:
        if kind == "visit":
            row, _ = queries.access_visit(
                request.user, visit, action="visit.read", via="fhir", request=request
            )
            state = encounter_resources.queue_state(row)
            return fhir_response(encounter_resources.visit_encounter(row, state))
        if kind == "admission":
            stay, _ = ward_queries.access_admission(
                request.user, visit, action="wards.admission", via="fhir", request=request
            )
            return fhir_response(encounter_resources.admission_encounter(stay))
    except ValidationFailed as exc:
        raise NotFound(f"no Encounter/{visit[:40]}") from exc
    raise NotFound(f"no Encounter/{visit[:40]}; ids are visit (OP-...) or admission (IP-...)")


OBSERVATION_PARAMS = ("patient", "subject", "category", "code")


@operation({"GET": (READ_REPORT, READ_CLINICAL, READ_CHART)})
def observations(request: HttpRequest) -> HttpResponse:
    """A patient's verified laboratory results (the right to read reports, not the record)
    and vital signs (the OPD's or the wards' right to read the record). ``category`` asks
    for one and needs its right; without it, whatever the caller's rights allow. Each part
    is an audited read of the patient through its own module's accessor."""
    params = search.read_params(request.GET, OBSERVATION_PARAMS, ("patient", "subject"))
    count, offset = search.paging(params)
    uhid = search_uhid(encounter_resources.patient_param(params))
    category = vital_resources.category_param(params["category"]) if params.get("category") else ""
    codes = observation_resources.loinc_param(params["code"]) if params.get("code") else None
    parts = vital_resources.code_param(params["code"]) if params.get("code") else None
    user = request.user
    clinical = allowed(user, READ_CLINICAL.name), allowed(user, READ_CHART.name)
    if category == "laboratory":
        require(user, READ_REPORT.name, request)
    if category == "vital-signs" and not any(clinical):
        require(user, READ_CLINICAL.name, request)
    found: list[dict[str, Any]] = []
    if category != "vital-signs" and allowed(user, READ_REPORT.name):
        samples = lab_queries.access_reported_samples(
            user, uhid, action="observation.search", via="fhir", request=request
        )
        found += observation_resources.observations_of(samples, codes)
    if category != "laboratory":
        found += _vital_signs(request, uhid, parts, *clinical)
    page = [(r["id"], r) for r in found[offset : offset + count]]
    return fhir_response(searchset(request, "Observation", params, page, len(found), offset, count))


def _vital_signs(
    request: HttpRequest, uhid: str, parts: set[str] | None, opd: bool, ward: bool
) -> list[dict[str, Any]]:
    """The patient's vital signs that stand, newest first: the OPD's if ``opd``, the
    stays' if ``ward``, each read through its module's audited accessor."""
    readings: list[vital_resources.Reading] = []
    try:
        if opd:
            visits, views = opd_queries.access_entries(
                request.user,
                uhid,
                kinds=vital_resources.KINDS,
                action="observation.search",
                via="fhir",
                request=request,
            )
            current = [v for v in views if v.current]
            readings += vital_resources.of_opd(current, {v.visit_no for v in visits})
        if ward:
            stays = ward_queries.access_stays(
                request.user, uhid, action="observation.search", via="fhir", request=request
            )
            for stay in stays:
                rows = ward_queries.stay_entries(stay, "vitals")
                every = vital_resources.ward_readings(stay, rows)
                readings += [r for r in every if r.status != "entered-in-error"]
    except NotFound:
        return []  # nobody registered under the UHID: nothing read, nothing audited
    return vital_resources.newest_first(vital_resources.observations(readings, parts))


@operation({"GET": (READ_REPORT, READ_CLINICAL, READ_CHART)})
def observation(request: HttpRequest, observation: str) -> HttpResponse:
    """One verified result, read through the laboratory's ``access_sample``; or one vital
    sign, through the OPD's ``access_entry`` or the wards' ``access_stay_entry`` (audited)."""
    missing = NotFound(f"no Observation/{observation[:40]}")
    vital = entries.parse(vital_resources.ID, observation)
    if vital:
        return _vital_sign(request, vital[0], vital[1], missing)
    number = observation_resources.result_id(observation)
    row = Result.objects.filter(result_id=number).first() if number else None
    sample = (
        Sample.objects.filter(accession=row.accession, uhid=row.uhid, is_collected=True).first()
        if row
        else None
    )
    if row is None or sample is None or row not in observation_resources.verified(sample):
        raise missing
    require(request.user, READ_REPORT.name, request)
    sample, _ = lab_queries.access_sample(
        request.user, sample.accession, action="lab.result", via="fhir", request=request
    )
    encounter = observation_resources.encounters_of_samples([sample]).get(sample.accession, "")
    return fhir_response(observation_resources.observation(row, sample, encounter))


def _vital_sign(request: HttpRequest, entry_id: str, part: str, missing: NotFound) -> HttpResponse:
    kinds = vital_resources.KINDS
    try:
        view, visit = opd_queries.access_entry(
            request.user,
            entry_id,
            kinds=kinds,
            action="observation.read",
            via="fhir",
            request=request,
        )
        reading = vital_resources.opd_reading(view, visit.visit_no if visit else "")
    except NotFound:
        try:
            row, stay, rows = ward_queries.access_stay_entry(
                request.user,
                entry_id,
                kind="vitals",
                action="observation.read",
                via="fhir",
                request=request,
            )
        except NotFound as exc:
            raise missing from exc
        [reading] = [r for r in vital_resources.ward_readings(stay, rows) if r.entry_id == entry_id]
    found = vital_resources.observation(reading, part, entries.names({reading.actor}))
    if found is None:
        raise missing
    return fhir_response(found)


SERVICE_REQUEST_PARAMS = ("patient", "subject", "encounter")


def _encounter_filter(params: dict[str, str]) -> str | None:
    value = params.get("encounter")
    return service_request_resources.encounter_param(value) if value else None


@operation({"GET": (READ_REPORT, READ_ORDERS)})
def service_requests(request: HttpRequest) -> HttpResponse:
    """A patient's laboratory orders, one ServiceRequest per test, newest order first: one
    audited read of the patient, with the right to read lab orders or reports."""
    params = search.read_params(request.GET, SERVICE_REQUEST_PARAMS, ("patient", "subject"))
    count, offset = search.paging(params)
    uhid = search_uhid(encounter_resources.patient_param(params))
    visit = _encounter_filter(params)
    orders = lab_queries.access_orders(
        request.user, uhid, action="servicerequest.search", via="fhir", request=request
    )
    if visit is not None:
        orders = [o for o in orders if o.visit == visit]
    found = service_request_resources.requests_of(orders)
    page = [(r["id"], r) for r in found[offset : offset + count]]
    return fhir_response(
        searchset(request, "ServiceRequest", params, page, len(found), offset, count)
    )


@operation({"GET": (READ_REPORT, READ_ORDERS)})
def service_request(request: HttpRequest, key: str) -> HttpResponse:
    """One ordered test, read through the laboratory's ``access_order`` (audited)."""
    missing = NotFound(f"no ServiceRequest/{key[:40]}")
    parsed = service_request_resources.parse_id(key)
    wanted = key.strip().lower()
    # Only an order holding that test is read (and audited): a 404 names nobody.
    known = LabOrder.objects.filter(order_no=parsed[0]).first() if parsed else None
    if known is None or not any(
        service_request_resources.request_id(known.order_no, t) == wanted for t in known.tests
    ):
        raise missing
    order = lab_queries.access_order(
        request.user, known.order_no, action="lab.order", via="fhir", request=request
    )
    for resource in service_request_resources.requests_of([order]):
        if resource["id"] == wanted:
            return fhir_response(resource)
    raise missing


@operation({"GET": (READ_REPORT,)})
def diagnostic_reports(request: HttpRequest) -> HttpResponse:
    """A patient's issued laboratory reports, newest sample first: one audited read of the
    patient, as the laboratory's reads are. The PDF is linked (``url``), not inlined."""
    params = search.read_params(request.GET, SERVICE_REQUEST_PARAMS, ("patient", "subject"))
    count, offset = search.paging(params)
    uhid = search_uhid(encounter_resources.patient_param(params))
    visit = _encounter_filter(params)
    samples = lab_queries.access_reported_samples(
        request.user, uhid, action="diagnosticreport.search", via="fhir", request=request
    )
    base = request.build_absolute_uri("/").rstrip("/")
    found = [r for r, _, _ in diagnostic_report_resources.reports_of(samples, base=base)]
    if visit is not None:
        found = [r for r in found if r.get("encounter") == {"reference": f"Encounter/{visit}"}]
    page = [(r["id"], r) for r in found[offset : offset + count]]
    return fhir_response(
        searchset(request, "DiagnosticReport", params, page, len(found), offset, count)
    )


@operation({"GET": (READ_REPORT,)})
def diagnostic_report(request: HttpRequest, report: str) -> HttpResponse:
    """One issued report with its signed PDF inline, read through the laboratory's
    ``access_sample`` (audited as the report PDF's reads are). Amended since it was issued:
    409, as the laboratory's report endpoint answers."""
    missing = NotFound(f"no DiagnosticReport/{report[:40]}")
    try:
        accession = lab_actions.parse_accession(report)
    except ValidationFailed as exc:
        raise missing from exc
    issued = Sample.objects.filter(accession=accession, is_collected=True).exclude(report_hash="")
    if not issued.exclude(status="rejected").exists():
        raise missing
    sample, _ = lab_queries.access_sample(
        request.user, accession, action="lab.report", via="fhir", request=request
    )
    return fhir_response(diagnostic_report_resources.report_of(sample, with_pdf=True))


LOCATION_PARAMS = ("type", "partof")


@operation({"GET": (BOARD,)})
def locations(request: HttpRequest) -> HttpResponse:
    """Wards and beds: the layout and each bed's state, as the bed board's right allows.
    No patient is named, so nothing is audited."""
    params = search.read_params(request.GET, LOCATION_PARAMS, ())
    count, offset = search.paging(params)
    page, total = location_resources.search(params, offset, count)
    found = [(r["id"], r) for r in page]
    return fhir_response(searchset(request, "Location", params, found, total, offset, count))


@operation({"GET": (BOARD,)})
def location(request: HttpRequest, location: str) -> HttpResponse:
    found = location_resources.location(location)
    if found is None:
        raise NotFound(f"no Location/{location[:40]}")
    return fhir_response(found)


# Each kind of document checks its own right when it is read (a discharge summary the
# chart's, a report the laboratory's); a token needs one of them to get that far.
DOCUMENT_RULE = (READ_CHART, READ_CLINICAL, READ_REPORT)


def _document(request: HttpRequest, key: str) -> document_resources.Document:
    """The ABDM document a Composition id names, read through its module's audited
    accessor (one audit entry per read)."""
    missing = NotFound(
        f"no Composition/{key[:40]}; ids are dischargesummary-IP-..., opconsult-OP-..., "
        "prescription-OP-... or diagnosticreport-S-..."
    )
    parsed = document_resources.parse_id(key)
    if parsed is None:
        raise missing
    kind, number = parsed
    if kind is document_resources.DISCHARGE_SUMMARY:
        try:
            found = ward_queries.access_chart(
                request.user, number, action="wards.discharge_summary", via="fhir", request=request
            )
        except ValidationFailed as exc:
            raise missing from exc
        if not found.admission.discharged:
            raise NotFound(f"{found.admission.admission_no} is not discharged: no summary yet")
        samples = lab_queries.samples_of_orders(found.orders)
        reports, verifiers = document_resources.lab_reports(
            sorted({s.accession: s for v in samples.values() for s in v}.values(), key=_collected),
            with_pdf=False,
            base=request.build_absolute_uri("/").rstrip("/"),
        )
        return document_resources.discharge_summary(
            found,
            _pdf(ward_documents.discharge_summary_pdf, found),
            conditions=condition_resources.of_admission(found.admission),
            vitals=vital_resources.of_admission(found.admission),
            reports=reports,
            verifiers=verifiers,
        )
    if kind is document_resources.DIAGNOSTIC_REPORT:
        permissions.require(request.user, READ_REPORT.name, request)
        try:
            sample, patient = lab_queries.access_sample(
                request.user, number, action="lab.report", via="fhir", request=request
            )
        except ValidationFailed as exc:
            raise missing from exc
        [found_reports, _] = document_resources.lab_reports([sample], with_pdf=True)
        if patient is None or not found_reports:
            raise NotFound(f"no issued report of {sample.accession} (none yet, or amended since)")
        [(report, results)] = found_reports
        encounter = report.get("encounter", {}).get("reference", "").removeprefix("Encounter/")
        return document_resources.diagnostic_report(
            sample,
            patient,
            report,
            results,
            document_resources.encounter_of(encounter, sample.uhid) if encounter else None,
        )
    try:
        record, patient = opd_queries.access_record(
            request.user, number, action=f"opd.{kind.prefix}", via="fhir", request=request
        )
    except ValidationFailed as exc:
        raise missing from exc
    visit = record.visit
    medicines = medication_resources.of_visit(visit)
    if kind is document_resources.PRESCRIPTION:
        pdf = _pdf(lambda r: opd_prescription.prescription_pdf(r, patient), record)
        built = document_resources.prescription(record, patient, medicines, pdf)
    else:
        built = document_resources.op_consult(
            record,
            patient,
            allergies=opd_queries.standing(visit.uhid)[0],
            conditions=condition_resources.of_visit(visit),
            medicines=medicines,
            vitals=vital_resources.of_visit(visit),
            requests=service_request_resources.of_visit(visit),
        )
    if built is None:
        raise NotFound(f"nothing for a {kind.title.lower()} was recorded at {visit.visit_no} yet")
    return built


def _collected(sample: Any) -> tuple[int, str]:
    return (sample.collected_at_ms or 0, sample.accession)


def _pdf(make: Callable[[Any], bytes], source: Any) -> bytes | None:
    """The printed document, or None (logged) while printing is unavailable: the
    document is still whole without its PDF."""
    try:
        return make(source)
    except RendererUnavailable:
        log.warning("a FHIR document is sent without its PDF: printing is unavailable")
        return None


@operation({"GET": DOCUMENT_RULE})
def composition(request: HttpRequest, composition: str) -> HttpResponse:
    """The Composition alone, its references relative (``Patient/UHID``, ...)."""
    return fhir_response(_document(request, composition).composition)


@operation({"GET": DOCUMENT_RULE})
def document(request: HttpRequest, composition: str) -> HttpResponse:
    """FHIR's ``$document``: the Composition and everything it references, as a
    ``document`` Bundle (ABDM's unit of exchange)."""
    unknown = sorted(set(request.GET) - {"_format"})
    if unknown:
        raise Invalid(
            400,
            [issue("not-supported", f"$document takes no parameters here ({unknown[0][:40]!r})")],
        )
    found = _document(request, composition)
    return fhir_response(document_resources.bundle(found, request.build_absolute_uri("/fhir")))


@public
@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything else under /fhir/: an OperationOutcome, not the screens' HTML 404 page."""
    return error_response(
        404, [issue("not-found", f"this server has no /fhir/{rest[:60]}; see /fhir/metadata")]
    )
