"""The MIS reports over the JSON API: OPD, lab turnaround and beds for a range of days,
each with how fresh its figures are. Counts only - no patient is named or numbered."""
# No `from __future__ import annotations`: django-ninja reads these hints at import time.

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from nirantar.accounts.auth import needs
from nirantar.mis import queries
from nirantar.mis.permissions import READ
from nirantar.schemas import ERRORS

router = Router(tags=["reports"])

FROM = Query(None, alias="from", description="YYYY-MM-DD, the first day; today if not given")
TO = Query(None, alias="to", description=f"YYYY-MM-DD, the last day (at most {queries.MAX_DAYS})")


class FreshOriginOut(Schema):
    origin: str
    events: int
    newest_event_at: str | None
    last_heard_at: str | None = Field(
        description="When this node last spoke with it (a direct peer), else null"
    )
    this_node: bool


class FreshnessOut(Schema):
    as_of: str | None = Field(description="The newest event applied to the projections here")
    node: str
    generated_at: str
    held: int = Field(description="Events received but waiting for earlier ones")
    origins: list[FreshOriginOut]


class OpdDepartmentOut(Schema):
    department: str
    name_en: str
    name_hi: str
    visits: int
    new: int
    returning: int


class OpdHourOut(Schema):
    hour: int = Field(ge=0, le=23, description="Hour of the hospital's local day")
    visits: int


class OpdReportOut(Schema):
    from_: date = Field(alias="from")
    to: date
    department: str
    as_of: str | None
    freshness: FreshnessOut
    total: int
    new: int
    returning: int
    by_department: list[OpdDepartmentOut]
    by_hour: list[OpdHourOut]


class TurnaroundSectionOut(Schema):
    section: str
    name_hi: str
    samples: int
    median_minutes: float | None
    p90_minutes: float | None


class TurnaroundReportOut(Schema):
    from_: date = Field(alias="from")
    to: date
    as_of: str | None
    freshness: FreshnessOut
    samples: int
    sections: list[TurnaroundSectionOut]


class WardOccupancyOut(Schema):
    ward: str
    name_en: str
    name_hi: str
    beds: int
    occupied: int
    occupancy: float


class BedsReportOut(Schema):
    from_: date = Field(alias="from")
    to: date
    ward: str
    as_of: str | None
    freshness: FreshnessOut
    basis: Literal["now", "midnight_census"]
    at: str
    beds: int
    occupied: int
    occupancy: float
    wards: list[WardOccupancyOut]


def _head(chosen: queries.Period) -> dict[str, Any]:
    fresh = queries.freshness()
    return {"from": chosen.start, "to": chosen.end, "as_of": fresh["as_of"], "freshness": fresh}


@router.get(
    "/reports/opd",
    response={200: OpdReportOut, **ERRORS},
    summary="OPD visits for a range of days: by department (new and returning) and by hour",
    auth=needs(READ),
    by_alias=True,
)
def opd(
    request: HttpRequest,
    start: str | None = FROM,
    end: str | None = TO,
    department: str | None = Query(None, description="A department's code; all if not given"),
) -> Any:
    chosen = queries.period(start, end)
    code = queries.department(department)
    return {**_head(chosen), "department": code, **queries.opd(chosen, code)}


@router.get(
    "/reports/lab-turnaround",
    response={200: TurnaroundReportOut, **ERRORS},
    summary="Collection to verification by section (median, 90th percentile), in minutes",
    auth=needs(READ),
    by_alias=True,
)
def lab_turnaround(request: HttpRequest, start: str | None = FROM, end: str | None = TO) -> Any:
    chosen = queries.period(start, end)
    return {**_head(chosen), **queries.lab_turnaround(chosen)}


@router.get(
    "/reports/beds",
    response={200: BedsReportOut, **ERRORS},
    summary="Bed occupancy by ward: now, or at the midnight census ending a past range",
    auth=needs(READ),
    by_alias=True,
)
def beds(
    request: HttpRequest,
    start: str | None = FROM,
    end: str | None = TO,
    ward: str | None = Query(None, description="A ward's code; all if not given"),
) -> Any:
    chosen = queries.period(start, end)
    code = queries.ward(ward)
    return {**_head(chosen), "ward": code, **queries.beds(chosen, code)}
