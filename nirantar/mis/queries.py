"""Reads for the MIS dashboards: aggregates over the other modules' projections.

Nothing here reads the event log. Every figure is counted by the database over a read
model (registration's visits, the laboratory's samples, the wards' beds and stays), or
comes from the owning module's own query (``lab.queries.section_turnaround``,
``wards.queries.occupancy`` and ``census``), so a panel and the module's own screen agree.

No patient is named or numbered in anything returned here: these are counts, so reading
them is not a read of anyone's record and is not written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings

from nirantar import sql, timeutil
from nirantar.errors import NotFound, ValidationFailed
from nirantar.lab import catalogue as lab_catalogue
from nirantar.lab import queries as lab
from nirantar.ledger.models import Head, Held, Origin, Peer
from nirantar.registration.models import Department
from nirantar.wards import queries as wards
from nirantar.wards.models import Ward

# The longest range a report covers: any calendar month. The OPD panels probe each visit's
# earlier visits (new or returning): a month at AIIMS scale is ~450,000 index look-ups.
MAX_DAYS = 31

# Visits are bucketed by quarter hour in the database, then each bucket is put in its
# local hour here: every time zone's offset is a whole number of quarter hours (India's is
# 5 h 30 min), so a bucket never straddles two local hours - and no SQL needs to know the
# zone or its daylight saving.
BUCKET_MS = 15 * 60 * 1000

# The laboratory's sections in Hindi, for the chart labels (the catalogue names them in
# English only).
SECTION_HI = {
    "biochemistry": "जैव रसायन",
    "haematology": "रुधिर विज्ञान",
    "microbiology": "सूक्ष्मजीव विज्ञान",
    "clinical pathology": "क्लिनिकल पैथोलॉजी",
}


@dataclass(frozen=True)
class Period:
    """The hospital days a report covers, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_ms(self) -> int:
        return _midnight_ms(self.start)

    @property
    def end_ms(self) -> int:
        """The midnight that ends the last day (exclusive)."""
        return _midnight_ms(self.end + timedelta(days=1))


def _midnight_ms(day: date) -> int:
    moment = datetime.combine(day, time(0), tzinfo=timeutil.hospital_zone())
    return int(moment.timestamp() * 1000)


def _parse(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"{name!r} is not a date", {name: "a date as YYYY-MM-DD, e.g. 2027-01-31"}
        ) from None


def period(start: str | date | None, end: str | date | None) -> Period:
    """The range asked for: today when neither end is given, one day when only one is.
    ValidationFailed (400) names the field for a malformed date, an end before the
    start, a range in the future or longer than MAX_DAYS."""
    today = timeutil.today()
    first = _parse(start.strip(), "from") if isinstance(start, str) and start.strip() else start
    last = _parse(end.strip(), "to") if isinstance(end, str) and end.strip() else end
    first = first if isinstance(first, date) else None
    last = last if isinstance(last, date) else None
    if first is None and last is None:
        first = last = today
    first = first or last
    last = last or first
    assert first is not None and last is not None
    if first > last:
        raise ValidationFailed(
            "the range ends before it starts", {"to": f"on or after {first.isoformat()}"}
        )
    if last > today:
        raise ValidationFailed(
            "the range is in the future", {"to": f"today ({today.isoformat()}) or earlier"}
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(
            f"a report covers at most {MAX_DAYS} days",
            {"to": f"at most {(first + timedelta(days=MAX_DAYS - 1)).isoformat()}"},
        )
    return Period(first, last)


def department(code: str | None) -> str:
    """A department filter: "" for the whole hospital, else a known department's code."""
    code = (code or "").strip().upper()
    if code and not Department.objects.filter(code=code).exists():
        raise NotFound(f"no department {code[:20]}", {"department": "not a department here"})
    return code


def ward(code: str | None) -> str:
    code = (code or "").strip().upper()
    if code and not Ward.objects.filter(code=code).exists():
        raise NotFound(f"no ward {code[:20]}", {"ward": "not a ward here"})
    return code


def departments() -> list[Department]:
    return list(Department.objects.order_by("name_en"))


def ward_list() -> list[Ward]:
    return list(Ward.objects.order_by("code"))


# -- OPD -------------------------------------------------------------------------------

# One pass over the range's visits (index visit_day_department). A visit is NEW when its
# patient has no earlier visit - earlier by (time, visit number) - under any UHID of the
# same person: the survivor of a merge and every UHID merged into it (registration's
# merged-patient table). The probe uses index visit_uhid (uhid, at_ms).
_OPD_BY_DEPARTMENT = """
WITH chosen AS (
  SELECT v.visit_no, v.department, v.at_ms,
         COALESCE((SELECT m.survivor FROM registration_merged_patient m WHERE m.uhid = v.uhid),
                  v.uhid) AS person
  FROM registration_visit v
  WHERE v.local_date >= %s AND v.local_date <= %s AND (%s = '' OR v.department = %s)
)
SELECT c.department, COUNT(*),
       SUM(CASE WHEN EXISTS (
             SELECT 1 FROM registration_visit e
             WHERE (e.uhid = c.person OR e.uhid IN (
                      SELECT g.uhid FROM registration_merged_patient g WHERE g.survivor = c.person))
               AND (e.at_ms < c.at_ms OR (e.at_ms = c.at_ms AND e.visit_no < c.visit_no))
           ) THEN 0 ELSE 1 END)
FROM chosen c
GROUP BY c.department
"""

_OPD_BY_BUCKET = f"""
SELECT v.at_ms / {BUCKET_MS}, COUNT(*) FROM registration_visit v
WHERE v.local_date >= %s AND v.local_date <= %s AND (%s = '' OR v.department = %s)
GROUP BY v.at_ms / {BUCKET_MS}
"""  # noqa: S608 - a constant of ours, no input


def opd(chosen: Period, department_code: str = "") -> dict[str, Any]:
    """OPD visits of the range (registered visits, by the hospital day they were made on):
    by department with new and returning, and by hour of the local day (summed over the
    range's days). Two grouped queries."""
    names = {d.code: d for d in Department.objects.all()}
    rows = sql.rows(
        _OPD_BY_DEPARTMENT,
        [chosen.start, chosen.end, department_code, department_code],
    )
    by_department = []
    for code, visits, new in sorted(rows, key=lambda r: (-int(r[1]), r[0])):
        known = names.get(code)
        by_department.append(
            {
                "department": code,
                "name_en": known.name_en if known else code,
                "name_hi": known.name_hi if known else code,
                "visits": int(visits),
                "new": int(new),
                "returning": int(visits) - int(new),
            }
        )
    hours = [0] * 24
    zone = timeutil.hospital_zone()
    for bucket, count in sql.rows(
        _OPD_BY_BUCKET,
        [chosen.start, chosen.end, department_code, department_code],
    ):
        hour = timeutil.from_ms(int(bucket) * BUCKET_MS).astimezone(zone).hour
        hours[hour] += int(count)
    total = sum(d["visits"] for d in by_department)
    new_total = sum(d["new"] for d in by_department)
    return {
        "total": total,
        "new": new_total,
        "returning": total - new_total,
        "by_department": by_department,
        "by_hour": [{"hour": h, "visits": hours[h]} for h in range(24)],
    }


# -- the laboratory ----------------------------------------------------------------------


def lab_turnaround(chosen: Period) -> dict[str, Any]:
    """Collection to verification per section, of the samples collected in the range
    (the laboratory's own query, also behind its turnaround screen)."""
    found = {r["name"]: r for r in lab.section_turnaround(chosen.start_ms, chosen.end_ms)}
    sections = []
    for name in sorted(lab_catalogue.SECTIONS):
        row = found.get(name)
        sections.append(
            {
                "section": name,
                "name_hi": SECTION_HI.get(name, name),
                "samples": row["samples"] if row else 0,
                "median_minutes": row["median_minutes"] if row else None,
                "p90_minutes": row["p90_minutes"] if row else None,
            }
        )
    return {"samples": sum(s["samples"] for s in sections), "sections": sections}


# -- beds ------------------------------------------------------------------------------


def beds(chosen: Period, ward_code: str = "") -> dict[str, Any]:
    """Occupancy by ward at the end of the range: now, when the range ends today; else the
    midnight census that ended its last day (patients in each ward then, from the stays
    and their placements, against the beds in service in today's layout - the projections
    keep each bed's present state only, not its past)."""
    today = timeutil.today()
    rows: list[dict[str, Any]] = []
    if chosen.end >= today:
        basis, at_ms = "now", int(timeutil.now().timestamp() * 1000)
        for r in wards.occupancy(ward_code):
            rows.append(_ward_row(r.ward, r.beds, r.occupied))
    else:
        basis, at_ms = "midnight_census", chosen.end_ms
        census, _ = wards.census(chosen.end)
        for c in census:
            if not ward_code or c.ward.code == ward_code:
                rows.append(_ward_row(c.ward, c.beds, c.at_midnight))
    beds_total = sum(r["beds"] for r in rows)
    occupied = sum(r["occupied"] for r in rows)
    return {
        "basis": basis,
        "at": timeutil.from_ms(at_ms).isoformat(),
        "wards": rows,
        "beds": beds_total,
        "occupied": occupied,
        "occupancy": _percent(occupied, beds_total),
    }


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _ward_row(w: Ward, beds_count: int, occupied: int) -> dict[str, Any]:
    return {
        "ward": w.code,
        "name_en": w.name_en,
        "name_hi": w.name_hi,
        "beds": beds_count,
        "occupied": occupied,
        "occupancy": _percent(occupied, beds_count),
    }


# -- freshness -------------------------------------------------------------------------


def freshness() -> dict[str, Any]:
    """How fresh the projections are. Each event is applied to the projections in the
    transaction that stores it, so the newest event held (with no gap) from each origin
    is what the reports include: ``as_of`` is the newest of those, and each origin node
    says when its newest event here was made and, for a node this one syncs with
    directly, when they last spoke. Read from the ledger's heads and peers (one row per
    node), never from the events table."""
    now = timeutil.now()
    nodes = set(Origin.objects.filter(kind=Origin.NODE).values_list("name", flat=True))
    heads = list(Head.objects.order_by("origin").values_list("origin", "seq", "hlc_wall"))
    contact = {
        p.name: p.last_contact for p in Peer.objects.exclude(name="") if p.last_contact is not None
    }
    here = settings.NODE.node
    origins = []
    for origin, seq, wall in heads:
        if origin not in nodes:
            continue  # the hospital's authority: enrolments, not hospital work
        last = now if origin == here else contact.get(origin)
        origins.append(
            {
                "origin": origin,
                "events": int(seq),
                "newest_event_at": timeutil.from_ms(wall).isoformat() if wall else None,
                "last_heard_at": last.isoformat() if last else None,
                "this_node": origin == here,
            }
        )
    newest = max((int(w) for _, _, w in heads), default=0)
    return {
        "as_of": timeutil.from_ms(newest).isoformat() if newest else None,
        "node": here,
        "generated_at": now.isoformat(),
        "held": Held.objects.count(),
        "origins": origins,
    }
