"""The dashboard as a list of panels. Each panel turns a report's figures into a chart
and a table; the screen, the CSV and the XLSX all come from that one table, so they
always show the same numbers.

A new panel is one more ``Panel`` in ``PANELS``. Money is read in integer paise
(billing's ``collections``) and shown and exported in rupees, as exact decimals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from nirantar.billing import queries as billing_queries
from nirantar.mis import charts, queries


@dataclass
class Report:
    """One request's choice - the days and the filters - and its figures, each read once
    however many panels show it."""

    period: queries.Period
    department: str = ""
    ward: str = ""
    hindi: bool = False

    @cached_property
    def opd(self) -> dict[str, Any]:
        return queries.opd(self.period, self.department)

    @cached_property
    def lab(self) -> dict[str, Any]:
        return queries.lab_turnaround(self.period)

    @cached_property
    def beds(self) -> dict[str, Any]:
        return queries.beds(self.period, self.ward)

    @cached_property
    def collections(self) -> dict[str, Any]:
        return billing_queries.collections(self.period.start, self.period.end)

    @cached_property
    def freshness(self) -> dict[str, Any]:
        return queries.freshness()


@dataclass(frozen=True)
class Heading:
    english: str  # the export's header and the msgid

    @property
    def shown(self) -> str:
        return str(_(self.english))

    @property
    def hindi(self) -> str:
        with translation.override("hi"):
            return str(_(self.english))


@dataclass
class Shown:
    """What a panel shows for one report."""

    panel: Panel
    chart: charts.BarChart | charts.HourChart
    columns: list[Heading]
    rows: list[list[Any]]
    basis: str = ""  # when the figures are from, where it is not the range itself
    summary: list[tuple[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Panel:
    key: str
    title: Any  # lazily translated
    sheet: str  # the workbook's sheet (English, at most 31 characters)
    definition: Any
    show: Callable[[Report], Shown]


# The tables' column headings: English in the exports, translated on the screen and in the
# workbook's second row (listed here so that makemessages finds them).
HEADINGS = [
    gettext_noop("Department code"),
    gettext_noop("Department"),
    gettext_noop("Department (Hindi)"),
    gettext_noop("Visits"),
    gettext_noop("Hour"),
    gettext_noop("New"),
    gettext_noop("Returning"),
    gettext_noop("Section"),
    gettext_noop("Section (Hindi)"),
    gettext_noop("Samples"),
    gettext_noop("Median (minutes)"),
    gettext_noop("90th percentile (minutes)"),
    gettext_noop("Ward code"),
    gettext_noop("Ward"),
    gettext_noop("Ward (Hindi)"),
    gettext_noop("Beds"),
    gettext_noop("Occupied"),
    gettext_noop("Occupancy (%)"),
    gettext_noop("Counter"),
    gettext_noop("Cash (Rs)"),
    gettext_noop("UPI (Rs)"),
    gettext_noop("Card (Rs)"),
    gettext_noop("Total (Rs)"),
]


def _h(*names: str) -> list[Heading]:
    assert set(names) <= set(HEADINGS), names
    return [Heading(n) for n in names]


def _opd_departments(report: Report) -> Shown:
    rows = report.opd["by_department"]
    items = [
        charts.Item(r["department"], r["name_en"], r["name_hi"], r["visits"], str(r["visits"]))
        for r in rows
    ]
    return Shown(
        PANELS_BY_KEY["opd-departments"],
        charts.bar_chart(items, axis=str(_("Visits")), hindi=report.hindi),
        _h("Department code", "Department", "Department (Hindi)", "Visits"),
        [[r["department"], r["name_en"], r["name_hi"], r["visits"]] for r in rows],
        summary=[(str(_("Visits")), report.opd["total"])],
    )


def _opd_hours(report: Report) -> Shown:
    hours = report.opd["by_hour"]
    return Shown(
        PANELS_BY_KEY["opd-hours"],
        charts.hour_chart([h["visits"] for h in hours], axis=str(_("Hour of the day"))),
        _h("Hour", "Visits"),
        [[f"{h['hour']:02d}:00-{(h['hour'] + 1) % 24:02d}:00", h["visits"]] for h in hours],
        summary=[(str(_("Visits")), report.opd["total"])],
    )


def _share(part: int, whole: int) -> str:
    return f"{part} ({round(100 * part / whole)}%)" if whole else str(part)


def _new_returning(report: Report) -> Shown:
    opd = report.opd
    total = opd["total"]
    new_en, new_hi = "New", Heading("New").hindi
    back_en, back_hi = "Returning", Heading("Returning").hindi
    items = [
        charts.Item("new", new_en, new_hi, opd["new"], _share(opd["new"], total)),
        charts.Item(
            "returning", back_en, back_hi, opd["returning"], _share(opd["returning"], total)
        ),
    ]
    return Shown(
        PANELS_BY_KEY["new-returning"],
        charts.bar_chart(items, axis=str(_("Visits")), hindi=report.hindi),
        _h("Department code", "Department", "Department (Hindi)", "New", "Returning"),
        [
            [r["department"], r["name_en"], r["name_hi"], r["new"], r["returning"]]
            for r in opd["by_department"]
        ],
        summary=[(str(_("New")), opd["new"]), (str(_("Returning")), opd["returning"])],
    )


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _lab_turnaround(report: Report) -> Shown:
    sections = report.lab["sections"]
    items = [
        charts.Item(
            s["section"],
            s["section"].capitalize(),
            s["name_hi"],
            s["median_minutes"] or 0,
            f"{_minutes(s['median_minutes'])} / {_minutes(s['p90_minutes'])}"
            if s["samples"]
            else str(_("no samples")),
            back=s["p90_minutes"],
        )
        for s in sections
    ]
    return Shown(
        PANELS_BY_KEY["lab-turnaround"],
        charts.bar_chart(
            items,
            axis=str(_("Minutes from collection to verification")),
            hindi=report.hindi,
            legend=[("median", str(_("Median"))), ("p90", str(_("90th percentile")))],
        ),
        _h(
            "Section",
            "Section (Hindi)",
            "Samples",
            "Median (minutes)",
            "90th percentile (minutes)",
        ),
        [
            [s["section"], s["name_hi"], s["samples"], s["median_minutes"], s["p90_minutes"]]
            for s in sections
        ],
        summary=[(str(_("Samples")), report.lab["samples"])],
    )


def _beds(report: Report) -> Shown:
    beds = report.beds
    items = [
        charts.Item(
            r["ward"],
            r["name_en"],
            r["name_hi"],
            r["occupancy"],
            f"{r['occupied']}/{r['beds']} · {r['occupancy']:g}%",
        )
        for r in beds["wards"]
    ]
    if beds["basis"] == "now":
        basis = str(_("Now"))
    else:
        basis = str(_("Midnight census at the end of %(day)s")) % {
            "day": report.period.end.isoformat()
        }
    return Shown(
        PANELS_BY_KEY["beds"],
        charts.bar_chart(items, axis=str(_("Beds occupied (%)")), hindi=report.hindi, top=100),
        _h("Ward code", "Ward", "Ward (Hindi)", "Beds", "Occupied", "Occupancy (%)"),
        [
            [r["ward"], r["name_en"], r["name_hi"], r["beds"], r["occupied"], r["occupancy"]]
            for r in beds["wards"]
        ],
        basis=basis,
        summary=[
            (str(_("Occupied")), beds["occupied"]),
            (str(_("Beds")), beds["beds"]),
            (str(_("Occupancy (%)")), beds["occupancy"]),
        ],
    )


def rupees(paise: int) -> Decimal:
    """Paise as an exact amount of rupees (never a float)."""
    return (Decimal(paise) / 100).quantize(Decimal("0.01"))


def _collections(report: Report) -> Shown:
    found = report.collections
    modes = ("cash", "upi", "card")
    per_counter = found["by_counter_mode"]
    counters = sorted(found["by_counter"])
    items = [
        charts.Item(
            c,
            f"Counter {c}",
            f"{Heading('Counter').hindi} {c}",
            float(rupees(found["by_counter"][c])),
            f"Rs {rupees(found['by_counter'][c]):,}",
        )
        for c in counters
    ]
    rows = [
        [
            c,
            *(rupees(per_counter.get(c, {}).get(m, 0)) for m in modes),
            rupees(found["by_counter"][c]),
        ]
        for c in counters
    ]
    return Shown(
        PANELS_BY_KEY["collections"],
        charts.bar_chart(items, axis=str(_("Net collections (Rs)")), hindi=report.hindi),
        _h("Counter", "Cash (Rs)", "UPI (Rs)", "Card (Rs)", "Total (Rs)"),
        rows,
        summary=[
            (str(_("Total (Rs)")), rupees(found["total"])),
            (str(_("Cash (Rs)")), rupees(found["by_mode"]["cash"])),
            (str(_("UPI (Rs)")), rupees(found["by_mode"]["upi"])),
            (str(_("Card (Rs)")), rupees(found["by_mode"]["card"])),
        ],
    )


PANELS: list[Panel] = [
    Panel(
        "opd-departments",
        _("OPD visits by department"),
        "OPD by department",
        _("Visits registered at the OPD counters on the chosen days, by department."),
        _opd_departments,
    ),
    Panel(
        "opd-hours",
        _("OPD visits by hour of the day"),
        "OPD by hour",
        _(
            "Visits by the hour of the hospital's day (India time) they were registered in, "
            "added up over the chosen days."
        ),
        _opd_hours,
    ),
    Panel(
        "new-returning",
        _("New and returning patients"),
        "New and returning",
        _(
            "A visit is new when it is the patient's first visit ever recorded (under any "
            "UHID merged into the same record); every later visit is returning."
        ),
        _new_returning,
    ),
    Panel(
        "lab-turnaround",
        _("Lab turnaround by section"),
        "Lab turnaround",
        _(
            "Minutes from sample collection to verification of the result, for samples "
            "collected on the chosen days and verified so far: median and 90th percentile."
        ),
        _lab_turnaround,
    ),
    Panel(
        "beds",
        _("Bed occupancy by ward"),
        "Bed occupancy",
        _(
            "Occupied beds against beds in service. Today: the beds now. A past day: the "
            "patients in each ward at the midnight census that ended it."
        ),
        _beds,
    ),
    Panel(
        "collections",
        _("Collections by counter and mode"),
        "Collections",
        _(
            "Money taken at each counter on the chosen business days, by cash, UPI and "
            "card, less refunds once approved (counted on the day of the payment they return)."
        ),
        _collections,
    ),
]
PANELS_BY_KEY = {p.key: p for p in PANELS}
