"""Restore from a backup: `nirantar backup` of a node holding real events, then
`nirantar restore` onto a fresh data directory, timed - decrypt, check every segment,
verify the chains and the signatures that vouch for them, ingest, project.

The source is the sync benchmark's node (patients registered through the real actions, a
registration and a visit each; cached in bench/out/). Both commands run as their own
processes, as an IT team would run them; the restored node is then checked with
`nirantar verify` and its patients counted against the source's. ``--engine postgresql``
restores into a database on a throwaway PostgreSQL server with its durable defaults (a
hub's restore), started on this machine for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.sync import source_node

TARGET = 20_000  # events restored a second (the goal on this machine)
GOAL_EVENTS = 1_000_000  # ... at this size (a smaller run is reported, not judged)


TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def nirantar(
    data_dir: Path | None, *args: str, measure: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run a nirantar command as its own process; ``measure``: under GNU time, whose last
    line of stderr is then the process's peak resident memory in KiB and its CPU seconds
    (user, system; with the worker processes it waited for)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NIRANTAR_"))}
    env.update({"NIRANTAR_PRINT_WARMUP": "0", "NIRANTAR_LOG_LEVEL": "WARNING"})
    head = [sys.executable, "-m", "nirantar.cli"]
    if measure and TIME:
        head = [TIME, "-f", "%M %U %S", *head]
    if data_dir is not None:
        head += ["--data-dir", str(data_dir)]
    return subprocess.run(
        [*head, *args], env=env, capture_output=True, text=True, check=True, timeout=7200
    )


def count(data_dir: Path, sql: str, database: str = "") -> int:
    if database:
        import psycopg

        with psycopg.connect(database) as pg:
            return int(pg.execute(sql).fetchone()[0])  # type: ignore[index]
    with sqlite3.connect(data_dir / "nirantar.sqlite3") as db:
        return int(db.execute(sql).fetchone()[0])


def measured(done: subprocess.CompletedProcess[str]) -> tuple[int | None, float | None]:
    """The peak RSS (MB) and CPU seconds ``time`` measured of a command run with
    ``measure``: None where there is no ``time`` here."""
    if not TIME:
        return None, None
    peak, user, system = done.stderr.strip().splitlines()[-1].split()
    return (round(int(peak) / 1024) if peak.isdigit() else None), float(user) + float(system)


ENGINES = ("sqlite", "postgresql")


def run(events: int = 100_000, engine: str = "sqlite") -> dict[str, Any]:
    if engine not in ENGINES:
        raise ValueError(f"engine is one of {ENGINES}")
    with tempfile.TemporaryDirectory(prefix="nirantar-restore-") as tmp:
        database, server = "", None
        # A directory of its own: the server runs as `postgres` when this runs as root.
        base = Path(tempfile.mkdtemp(prefix="nirantar-pg-"))
        try:
            if engine == "postgresql":
                from bench.hub import start_postgres

                database, server = start_postgres(base)
            result = _run(Path(tmp), events, database)
        finally:
            if server is not None:
                server.stop()
            shutil.rmtree(base, ignore_errors=True)
    result["engine"] = engine
    return result


def _run(root: Path, events: int, database: str) -> dict[str, Any]:
    source = root / "source"
    shutil.copytree(source_node(events), source)
    nirantar(None, "backup-key", "new", str(root / "bench"))
    started = time.perf_counter()
    made = nirantar(source, "backup", "--to", str(root / "dest"), "--key", str(root / "bench.pub"))
    backup_seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (root / "dest").rglob("*") if p.is_file())
    started = time.perf_counter()
    restored = nirantar(
        root / "restored",
        "restore",
        "--from",
        str(root / "dest"),
        "--key",
        str(root / "bench.key"),
        "--node",
        "restored",
        *(("--database", database) if database else ()),
        measure=True,
    )
    seconds = time.perf_counter() - started
    # The restoring process's own peak (its worker processes open segments and score
    # duplicate pairs beside it); CPU counts theirs too. Load: the machine is shared.
    peak, cpu = measured(restored)
    load = os.getloadavg()
    report = re.search(r"restored ([\d,]+) events of (\d+) origins in ([\d.]+) s", restored.stdout)
    assert report, restored.stdout
    phases = re.search(
        r"events in after ([\d.]+) s; name index and [a-z ]+ ([\d.]+) s", restored.stdout
    )
    # From LATER_FROM patients the restore leaves the duplicate worklist's pairs to the
    # node (it serves meanwhile): worked out here at once, timed on its own.
    later = "left to the node" in restored.stdout
    worklist_seconds = worklist_cpu = worklist_peak = None
    if later:
        started = time.perf_counter()
        filled = nirantar(root / "restored", "dedupe", "backfill", measure=True)
        worklist_seconds = time.perf_counter() - started
        worklist_line = filled.stdout.strip().splitlines()[-1]
        worklist_peak, worklist_cpu = measured(filled)
    verified = nirantar(root / "restored", "verify").stdout.startswith("OK:")
    patients = "SELECT count(*) FROM registration_patient"
    result: dict[str, Any] = {
        "events": int(report.group(1).replace(",", "")),
        "origins": int(report.group(2)),
        "restore_seconds": float(report.group(3)),
        "command_seconds": seconds,
        "ingest_seconds": float(phases.group(1)) if phases else None,
        "deferred_seconds": float(phases.group(2)) if phases else None,
        "worklist_later": later,
        "worklist_seconds": worklist_seconds,
        "worklist_cpu_seconds": worklist_cpu,
        "worklist_peak_rss_mb": worklist_peak,  # the backfill process's own
        "worklist_line": worklist_line if later else None,
        "backup_seconds": backup_seconds,
        "backup_mb": round(size / 2**20, 1),
        "segments": len(list((root / "dest" / "segments").iterdir())),
        "backup_line": made.stdout.strip(),
        "source_events": count(source, "SELECT count(*) FROM ledger_event"),
        "patients_source": count(source, patients),
        "patients_restored": count(root / "restored", patients, database),
        "verified": verified,
        "peak_rss_mb": peak,
        "cpu_seconds": cpu,
        "load_average": [round(x, 2) for x in load],
        "duplicate_pairs": count(root / "restored", "SELECT count(*) FROM dedupe_pair", database),
        "database_mb": round(
            count(root, "SELECT pg_database_size(current_database())", database) / 2**20
            if database
            else (root / "restored" / "nirantar.sqlite3").stat().st_size / 2**20
        ),
    }
    result["events_per_second"] = result["events"] / result["restore_seconds"]
    # With the worklist worked out after the restore, if it was left for later: the goal
    # is judged on this one, the whole of the projections.
    whole = result["restore_seconds"] + (worklist_seconds or 0.0)
    result["with_worklist_events_per_second"] = result["events"] / whole
    if result["cpu_seconds"]:
        cpu = result["cpu_seconds"] + (worklist_cpu or 0.0)
        result["cpu_us_per_event"] = round(cpu / result["events"] * 1e6)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--engine", choices=ENGINES, default="sqlite")
    args = parser.parse_args()
    print(json.dumps(run(args.events, args.engine), indent=2))


if __name__ == "__main__":
    main()
