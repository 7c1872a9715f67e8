#!/usr/bin/env python3
"""Generate icd10.tsv (code<TAB>title) from the pinned simple-icd-10-cm package.

Source data: ICD-10-CM April 2026 release (CDC/NCHS, a US-government work),
bundled inside simple-icd-10-cm==1.5.0 (library code under the MIT licence).

Rows kept, i.e. the codes a clinician would choose:
  * 3-character categories that have no children        (e.g. I10, A09)
  * every 4-character subcategory, leaf or not            (e.g. E11.9, A01.0, K29.7)
  * every 5-character code, counted without the dot     (e.g. A01.00, K29.70)
6- and 7-character ICD-10-CM codes (laterality/encounter detail) are dropped.

Usage:  pip install simple-icd-10-cm==1.5.0
        python scripts/make_icd10_tsv.py [OUTPUT_PATH]
        (default: nirantar/opd/data/icd10.tsv, which the app ships)
Output: UTF-8, LF line endings, header "code\ttitle", codes with the dot, sorted.
"""

from __future__ import annotations

import csv
import sys
from importlib.metadata import version
from pathlib import Path

PINNED = "1.5.0"


def clinician_codes() -> list[tuple[str, str]]:
    import simple_icd_10_cm as cm  # type: ignore[import-not-found]

    found = version("simple-icd-10-cm")
    if found != PINNED:
        raise SystemExit(f"expected simple-icd-10-cm=={PINNED}, found {found}")

    rows: dict[str, str] = {}
    for code in cm.get_all_codes(with_dots=True):
        # get_all_codes() lists B20, F99, P84, R99, Z66 twice (once as a
        # one-category block, once as the category): the dict keeps one row.
        if not cm.is_category_or_subcategory(code):  # skip chapters and blocks
            continue
        n = len(code.replace(".", ""))
        if n == 3 and not cm.is_leaf(code):  # 3-char with children: skip
            continue
        if n > 5:  # 6-7 char CM detail: skip
            continue
        title = " ".join(cm.get_description(code).split())  # no tabs/newlines
        rows[code] = title
    return sorted(rows.items())


def main() -> None:
    default = Path(__file__).resolve().parent.parent / "nirantar/opd/data/icd10.tsv"
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    rows = clinician_codes()
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
        w.writerow(("code", "title"))
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
