"""The dashboard's tables as CSV (one panel) and as an XLSX workbook (a sheet per panel,
and a first sheet saying what the figures cover and how fresh they are).

Counts and minutes are written as numbers, not text, so a spreadsheet can add them up.
Headers are in English; the workbook's second row gives them in Hindi.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from nirantar.mis.panels import PANELS, Report, Shown


def csv_bytes(shown: Shown) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read the Hindi names right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([h.english for h in shown.columns])
    for row in shown.rows:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _about(report: Report) -> list[list[Any]]:
    fresh = report.freshness
    rows: list[list[Any]] = [
        ["Report", "Nirantar MIS"],
        ["From", report.period.start],
        ["To", report.period.end],
        ["Department", report.department or "all"],
        ["Ward", report.ward or "all"],
        ["Data as of (UTC)", fresh["as_of"] or "no events"],
        ["Generated at (UTC)", fresh["generated_at"]],
        ["Node", fresh["node"]],
        ["Events held back (waiting for earlier ones)", fresh["held"]],
        [],
        ["Origin node", "Events", "Newest event (UTC)", "Last heard from (UTC)"],
    ]
    for o in fresh["origins"]:
        rows.append(
            [o["origin"], o["events"], o["newest_event_at"] or "", o["last_heard_at"] or "never"]
        )
    return rows


def xlsx_bytes(report: Report) -> bytes:
    # Imported here: openpyxl brings numpy and Pillow, ~28 MB in every server process,
    # for a download the MIS desk makes a few times a day.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    about = book.active
    assert about is not None
    about.title = "About"
    for row in _about(report):
        about.append(row)
    about["A1"].font = Font(bold=True)
    about.column_dimensions["A"].width = 44
    about.column_dimensions["B"].width = 28
    for panel in PANELS:
        shown = panel.show(report)
        sheet = book.create_sheet(panel.sheet)
        sheet.append([h.english for h in shown.columns])
        sheet.append([h.hindi for h in shown.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in shown.rows:
            sheet.append(row)
        for n, heading in enumerate(shown.columns):
            letter = sheet.cell(row=1, column=n + 1).column_letter
            sheet.column_dimensions[letter].width = max(12, len(heading.english) + 2)
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
