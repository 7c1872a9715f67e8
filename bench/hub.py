"""Benchmarks on the synthetic hospital (bench/hospital.py):

* ingest: a fresh hub takes the day's events as sync delivers them - NDJSON batches,
  each origin's events in runs of up to 1,000, parsed and passed to
  ``sync.ingest_remote`` (what the /sync/push endpoint calls), in-process: verify +
  store + project, events/s. On SQLite and on PostgreSQL (the hub's database, a
  server started for the run with its durable defaults).
* rebuild: ``operations.rebuild()`` (what `nirantar rebuild` runs) on that hub, all
  projections from the whole log, events/s.
* catch-up: a real hub process (`nirantar serve`) holding the whole log; a fresh edge
  enrolled into the hospital runs one sync round; seconds for everything.

    python -m bench.hub --scale 0.01 [--only ingest|rebuild|catch-up]
        [--engines sqlite,postgresql] [--no-push]
    python -m bench.hub --scale 0.01 --costs   # where ingest time goes, by event type
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import hospital

INGEST_TARGET = 10_000  # events/s
CATCH_UP_TARGET = 60  # seconds for a day of the whole hospital
QUIET = {"NIRANTAR_PRINT_WARMUP": "0", "NIRANTAR_LOG_LEVEL": "WARNING"}


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NIRANTAR_"))}
    env.update(QUIET)
    return env


def _worker(log_dir: Path, data_dir: Path, seed: int, database: str) -> dict[str, Any]:
    """In a process of its own: a fresh hub takes the founding and history (not timed),
    then the days (timed); then every projection is rebuilt (timed)."""
    hospital.setup_node(data_dir, seed, database)
    os.environ["NIRANTAR_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "nirantar.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from nirantar import operations

    call_command("migrate", interactive=False, verbosity=0)
    meta = json.loads((log_dir / "meta.json").read_text())
    before = meta["parts"]["founding"] + meta["parts"]["history"]
    path = log_dir / "hospital.ndjson"
    first = hospital.ingest_file(path, upto=before)
    day = hospital.ingest_file(path, skip=before)
    clean = not (day["held"] or day["rejected"] or day["alarms"] or first["alarms"])
    started = time.perf_counter()
    count, _ = operations.rebuild()
    rebuilt = time.perf_counter() - started
    return {
        "engine": "postgresql" if database else "sqlite",
        "before": before,
        "events": day["events"],
        "accepted": day["accepted"],
        "clean": clean,
        "problems": {k: day[k] for k in ("held", "rejected", "alarms")},
        "seconds": day["seconds"],
        "events_per_second": day["accepted"] / day["seconds"],
        "rebuild_events": count,
        "rebuild_seconds": rebuilt,
        "rebuild_events_per_second": count / rebuilt,
    }


def _prepare(log_dir: Path, data_dir: Path, seed: int, database: str) -> dict[str, Any]:
    """In a process of its own: a fresh hub holding the founding and history only."""
    hospital.setup_node(data_dir, seed, database)
    os.environ["NIRANTAR_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "nirantar.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    meta = json.loads((log_dir / "meta.json").read_text())
    before = meta["parts"]["founding"] + meta["parts"]["history"]
    return hospital.ingest_file(log_dir / "hospital.ndjson", upto=before)


def _costs(log_dir: Path, data_dir: Path, seed: int, database: str) -> dict[str, Any]:
    """In a process of its own: where the day's ingest time goes. On a fresh hub holding
    the founding and history, the day verified and stored without projecting (the
    ledger's share), then each event projected alone, timed by type."""
    import collections

    first = _prepare(log_dir, data_dir, seed, database)  # sets Django up
    from django.db import transaction

    from nirantar.ledger import projection, roster
    from nirantar.ledger.events import AUTHORITY, Event
    from nirantar.ledger.ingest import Ingestor
    from nirantar.ledger.writer import node

    lines = (log_dir / "hospital.ndjson").read_bytes().splitlines()[first["events"] :]
    events = [Event.from_line(line) for line in lines]
    store = node().store
    started = time.perf_counter()
    with store.atomic(), roster.numbers_remembered():
        for origin in sorted({e.origin for e in events} | {AUTHORITY}):
            store.lock(origin)
        ingestor = Ingestor(store)
        runs: dict[str, list[Event]] = collections.defaultdict(list)
        for event in events:
            runs[event.origin].append(event)
        for run in runs.values():
            for i in range(0, len(run), 1000):
                ingestor.ingest_many(run[i : i + 1000])
    stored = time.perf_counter() - started
    seconds: dict[str, float] = collections.defaultdict(float)
    counts: collections.Counter[str] = collections.Counter()
    with transaction.atomic():
        for event in events:
            started = time.perf_counter()
            projection.apply_isolated(event)
            seconds[event.type] += time.perf_counter() - started
            counts[event.type] += 1
    return {
        "events": len(events),
        "store_seconds": stored,
        "store_events_per_second": len(events) / stored,
        "project_seconds": sum(seconds.values()),
        "types": {
            t: {"events": counts[t], "seconds": seconds[t], "ms": 1000 * seconds[t] / counts[t]}
            for t in sorted(seconds, key=lambda t: -seconds[t])
        },
    }


def push(log_dir: Path, seed: int, engine: str) -> dict[str, Any]:
    """The day pushed to a real hub process (`nirantar serve`, 2 workers x 4 threads)
    through its /sync/push endpoint: each node pushes its own events, in batches of
    ``sync.PUSH_BATCH``, each request signed by that node; one connection at a time."""
    import httpx

    from nirantar.ledger import transport
    from tests.system.node import NodeProcess

    meta = json.loads((log_dir / "meta.json").read_text())
    before = meta["parts"]["founding"] + meta["parts"]["history"]
    batch = max(1, int(os.environ.get("NIRANTAR_SYNC_BATCH", "1000")) // 2)  # sync.PUSH_BATCH
    keys = {o: hospital.node_key(seed, o) for o in hospital.origins()}
    with tempfile.TemporaryDirectory(prefix="nirantar-push-") as tmp:
        database, executor = "", None
        if engine == "postgresql":
            database, executor = start_postgres(Path(tmp))
        hub_dir = Path(tmp) / "hub"
        try:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.hub",
                    "--prepare",
                    str(log_dir),
                    "--data-dir",
                    str(hub_dir),
                    "--seed",
                    str(seed),
                    "--database",
                    database,
                ],
                env=_clean_env(),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            node = NodeProcess(hub_dir, hospital.HUB, hospital.HUB_NUMBER, extra_env=QUIET)
            node.start(workers=2, threads=4, sync_interval=3600)
            accepted = held = requests = 0
            rejected: list[Any] = []
            try:
                with httpx.Client(timeout=300) as client:
                    started = time.perf_counter()
                    for lines in hospital.read_batches(
                        log_dir / "hospital.ndjson", skip=before, batch=batch
                    ):
                        body = b"".join(lines)
                        origin = json.loads(lines[0])["origin"]
                        headers = transport.sign(
                            keys[origin], origin, "POST", "/sync/push", body, hospital.HUB
                        )
                        headers["Content-Type"] = "application/x-ndjson"
                        answer = client.post(f"{node.url}/sync/push", content=body, headers=headers)
                        answer.raise_for_status()
                        report = answer.json()
                        accepted += report["accepted"]
                        held += report["held"]
                        rejected += report["rejected"]
                        requests += 1
                    seconds = time.perf_counter() - started
            finally:
                node.stop()
        finally:
            if executor is not None:
                executor.stop()
    events = meta["events"] - before
    return {
        "engine": engine,
        "events": events,
        "accepted": accepted,
        "requests": requests,
        "batch": batch,
        "clean": accepted == events and not held and not rejected,
        "problems": {"held": held, "rejected": rejected[:5]},
        "seconds": seconds,
        "events_per_second": accepted / seconds,
    }


def start_postgres(base: Path) -> tuple[str, Any]:
    """A throwaway PostgreSQL server with its durable defaults (fsync, synchronous commit)."""
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    base.chmod(0o777)  # the server runs as `postgres` when this runs as root
    port = get_port(None)
    executor = PostgreSQLExecutor(
        executable=str(hospital.OUT.parent.parent / "tests" / "bin" / "pg_ctl"),
        host="127.0.0.1",
        port=port,
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"),
        startparams="-w",
        dbname="postgres",
        user="postgres",
        postgres_options="",
        timeout=120,
    )
    executor.start()
    import psycopg

    # On a busy machine pg_ctl may stop waiting before the server accepts connections.
    deadline = time.monotonic() + 180
    while True:
        try:
            url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            with psycopg.connect(url, autocommit=True) as db:
                db.execute("CREATE DATABASE hub")
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                executor.stop()
                raise
            time.sleep(1)
    return f"postgresql://postgres@127.0.0.1:{port}/hub", executor


def _fresh_hub(worker: str, log_dir: Path, seed: int, engine: str) -> dict[str, Any]:
    """``worker`` (``--worker`` or ``--cost-worker``) run in a process of its own on a
    fresh hub: a data directory, and on ``postgresql`` a server started for it."""
    with tempfile.TemporaryDirectory(prefix="nirantar-hub-") as tmp:
        database, executor = "", None
        if engine == "postgresql":
            database, executor = start_postgres(Path(tmp))
        try:
            done = subprocess.run(
                [sys.executable, "-m", "bench.hub", worker, str(log_dir)]
                + ["--data-dir", str(Path(tmp) / "hub"), "--seed", str(seed)]
                + ["--database", database],
                env=_clean_env(),
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
        finally:
            if executor is not None:
                executor.stop()
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def ingest(log_dir: Path, seed: int, engine: str) -> dict[str, Any]:
    """The day ingested, then every projection rebuilt (``_worker``)."""
    return _fresh_hub("--worker", log_dir, seed, engine)


def costs(log_dir: Path, seed: int, engine: str) -> dict[str, Any]:
    """Where the day's ingest time goes on ``engine`` (``_costs``): verify + store alone,
    then each event projected alone, timed by type."""
    return _fresh_hub("--cost-worker", log_dir, seed, engine)


CATCH_UP = """
import json, time, django
django.setup()
from pathlib import Path
from django.conf import settings
from nirantar.ledger import sync
from nirantar.ledger.syncer import Syncer, join_state
from nirantar.ledger.writer import node
sync.complete_join(node(), join_state(Path(settings.DATA_DIR))['hub'])
s = Syncer(node(), Path(settings.DATA_DIR))
before = node().store.count()
t = time.perf_counter(); r = s.run_once(force=True); t = time.perf_counter() - t
print(json.dumps({'seconds': t, 'pulled': sum(e.pulled for e in r.exchanged),
                  'before': before, 'after': node().store.count(), 'failed': r.failed}))
"""


def catch_up(log_dir: Path) -> dict[str, Any]:
    from tests.system.node import NodeProcess

    meta = json.loads((log_dir / "meta.json").read_text())
    with tempfile.TemporaryDirectory(prefix="nirantar-catch-up-") as tmp:
        source_dir = Path(tmp) / "hub"
        shutil.copytree(log_dir / "source", source_dir)
        source = NodeProcess(source_dir, hospital.HUB, hospital.HUB_NUMBER, extra_env=QUIET)
        source.start(workers=2, threads=4, sync_interval=3600)
        try:
            edge = NodeProcess(Path(tmp) / "edge", "edge", extra_env=QUIET)
            code = edge.join(source.url, letter="Z")
            source.run("enrol", "approve", code, "--number", "150")
            env = {**edge.env, "DJANGO_SETTINGS_MODULE": "nirantar.settings"}
            done = subprocess.run(
                [sys.executable, "-c", CATCH_UP],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
            result["verified"] = edge.run("verify", check=False).returncode == 0
        finally:
            source.stop()
    result["events"] = meta["events"]
    result["day_events"] = meta["events"] - meta["parts"]["founding"] - meta["parts"]["history"]
    result["events_per_second"] = result["pulled"] / result["seconds"]
    return result


def run(
    seed: int,
    days: int,
    scale: float,
    only: list[str],
    engines: list[str],
    push_too: bool = True,
) -> dict[str, Any]:
    started = time.perf_counter()
    log_dir = hospital.build(seed, days, scale)
    meta = json.loads((log_dir / "meta.json").read_text())
    result: dict[str, Any] = {
        "seed": seed,
        "days": days,
        "scale": scale,
        "meta": {k: meta[k] for k in ("events", "parts", "patients", "admissions", "beds")},
        "origins": len(meta["origins"]),
        "types": meta["types"],
        "generate_seconds": round(time.perf_counter() - started, 1),
    }
    if "ingest" in only or "rebuild" in only:
        result["ingest"] = {}
        for engine in engines:
            print(f"  hub ingest and rebuild on {engine} ...", file=sys.stderr, flush=True)
            result["ingest"][engine] = ingest(log_dir, seed, engine)
    if "ingest" in only:
        # The profile behind the figure: verify + store alone, projection by event type.
        result["costs"] = {}
        for engine in engines:
            print(f"  where ingest time goes on {engine} ...", file=sys.stderr, flush=True)
            result["costs"][engine] = costs(log_dir, seed, engine)
    if "ingest" in only and push_too:
        result["push"] = {}
        for engine in engines:
            print(f"  hub ingest through /sync/push on {engine} ...", file=sys.stderr, flush=True)
            result["push"][engine] = push(log_dir, seed, engine)
    if "catch-up" in only:
        print("  catch-up of a fresh edge ...", file=sys.stderr, flush=True)
        result["catch_up"] = catch_up(log_dir)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--only", action="append", choices=("ingest", "rebuild", "catch-up"))
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument(
        "--no-push", action="store_true", help="skip ingest through a serving hub's /sync/push"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cost-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--costs",
        action="store_true",
        help="where ingest time goes on each of --engines: verify + store alone, then "
        "projection by event type",
    )
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.data_dir, args.seed, args.database)))
        return
    if args.costs:
        log_dir = hospital.build(args.seed, args.days, args.scale)
        for engine in args.engines.split(","):
            print(json.dumps({engine: costs(log_dir, args.seed, engine)}))
        return
    if args.cost_worker:
        result = _costs(args.cost_worker, args.data_dir, args.seed, args.database)
        print(json.dumps(result))
        return
    if args.prepare:
        print(json.dumps(_prepare(args.prepare, args.data_dir, args.seed, args.database)))
        return
    only = args.only or ["ingest", "rebuild", "catch-up"]
    result = run(args.seed, args.days, args.scale, only, args.engines.split(","), not args.no_push)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
