"""Sync benchmarks on real node processes:

* catch-up: a node that was away misses N events (a registration and a visit per
  patient, written through the real actions); how long until it has them all;
* lag: while two nodes are connected, how long a registration at one takes to be
  stored at the other (the receiver's arrival time minus the event's timestamp;
  both nodes share this machine's clock).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import OUT, summary
from tests.system.node import NodeProcess

SCHEMA = "s3"
QUIET = {"NIRANTAR_PRINT_WARMUP": "0", "NIRANTAR_LOG_LEVEL": "WARNING"}


def source_node(events: int) -> Path:
    """A node holding ``events`` events of its own (cached in bench/out/)."""
    patients = events // 2
    # The schema is part of the name: a node made by older code is not reused.
    cached = OUT / f"sync-source-{SCHEMA}-{patients}"
    if (cached / "generated").exists():
        return cached
    if cached.exists():
        shutil.rmtree(cached)
    env = {**os.environ, "NIRANTAR_DATA_DIR": str(cached)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "-m", "nirantar.cli", "init", "--node", "source", "--number", "101"],
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"  writing {patients:,} patients on the source node ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "bench.generate", str(cached), str(patients)], env=env, check=True
    )
    (cached / "generated").write_text(f"{patients} patients\n")
    return cached


def catch_up(events: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nirantar-sync-") as tmp:
        source_dir = Path(tmp) / "source"
        shutil.copytree(source_node(events), source_dir)
        source = NodeProcess(source_dir, "source", 101, extra_env=QUIET)
        source.start(workers=2, threads=4, sync_interval=3600)
        try:
            away = NodeProcess(Path(tmp) / "away", "away", extra_env=QUIET)
            code = away.join(source.url)
            source.run("enrol", "approve", code, "--number", "102")
            # Enrol (takes the authority chain), then time the catch-up itself in-process.
            script = (
                "import os, time, json, django\n"
                "django.setup()\n"
                "from pathlib import Path\n"
                "from django.conf import settings\n"
                "from nirantar.ledger.syncer import Syncer\n"
                "from nirantar.ledger.writer import node\n"
                "from nirantar.ledger import sync\n"
                "from nirantar.ledger.syncer import join_state\n"
                "sync.complete_join(node(), join_state(Path(settings.DATA_DIR))['hub'])\n"
                "s = Syncer(node(), Path(settings.DATA_DIR))\n"
                "before = node().store.count()\n"
                "import cProfile, pstats, io\n"
                "pr = cProfile.Profile() if os.environ.get('BENCH_PROFILE') else None\n"
                "pr and pr.enable()\n"
                "t = time.perf_counter(); r = s.run_once(force=True); t = time.perf_counter() - t\n"
                "pr and pr.disable()\n"
                "pr and pstats.Stats(pr).sort_stats('cumulative').print_stats(35)\n"
                "print(json.dumps({'seconds': t, 'pulled': sum(e.pulled for e in r.exchanged),"
                " 'before': before, 'after': node().store.count(),"
                " 'failed': r.failed}))\n"
            )
            env = {
                **away.env,
                "DJANGO_SETTINGS_MODULE": "nirantar.settings",
                "BENCH_PROFILE": os.environ.get("BENCH_PROFILE", ""),
            }
            done = subprocess.run(
                [sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True
            )
            if os.environ.get("BENCH_PROFILE"):
                print(done.stdout)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            verified = away.run("verify").returncode == 0
        finally:
            source.stop()
    result["events_per_second"] = result["pulled"] / result["seconds"]
    result["verified"] = verified
    return result


def lag(seconds: int = 60, rate: float = 5.0) -> dict[str, Any]:
    """Two connected nodes; registrations at one, at ``rate`` a second, seen at the other."""
    with tempfile.TemporaryDirectory(prefix="nirantar-lag-") as tmp:
        a = NodeProcess(Path(tmp) / "a", "counter-a", 101, extra_env=QUIET)
        a.init()
        a.start(workers=2, threads=4)
        b = NodeProcess(Path(tmp) / "b", "counter-b", extra_env=QUIET)
        code = b.join(a.url, own_url=b.url)
        a.run("enrol", "approve", code, "--number", "102")
        b.start(workers=2, threads=4)
        try:
            time.sleep(5)  # enrolled, synced
            started = time.time() * 1000
            stop = time.monotonic() + seconds
            sent = 0
            while time.monotonic() < stop:
                tick = time.monotonic()
                status, _ = a.json(
                    "POST", "/api/v1/patients", {"name_en": "Lag Test", "sex": "F", "age_years": 40}
                )
                assert status == 201
                sent += 1
                time.sleep(max(0.0, 1 / rate - (time.monotonic() - tick)))
            time.sleep(5)  # let the last ones arrive
        finally:
            a.stop()
            b.stop()
        with sqlite3.connect(b.data_dir / "nirantar.sqlite3") as db:
            rows = db.execute(
                "SELECT hlc_wall, received_at FROM ledger_event WHERE origin = 'counter-a' "
                "AND type = 'registration.patient_registered' AND hlc_wall >= ?",
                (started,),
            ).fetchall()
    from datetime import datetime

    lags = [datetime.fromisoformat(received).timestamp() * 1000 - wall for wall, received in rows]
    return {"sent": sent, "arrived": len(rows), "lag_ms": summary(lags)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--lag-seconds", type=int, default=60)
    args = parser.parse_args()
    result = {"catch_up": catch_up(args.events), "lag": lag(args.lag_seconds)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
