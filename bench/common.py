"""Shared pieces of the benchmarks: percentiles, the machine, the report file."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
REPORT = ROOT / "docs" / "benchmarks.md"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores{memory}, {system}, Python {platform.python_version()}"


def commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            # docs/ is what a run writes (this report, the search plot): not the code run.
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        return sha + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


HISTORY = ROOT / "docs" / "benchmarks-history.md"
REPORT_HEAD = (
    "# Benchmarks\n\n"
    "Every figure in this file comes from one complete run of the benchmarks (`make bench`, "
    "or `make bench-quick` at the small sizes), with the machine, date and commit it ran on "
    "under the heading. Its first table is every goal that run could judge and where the "
    "time went. Each complete run replaces this file and moves the one before it to "
    "[benchmarks-history.md](benchmarks-history.md); single benchmarks run on their own "
    "(`python -m bench.run --only NAME`, often at the full sizes) are appended there. "
    "Figures on these shared machines vary by about 25 % from run to run; compare figures "
    "only within one run. A goal set at a size no complete run reaches (the restore of "
    "1,000,000 events) is judged by the newest run of that benchmark at that size, kept "
    "here above the complete run until the next one.\n"
)
# Where the report keeps the newest run at a goal's scale, between the head and the run.
GOAL_SCALE_START = "\n<!-- newest run at a goal's scale -->\n"
GOAL_SCALE_END = "<!-- end of the run at a goal's scale -->\n"
HISTORY_HEAD = (
    "# Benchmarks: earlier runs\n\n"
    "Runs replaced in [benchmarks.md](benchmarks.md) by a newer complete run, and single "
    "benchmarks run on their own, oldest first, each with the machine, date and commit it "
    "ran on. Figures from different runs are not comparable to better than about 25 %.\n"
)


def _entry(title: str, body: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"\n## {title} — {stamp}\n\nMachine: {machine()}. Commit: `{commit()}`.\n\n{body}\n"


def _to_history(text: str) -> None:
    if not text.strip():
        return
    HISTORY.parent.mkdir(parents=True, exist_ok=True)
    if not HISTORY.exists():
        HISTORY.write_text(HISTORY_HEAD, encoding="utf-8")
    with HISTORY.open("a", encoding="utf-8") as handle:
        handle.write(text if text.startswith("\n") else "\n" + text)


def append_report(title: str, body: str) -> None:
    """Some benchmarks only: appended to the history, the report stays one run's."""
    _to_history(_entry(title, body))


def _report_parts() -> tuple[str, str]:
    """The report's run at a goal's scale (with its markers) and its complete run."""
    if not REPORT.exists():
        return "", ""
    text = REPORT.read_text(encoding="utf-8")
    start, end = text.find(GOAL_SCALE_START), text.find(GOAL_SCALE_END)
    scale = ""
    if start >= 0 and end > start:
        scale = text[start : end + len(GOAL_SCALE_END)]
        text = text[:start] + text[end + len(GOAL_SCALE_END) :]
    begin = text.find("\n## ")  # after the file's own head
    return scale, text[begin:] if begin >= 0 else ""


def write_run(title: str, body: str) -> None:
    """A complete run: it becomes the report; what the report held moves to the history
    (the run at a goal's scale stays until the next such run)."""
    scale, run = _report_parts()
    _to_history(run)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(REPORT_HEAD + scale + _entry(title, body), encoding="utf-8")


def write_goal_scale(title: str, body: str) -> None:
    """A single benchmark run at its goal's scale: appended to the history, and it takes
    the report's place for such a run, above the complete run."""
    entry = _entry(title, body)
    _to_history(entry)
    _, run = _report_parts()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        REPORT_HEAD + GOAL_SCALE_START + entry + GOAL_SCALE_END + run, encoding="utf-8"
    )
