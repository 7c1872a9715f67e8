"""The laboratory's part of the JSON API: the orders waiting for it."""
# No `from __future__ import annotations`: django-ninja reads these hints at import time.

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from nirantar import timeutil
from nirantar.accounts import actions as account_actions
from nirantar.accounts.auth import client_address, needs
from nirantar.lab import queries
from nirantar.lab.permissions import READ_ORDERS
from nirantar.schemas import ERRORS

router = Router(tags=["laboratory"])


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
    return [
        {
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
        for o in rows
    ]
