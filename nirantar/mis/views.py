"""The MIS screens: the dashboard (any range of days, a department or ward filter), each
panel as CSV, and the whole dashboard as one XLSX workbook.

The figures are counts: no patient is named or numbered, so nothing here is written to
the audit log of reads (the right to see them is checked on every route all the same).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from nirantar import timeutil
from nirantar.errors import ActionError
from nirantar.mis import export, queries
from nirantar.mis.panels import PANELS, PANELS_BY_KEY, Report
from nirantar.mis.permissions import READ
from nirantar.web.screens import screen


def _report(request: HttpRequest) -> Report:
    """The report the query string asks for; ActionError names a field that is wrong."""
    chosen = queries.period(request.GET.get("from"), request.GET.get("to"))
    return Report(
        chosen,
        department=queries.department(request.GET.get("department")),
        ward=queries.ward(request.GET.get("ward")),
        hindi=(get_language() or "").startswith("hi"),
    )


def _query(report: Report) -> str:
    parts = [f"from={report.period.start.isoformat()}", f"to={report.period.end.isoformat()}"]
    if report.department:
        parts.append(f"department={report.department}")
    if report.ward:
        parts.append(f"ward={report.ward}")
    return "&".join(parts)


def _shortcuts() -> list[tuple[str, str, str, str]]:
    """(label key, from, to, access key) for the quick ranges."""
    today = timeutil.today()
    month = today.replace(day=1)
    yesterday = (today - timedelta(days=1)).isoformat()
    return [
        ("today", today.isoformat(), today.isoformat(), "t"),
        ("yesterday", yesterday, yesterday, "y"),
        ("week", (today - timedelta(days=6)).isoformat(), today.isoformat(), "w"),
        ("month", month.isoformat(), today.isoformat(), "m"),
    ]


@require_GET
@screen(READ.name)
def dashboard(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "departments": queries.departments(),
        "wards": queries.ward_list(),
        "shortcuts": _shortcuts(),
        "max_days": queries.MAX_DAYS,
        "chosen": {
            "from": request.GET.get("from", "")[:20],
            "to": request.GET.get("to", "")[:20],
            "department": request.GET.get("department", "")[:20].upper(),
            "ward": request.GET.get("ward", "")[:20].upper(),
        },
    }
    status = 200
    try:
        report = _report(request)
    except ActionError as exc:
        context["error"] = exc
        status = exc.status
    else:
        context.update(
            report=report,
            shown=[panel.show(report) for panel in PANELS],
            freshness=_freshness_view(report.freshness),
            query=_query(report),
        )
        context["chosen"].update(
            {"from": report.period.start.isoformat(), "to": report.period.end.isoformat()}
        )
    template = "mis/_panels.html" if request.headers.get("HX-Request") else "mis/dashboard.html"
    return render(request, template, context, status=status)


def _ago(iso: str | None, now: Any) -> dict[str, Any]:
    if not iso:
        return {"at": None, "minutes": None}
    moment = datetime.fromisoformat(iso)
    return {
        "at": timeutil.local(moment).strftime("%d-%m-%Y %H:%M"),  # India time
        "minutes": max(0, int((now - moment).total_seconds() // 60)),
    }


def _freshness_view(fresh: dict[str, Any]) -> dict[str, Any]:
    now = timeutil.now()
    return {
        **fresh,
        "as_of_local": _ago(fresh["as_of"], now),
        "origins": [
            {
                **o,
                "newest": _ago(o["newest_event_at"], now),
                "heard": _ago(o["last_heard_at"], now),
            }
            for o in fresh["origins"]
        ],
    }


def _refused(exc: ActionError) -> HttpResponse:
    detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    text = exc.message + (f" ({detail})" if detail else "")
    return HttpResponse(text, status=exc.status, content_type="text/plain; charset=utf-8")


@require_GET
@screen(READ.name)
def export_csv(request: HttpRequest) -> HttpResponse:
    panel = PANELS_BY_KEY.get(request.GET.get("panel", ""))
    if panel is None:
        return _refused(
            ActionError("choose a panel", {"panel": "one of " + ", ".join(PANELS_BY_KEY)})
        )
    try:
        report = _report(request)
    except ActionError as exc:
        return _refused(exc)
    response = HttpResponse(export.csv_bytes(panel.show(report)), content_type="text/csv")
    name = f"mis-{panel.key}-{report.period.start.isoformat()}-{report.period.end.isoformat()}"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@require_GET
@screen(READ.name)
def export_xlsx(request: HttpRequest) -> HttpResponse:
    try:
        report = _report(request)
    except ActionError as exc:
        return _refused(exc)
    response = HttpResponse(
        export.xlsx_bytes(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"mis-{report.period.start.isoformat()}-{report.period.end.isoformat()}"
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
