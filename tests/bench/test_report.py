"""The benchmark report: one complete run in docs/benchmarks.md, the rest in the history,
and a goals table that judges what the run measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import common, goals


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setattr(common, "REPORT", tmp_path / "benchmarks.md")
    monkeypatch.setattr(common, "HISTORY", tmp_path / "benchmarks-history.md")
    return common.REPORT, common.HISTORY


def test_a_complete_run_replaces_the_report_and_keeps_the_one_before(
    report: tuple[Path, Path],
) -> None:
    current, history = report
    common.write_run("First run", "first body 111")
    assert "first body 111" in current.read_text()
    assert not history.exists()

    common.append_report("Search alone", "search body 222")  # a partial run
    assert "search body 222" not in current.read_text()
    assert "search body 222" in history.read_text()

    common.write_run("Second run", "second body 333")
    text = current.read_text()
    assert "second body 333" in text and "first body 111" not in text
    assert text.startswith("# Benchmarks\n") and text.count("\n## ") == 1
    kept = history.read_text()
    assert kept.startswith("# Benchmarks: earlier runs")
    # Oldest first: the partial run, then the complete run the second one replaced.
    assert kept.index("search body 222") < kept.index("first body 111")
    assert "Commit: `" in kept and "Machine: " in kept


def test_a_run_at_a_goals_scale_stays_beside_the_complete_run(
    report: tuple[Path, Path],
) -> None:
    current, history = report
    common.write_run("First run", "first body 111")
    common.write_goal_scale("Restore, at the goal's scale", "restore 1M body 444")
    text = current.read_text()
    assert text.index("restore 1M body 444") < text.index("first body 111")
    assert "restore 1M body 444" in history.read_text()  # the history has every run
    # A complete run replaces the complete run only; the one before goes to the history
    # once, without the run at the goal's scale (which is there already).
    common.write_run("Second run", "second body 333")
    text = current.read_text()
    assert "restore 1M body 444" in text and "second body 333" in text
    assert "first body 111" not in text and text.count("\n## ") == 2
    kept = history.read_text()
    assert kept.count("restore 1M body 444") == 1 and kept.count("first body 111") == 1
    # The next run at the goal's scale takes the place of the one before.
    common.write_goal_scale("Restore, at the goal's scale", "restore 1M body 555")
    text = current.read_text()
    assert "restore 1M body 555" in text and "restore 1M body 444" not in text
    assert text.index("restore 1M body 555") < text.index("second body 333")


def test_a_restore_below_the_goals_size_is_reported_not_judged() -> None:
    small = {"events": 10_012, "events_per_second": 4_768.0, "cpu_us_per_event": 368}
    text = goals.section({"restore": small})
    row = next(line for line in text.splitlines() if line.startswith("| restore at least"))
    assert "judged at 1M events" in row and "| **no** |" not in row
    assert "0 of " in text


def _setup(p95: float, slip_share_ms: float) -> dict[str, Any]:
    step = {"p50": 10.0, "p95": 20.0, "p99": 30.0, "mean": 12.0}
    return {
        "counters": 40,
        "totals": {
            "wall_register_visit_slip": {"p50": 100.0, "p95": p95, "p99": p95, "mean": 100.0},
            "server_register_visit_slip": {"p50": 90.0, "p95": p95 - 10, "p99": p95},
            "wall_register_read": {"p50": 20.0, "p95": 30.0, "p99": 40.0, "mean": 22.0},
        },
        "wall": {
            "slip": {**step, "mean": slip_share_ms},
            "register": step,
            "read": step,
            "visit": step,
        },
        "server": {"slip": step, "register": step, "read": step, "visit": step},
        "cpu_ms_per_patient": {"node": 150.0, "load generator": 10.0},
    }


def test_goals_are_judged_from_what_the_run_measured() -> None:
    idle = {
        "rss_mb": 310.0,
        "pss_mb": 240.0,
        "processes": 4,
        "by_kind": {"gunicorn master + workers": {"rss_mb": 240.0, "processes": 3}},
    }
    results: dict[str, Any] = {
        "load": {
            "setups": {
                "edge": {
                    **_setup(212.0, 75.0),
                    "idle": {**idle, "rss_mb": 250.0},
                    "idle_after_load": idle,
                },
                "hub": _setup(140, 70),
            }
        },
        "registration": {
            "create_read_wall": {"p50": 20.0, "p95": 30.0},
            "server": {"patient": {"p50": 9.0}, "read": {"p50": 6.0}},
        },
        "peer": {"rpc.register_patient(create+read)": {"median_ms": 60.0, "p95_ms": 130.0}},
        "restore": {
            "events": 1_000_000,
            "events_per_second": 4_200.0,
            "cpu_us_per_event": 323,
            "ingest_seconds": 19.0,
            "deferred_seconds": 4.8,
        },
        "hospital": {
            "scale": 0.01,
            "ingest": {"postgresql": {"events": 3_550, "events_per_second": 12_000.0}},
            "costs": {
                "postgresql": {
                    "events": 3_550,
                    "store_events_per_second": 20_000.0,
                    "project_seconds": 1.0,
                    "types": {"opd.visit_registered": {"events": 150, "seconds": 0.5}},
                }
            },
            "catch_up": {
                "seconds": 0.9,
                "pulled": 4_667,
                "day_events": 3_550,
                "events_per_second": 5_000.0,
            },
        },
    }
    text = goals.section(results)
    lines = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}

    def row(start: str) -> str:
        return next(line for key, line in lines.items() if key.startswith("| " + start))

    assert "| **no** |" in row("register + visit + slip p95 < 150 ms, 40 counters, edge")
    assert "the slip PDF is 75 %" in row("register + visit + slip p95 < 150 ms, 40 counters, edge")
    assert "| yes |" in row("register + visit + slip p95 < 150 ms, 40 counters, hub")
    assert "**4.3x**" in row("registration at least 4x") and "| yes |" in row("registration")
    assert "| yes |" in row("hub ingest > 10,000 events/s, postgresql")
    assert "verify + store alone 20,000 events/s" in row("hub ingest > 10,000 events/s, post")
    assert "not judged at scale 0.01" in row("a day of the whole hospital")
    assert "about 355,000 events" in row("a day of the whole hospital")
    assert "| yes |" in row(
        "an idle edge under 300 MB resident (RSS summed over its processes), after"
    )
    assert "| **no** |" in row(
        "an idle edge under 300 MB resident (RSS summed over its processes), again"
    )
    assert "PSS" in row("an idle edge")
    assert "| **no** |" in row("restore at least 20,000") and "4.8 s" in row("restore at least")
    assert "3 of 7 judged goals missed" in text


def test_a_result_of_another_shape_is_reported_not_fatal() -> None:
    text = goals.section({"restore": {"events": 10}})  # no rate: the builder fails
    assert "not summarised here (KeyError" in text


def test_a_restore_into_postgresql_is_reported_beside_the_judged_one() -> None:
    from bench import run

    def restored(engine: str, seconds: float) -> dict[str, Any]:
        return {
            "engine": engine,
            "events": 1_000_000,
            "origins": 2,
            "restore_seconds": seconds,
            "command_seconds": seconds + 1,
            "events_per_second": 1_000_000 / seconds,
            "with_worklist_events_per_second": 1_000_000 / (seconds + 100),
            "ingest_seconds": seconds - 4,
            "deferred_seconds": 4.0,
            "worklist_later": True,
            "worklist_seconds": 100.0,
            "worklist_line": "worked out",
            "worklist_peak_rss_mb": 1_600 if engine == "sqlite" else 1_700,
            "backup_line": "manifests/source/00000001.json",
            "backup_mb": 195.3,
            "backup_seconds": 40.0,
            "segments": 51,
            "verified": True,
            "patients_restored": 500_000,
            "patients_source": 500_000,
        }

    text = run.restore_section(restored("sqlite", 47.2), [restored("postgresql", 46.8)])
    rows = [line for line in text.splitlines() if line.startswith("| `nirantar restore`")]
    assert [row.split(" | ")[0] for row in rows] == [
        "| `nirantar restore` of a directory backup, SQLite",
        "| `nirantar restore` of a directory backup, PostgreSQL",
    ]
    assert "| 46.8 | 21,368 |" in rows[1]
    assert "SQLite and PostgreSQL (`python -m bench.restore`)" in text
    assert "The same restore into PostgreSQL" in text and "serves from 46.8 s" in text
    # The backfill's own memory, for each engine.
    assert "left to it: 100.0 s more, peak RSS 1,600 MB (worked out)" in text
    assert "left to it, 100.0 s more, peak RSS 1,700 MB" in text
