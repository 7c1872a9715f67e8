"""Laboratory orders as FHIR R4 ServiceRequests: one per ordered test.

A ServiceRequest's ``code`` holds one concept (0..1), so an order of several tests is
several ServiceRequests sharing a ``requisition`` (the order number, as FHIR's
composite-request pattern has it). The id is the order number and the test code,
lower-cased: ``lo-101-0000001-3-cbc``. It never changes and is the same on every node.

Status is worked out from the order's samples, since an order has no status of its own
past "collected": a test whose sample's report has been issued is ``completed``; every
other test (not collected, collected, in the laboratory, rejected and collected again)
is ``active``. The laboratory has no cancellation, so ``revoked`` is never sent.
"""

from __future__ import annotations

import re
from typing import Any

from nirantar import timeutil
from nirantar.accounts import queries as accounts
from nirantar.fhir.observations import LOINC
from nirantar.fhir.validation import Invalid, issue
from nirantar.lab import catalogue
from nirantar.lab import queries as lab_queries
from nirantar.lab.models import LabOrder, Sample
from nirantar.registration.models import Visit

SNOMED = "http://snomed.info/sct"
TEST_SYSTEM = "urn:nirantar:lab-test"
ORDER_SYSTEM = "urn:nirantar:lab-order"
CATEGORY = {"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}
# The order number (LO-NNN-NNNNNNN-N) and a test code, as the id writes them.
ID = re.compile(r"\A(lo-[0-9]{3}-[0-9]{7}-[0-9])-([a-z0-9.]{1,30})\Z")


def _part(code: str) -> str:
    return re.sub(r"[^a-z0-9.]", ".", code.lower())


def request_id(order_no: str, test: str) -> str:
    return f"{order_no.lower()}-{_part(test)}"[:64]


def parse_id(text: str) -> tuple[str, str] | None:
    """(order number, the id's test part) of a ServiceRequest id; None if it is not one."""
    match = ID.match(text.strip().lower())
    return (match[1].upper(), match[2]) if match else None


def test_code(test: str) -> dict[str, Any]:
    """A test as a CodeableConcept: its LOINC code where the catalogue has one, and ours."""
    found = catalogue.TESTS.get(test)
    name = found.name_en if found else test
    coding = [{"system": TEST_SYSTEM, "code": test, "display": name}]
    loinc = catalogue.loinc_of(found) if found else ""
    if loinc:
        coding.insert(0, {"system": LOINC, "code": loinc, "display": name})
    return {"coding": coding, "text": name}


def status_of(order: LabOrder, test: str, samples: list[Sample]) -> str:
    """``completed`` once a sample of the test (not rejected) has its report issued."""
    for sample in samples:
        if test in sample.tests and sample.status != "rejected" and sample.reported_at_ms:
            return "completed"
    return "active"


def service_request(
    order: LabOrder, test: str, samples: list[Sample], requester: str = ""
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": request_id(order.order_no, test),
        "requisition": {"system": ORDER_SYSTEM, "value": order.order_no},
        "status": status_of(order, test, samples),
        "intent": "order",
        "category": [CATEGORY],
        "code": test_code(test),
        "subject": {"reference": f"Patient/{order.uhid}"},
    }
    if order.visit:
        resource["encounter"] = {"reference": f"Encounter/{order.visit}"}
    resource["authoredOn"] = timeutil.from_ms(order.at_ms).isoformat()
    resource["requester"] = {"display": requester or order.ordered_by}
    if order.note:
        resource["note"] = [{"text": order.note}]
    return resource


def requests_of(orders: list[LabOrder]) -> list[dict[str, Any]]:
    """One ServiceRequest per test of each order, in the orders' order and each order's."""
    samples = lab_queries.samples_of_orders(orders)
    names = accounts.staff_names({o.ordered_by for o in orders})
    found = []
    for order in orders:
        named = names.get(order.ordered_by)
        requester = named[0] if named and named[0] else order.ordered_by
        for test in order.tests:
            found.append(service_request(order, test, samples.get(order.order_no, []), requester))
    return found


def of_visit(visit: Visit) -> list[dict[str, Any]]:
    """The ServiceRequests of a visit's (or admission's) laboratory orders, oldest order
    first. Nothing is audited here: the caller audits its read of the visit."""
    orders = lab_queries.orders_for_visits([visit]).get(visit.visit_no, [])
    return requests_of(orders)


def encounter_param(value: str) -> str:
    """The visit or admission number an ``encounter=`` names (``Encounter/OP-...`` or bare)."""
    number = value.strip().removeprefix("Encounter/").strip().upper()
    if not number or "/" in number:
        raise Invalid(400, [issue("invalid", "encounter: Encounter/OP-... or IP-...", "encounter")])
    return number
