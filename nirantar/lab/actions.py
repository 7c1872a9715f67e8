"""The only write path of the laboratory: check the request, emit events."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any

from nirantar import sql, timeutil
from nirantar.errors import Conflict, NotFound, ValidationFailed
from nirantar.lab import catalogue, events
from nirantar.lab.models import LabOrder, Result, Sample
from nirantar.ledger.numbering import InvalidNumber
from nirantar.ledger.writer import Writer, writing
from nirantar.registration import queries as registration
from nirantar.registration.models import age_on
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters

SOURCES = ("opd", "ward", "lab")
MAX_TESTS = 30


def clean_tests(tests: Any) -> list[str]:
    """Catalogue codes, upper-cased, each once, in the order given; or ValidationFailed."""
    if not isinstance(tests, list) or not tests:
        raise ValidationFailed("no tests ordered", {"tests": "choose at least one test"})
    if len(tests) > MAX_TESTS:
        raise ValidationFailed("too many tests", {"tests": f"at most {MAX_TESTS} in one order"})
    codes: list[str] = []
    unknown: list[str] = []
    for value in tests:
        test = catalogue.find(value) if isinstance(value, str) else None
        if test is None:
            unknown.append(str(value)[:20])
        elif test.code not in codes:
            codes.append(test.code)
    if unknown:
        raise ValidationFailed(
            f"not in the laboratory's catalogue: {', '.join(unknown)}",
            {"tests": f"unknown test code: {', '.join(unknown)}"},
        )
    return codes


def do_order(
    actor: str,
    uhid: str,
    tests: Any,
    *,
    source: str,
    visit: str = "",
    department: str = "",
    note: str = "",
) -> LabOrder:
    """Order tests for a patient under an order number minted here (no server needed)."""
    codes = clean_tests(tests)
    if source not in SOURCES:
        raise ValueError(f"unknown order source {source!r}")
    note = (note or "").strip()
    if has_control_characters(note) or len(note) > 200:
        raise ValidationFailed("bad note", {"note": CONTROL_MESSAGE if note else "too long"})
    with writing() as w:
        node_number, seq = w.next_number(events.ORDER.kind)
        order_no = events.ORDER.format(node_number, seq)
        w.emit(
            events.TESTS_ORDERED,
            f"patient:{uhid}",
            {
                "order": order_no,
                "uhid": uhid,
                "visit": visit,
                "tests": codes,
                "source": source,
                "department": department,
                "note": note,
            },
            actor=actor,
        )
    return LabOrder.objects.get(order_no=order_no)


# -- samples --------------------------------------------------------------------------


def parse_accession(text: Any) -> str:
    try:
        return events.ACCESSION.normalise(str(text or ""))
    except InvalidNumber as exc:
        raise ValidationFailed(str(exc), {"accession": str(exc)}) from exc


def find_sample(text: Any) -> Sample:
    accession = parse_accession(text)
    sample = Sample.objects.filter(accession=accession, is_collected=True).first()
    if sample is None:
        raise NotFound(f"no sample {accession}", {"accession": "not collected here (yet)"})
    return sample


def collected_tests(order: LabOrder) -> set[str]:
    """The order's tests already in a sample of it that was not rejected."""
    return taken_by(order.order_no, live_samples(order.uhid))


def live_samples(uhid: str) -> list[tuple[list[str], list[str]]]:
    """(orders, tests) of each of a patient's collected samples not rejected, in plain SQL:
    the projection asks this of every sample collected, and wants only two columns."""
    found = sql.rows(
        "SELECT orders, tests FROM lab_sample "
        "WHERE uhid = %s AND is_collected = %s AND status <> %s",
        [uhid, True, "rejected"],
    )
    return [(sql.json_value(orders), sql.json_value(tests)) for orders, tests in found]


def taken_by(order_no: str, live: list[tuple[list[str], list[str]]]) -> set[str]:
    """The tests of an order already in one of ``live`` (see ``live_samples``)."""
    return {t for orders, tests in live if order_no in orders for t in tests}


def do_collect(actor: str, order_text: Any, replaces: str = "") -> list[Sample]:
    """Collect an order's specimens: one sample per container, each with an accession
    number minted here - so labels print with the hub down. Tests already in a live
    sample of the order are not collected twice."""
    order_no = str(order_text or "").strip().upper()
    with writing() as w:
        order = LabOrder.objects.filter(order_no=order_no).first()
        if order is None:
            raise NotFound(f"no lab order {order_no}", {"order": "not found"})
        taken = collected_tests(order)
        pending = [t for t in order.tests if t not in taken]
        if not pending:
            raise Conflict(f"order {order_no} is collected already", {"order": "collected"})
        by_container: dict[str, list[str]] = defaultdict(list)
        for code in pending:
            test = catalogue.TESTS.get(code)
            key = code if test is None or test.own_sample else test.container
            by_container[key].append(code)
        made = [_collect(w, actor, order, codes, replaces) for codes in by_container.values()]
    return [Sample.objects.get(accession=a) for a in made]


def _collect(
    w: Writer, actor: str, order: LabOrder | Sample, codes: list[str], replaces: str
) -> str:
    """A new sample of ``codes`` for an order (or, recollecting, for what a rejected
    sample was collected for - its order need not have reached this node)."""
    node_number, seq = w.next_number(events.ACCESSION.kind)
    accession = events.ACCESSION.format(node_number, seq)
    first = catalogue.TESTS.get(codes[0])
    orders = order.orders if isinstance(order, Sample) else [order.order_no]
    w.emit(
        events.SAMPLE_COLLECTED,
        f"patient:{order.uhid}",
        {
            "accession": accession,
            "uhid": order.uhid,
            "orders": orders,
            "tests": codes,
            "specimen": first.specimen if first else "",
            "container": first.container if first else "",
            "section": first.section if first else "",
            "replaces": replaces,
        },
        actor=actor,
    )
    return accession


def do_receive(actor: str, accession_text: Any) -> Sample:
    with writing() as w:
        sample = find_sample(accession_text)
        if sample.status == "rejected":
            raise Conflict(f"sample {sample.accession} was rejected", {"accession": "rejected"})
        if events.STATUS_RANK[sample.status] < events.STATUS_RANK["received"]:
            w.emit(
                events.SAMPLE_RECEIVED,
                f"patient:{sample.uhid}",
                {"accession": sample.accession, "uhid": sample.uhid},
                actor=actor,
            )
    return Sample.objects.get(accession=sample.accession)


def do_reject(actor: str, accession_text: Any, reason: Any) -> list[Sample]:
    """Reject a sample (haemolysed, clotted, insufficient, unlabelled) and collect its
    tests again at once under a new accession: the new label prints with the rejection."""
    if reason not in events.REJECTION_REASONS:
        raise ValidationFailed(
            "why is it rejected?", {"reason": "one of " + ", ".join(events.REJECTION_REASONS)}
        )
    with writing() as w:
        sample = find_sample(accession_text)
        if sample.status == "rejected":
            raise Conflict(
                f"sample {sample.accession} was rejected already", {"accession": "rejected"}
            )
        if events.STATUS_RANK[sample.status] >= events.STATUS_RANK["verified"]:
            raise Conflict(
                f"sample {sample.accession} is {sample.status}: amend its results instead",
                {"accession": sample.status},
            )
        w.emit(
            events.SAMPLE_REJECTED,
            f"patient:{sample.uhid}",
            {"accession": sample.accession, "uhid": sample.uhid, "reason": reason},
            actor=actor,
        )
        again = _collect(w, actor, sample, list(sample.tests), sample.accession)
        return [Sample.objects.get(accession=again)]


# -- results --------------------------------------------------------------------------


def flag_of(analyte: catalogue.Analyte, value: str, sex: str, years: int) -> tuple[str, str, str]:
    """(flag, low, high) of a value against the patient's range: L/H, LL/HH when past a
    critical limit, A for an abnormal text result; the range as printed."""
    if analyte.qualitative:
        normal = analyte.normal_text.lower()
        return ("" if value.strip().lower() == normal else "A", analyte.normal_text, "")
    band = analyte.range_for(sex, years)
    low = "" if band is None or band.low is None else f"{band.low:g}"
    high = "" if band is None or band.high is None else f"{band.high:g}"
    number = float(split_value(value)[1] or 0)
    if analyte.critical_low is not None and number < analyte.critical_low:
        return "LL", low, high
    if analyte.critical_high is not None and number > analyte.critical_high:
        return "HH", low, high
    if band is not None and band.low is not None and number < band.low:
        return "L", low, high
    if band is not None and band.high is not None and number > band.high:
        return "H", low, high
    return "", low, high


def clean_value(analyte: catalogue.Analyte, value: Any) -> str:
    text = str(value if value is not None else "").strip()
    if not text or len(text) > 200 or has_control_characters(text):
        raise ValidationFailed(
            f"no usable value for {analyte.code}", {analyte.code: "a value is required"}
        )
    if analyte.qualitative:
        return text
    comparator, number = split_value(text)
    if number is None:
        raise ValidationFailed(
            f"{analyte.code} must be a number, not {text[:20]!r}",
            {analyte.code: "must be a number"},
        )
    return f"{comparator}{number:.{analyte.decimals}f}"


MAX_MAGNITUDE = Decimal(10) ** 9


def split_value(text: str) -> tuple[str, Decimal | None]:
    """("<", 0.5) from "<0.5": analysers report values beyond their range that way.
    None for anything that is not a finite number of a sane size."""
    comparator = text[0] if text[:1] in ("<", ">") else ""
    try:
        number = Decimal(text[len(comparator) :].strip())
    except InvalidOperation:
        return comparator, None
    if not number.is_finite() or abs(number) >= MAX_MAGNITUDE:
        return comparator, None
    return comparator, number


def patient_facts(uhid: str) -> tuple[str, int]:
    """(sex, age in years) for choosing reference ranges; two columns, not the record (this
    runs for every analyser message)."""
    found = registration.sex_and_birth(uhid)
    if found is None or found[1] is None:
        return (found[0] if found else "", 30)
    sex, born = found
    age, unit = age_on(born, timeutil.today())
    return sex, age if unit == "Y" else 0


def record_results(
    w: Writer,
    actor: str,
    sample: Sample,
    values: dict[str, Any],
    *,
    source: str,
    instrument: str = "",
    control_id: str = "",
    amends: dict[str, str] | None = None,
    reason: str = "",
) -> list[str]:
    """Emit the sample's results as one event (validated first: all or none). Returns the
    results' ids, ORIGIN:SEQ:INDEX."""
    if sample.status == "rejected":
        raise Conflict(f"sample {sample.accession} was rejected", {"accession": "rejected"})
    if not amends and sample.verified_results:
        raise Conflict(
            f"sample {sample.accession} is verified: a changed result is an amendment, "
            "made by a pathologist with a reason",
            {"accession": sample.status},
        )
    ordered = {a.code for a in catalogue.analytes_of(sample.tests)}
    errors: dict[str, str] = {}
    cleaned: list[tuple[catalogue.Analyte, str]] = []
    for code, value in values.items():
        analyte = catalogue.ANALYTES.get(str(code).upper())
        if analyte is None or analyte.code not in ordered:
            errors[str(code)[:20]] = "not a test ordered on this sample"
            continue
        try:
            cleaned.append((analyte, clean_value(analyte, value)))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors or not cleaned:
        raise ValidationFailed("the results can't be stored", errors or {"results": "none"})
    sex, years = patient_facts(sample.uhid)
    rows = []
    for analyte, value in cleaned:
        flag, low, high = flag_of(analyte, value, sex, years)
        rows.append(
            {
                "analyte": analyte.code,
                "value": value,
                "unit": analyte.unit,
                "flag": flag,
                "low": low,
                "high": high,
                "amends": (amends or {}).get(analyte.code, ""),
            }
        )
    # One event for what one sample's report of results said (an analyser's message,
    # a bench entry): one signature, one row per analyte.
    event = w.emit(
        events.RESULTS_RECORDED,
        f"patient:{sample.uhid}",
        {
            "accession": sample.accession,
            "uhid": sample.uhid,
            "results": rows,
            "source": source,
            "instrument": instrument,
            "control_id": control_id,
            "reason": reason,
        },
        actor=actor,
    )
    return [f"{event.origin}:{event.seq}:{i}" for i in range(len(rows))]


def do_enter_results(actor: str, accession_text: Any, values: Any) -> list[Result]:
    """Results typed at the bench: awaiting verification, like an analyser's."""
    if not isinstance(values, dict) or not values:
        raise ValidationFailed("no results", {"results": "give analyte: value pairs"})
    with writing() as w:
        sample = find_sample(accession_text)
        if events.STATUS_RANK[sample.status] >= events.STATUS_RANK["verified"]:
            raise Conflict(
                f"sample {sample.accession} is verified: amend a result instead",
                {"accession": sample.status},
            )
        ids = record_results(w, actor, sample, values, source="manual")
    return list(Result.objects.filter(result_id__in=ids))


def _result_order(result: Result) -> tuple[int, str, int, int]:
    """Oldest first: by time, then node, then the event's sequence and the index in it
    as numbers ("node:100" comes after "node:99")."""
    origin, _, rest = result.result_id.partition(":")
    seq, _, index = rest.partition(":")
    return (result.at_ms, origin, int(seq or 0), int(index or 0))


def current_results(sample: Sample) -> list[Result]:
    """The standing result of each analyte: the latest, amendments replacing what they name."""
    rows = sorted(
        Result.objects.filter(accession=sample.accession, uhid=sample.uhid), key=_result_order
    )
    replaced = {r.amends for r in rows if r.amends}
    latest: dict[str, Result] = {}
    for row in rows:
        if row.result_id not in replaced:
            latest[row.analyte] = row
    return list(latest.values())


def do_verify(actor: str, accession_text: Any) -> Sample:
    """A pathologist verifies every standing result of a sample."""
    with writing() as w:
        sample = find_sample(accession_text)
        if sample.status == "rejected":
            raise Conflict(f"sample {sample.accession} was rejected", {"accession": "rejected"})
        if not awaiting_verification(sample):
            raise Conflict(
                f"sample {sample.accession} has nothing awaiting verification",
                {"accession": "nothing to verify"},
            )
        results = current_results(sample)  # a verification covers every standing result
        w.emit(
            events.RESULTS_VERIFIED,
            f"patient:{sample.uhid}",
            {
                "accession": sample.accession,
                "uhid": sample.uhid,
                "results": [r.result_id for r in results],
            },
            actor=actor,
        )
    return Sample.objects.get(accession=sample.accession)


def do_amend(actor: str, accession_text: Any, values: Any, reason: Any) -> list[Result]:
    """Amend verified results: new values naming the ones they replace, which stay visible;
    the sample needs verifying (and reporting) again."""
    why = str(reason or "").strip()
    if len(why) < 3 or len(why) > 200 or has_control_characters(why):
        raise ValidationFailed("an amendment needs a reason", {"reason": "a few words"})
    if not isinstance(values, dict) or not values:
        raise ValidationFailed("no results", {"results": "give analyte: value pairs"})
    with writing() as w:
        sample = find_sample(accession_text)
        standing = {r.analyte: r.result_id for r in current_results(sample)}
        missing = [str(a)[:20] for a in values if str(a).upper() not in standing]
        if missing:
            raise ValidationFailed(
                "only a result that exists can be amended",
                {m: "no result to amend" for m in missing},
            )
        values = {str(k).upper(): v for k, v in values.items()}
        ids = record_results(w, actor, sample, values, source="manual", amends=standing, reason=why)
    return list(Result.objects.filter(result_id__in=ids))


def awaiting_verification(sample: Sample) -> list[Result]:
    """Standing results no verification has covered (new, or amended since)."""
    covered = set(sample.verified_results)
    return [r for r in current_results(sample) if r.result_id not in covered]


def do_issue_report(actor: str, accession_text: Any) -> Sample:
    """Issue the report of a verified sample: its content hash, signed by this node."""
    from nirantar.lab import report

    with writing() as w:
        sample = find_sample(accession_text)
        if sample.status == "rejected" or not sample.verified_results:
            raise Conflict(
                f"sample {sample.accession} is not verified", {"accession": sample.status}
            )
        if awaiting_verification(sample):
            raise Conflict(
                f"sample {sample.accession} has results awaiting verification",
                {"accession": "verify first"},
            )
        patient = registration.get_patient(sample.uhid)
        if patient is None:
            raise NotFound(f"no patient {sample.uhid}", {"uhid": "not registered here"})
        digest = report.content_hash(report.content(sample, patient, current_results(sample)))
        w.emit(
            events.REPORT_ISSUED,
            f"patient:{sample.uhid}",
            {
                "accession": sample.accession,
                "uhid": sample.uhid,
                "content_hash": digest,
                "signature": report.sign_content(sample.accession, digest),
            },
            actor=actor,
        )
    return Sample.objects.get(accession=sample.accession)


def do_resolve_failure(actor: str, failure: Any, note: Any) -> None:
    from nirantar.lab.models import MessageFailure

    text = str(note or "").strip()
    if len(text) < 3 or len(text) > 200 or has_control_characters(text):
        raise ValidationFailed("say how it was dealt with", {"note": "a few words"})
    with writing() as w:
        row = MessageFailure.objects.filter(failure_id=str(failure)[:60]).exclude(ack="").first()
        if row is None:
            raise NotFound(f"no queued message {str(failure)[:60]}", {"failure": "not found"})
        if row.resolved:
            raise Conflict("that message is resolved already", {"failure": "resolved"})
        w.emit(
            events.MESSAGE_RESOLVED,
            events.ERRORS_STREAM,
            {"failure": row.failure_id, "note": text},
            actor=actor,
        )


def do_order_at_counter(actor: str, uhid_text: Any, tests: Any, note: str = "") -> LabOrder:
    """Tests ordered at the lab counter from a paper prescription."""
    from nirantar.registration.actions import parse_uhid

    uhid = parse_uhid(uhid_text)
    with writing():
        if registration.get_patient(uhid) is None:
            raise NotFound(f"no patient with UHID {uhid}", {"uhid": "not registered"})
        return do_order(actor, uhid, tests, source="lab", note=note)


def reported_results(sample: Sample) -> list[Result]:
    """The results of the sample's issued report, exactly: refused (Conflict) if none was
    issued, or if results changed since (an amendment awaiting verification and a new
    report) - a signed report must never show values nobody verified."""
    from nirantar.lab import report

    if not sample.report_hash:
        raise Conflict(f"sample {sample.accession} has no report yet", {"accession": sample.status})
    patient = registration.get_patient(sample.uhid)
    results = current_results(sample)
    if (
        patient is None
        or awaiting_verification(sample)
        or report.content_hash(report.content(sample, patient, results)) != sample.report_hash
    ):
        raise Conflict(
            f"the report of {sample.accession} is out of date: its results were amended; "
            "verify them and issue the report again",
            {"accession": "report out of date"},
        )
    return results
