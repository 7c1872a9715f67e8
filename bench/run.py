"""`make bench`: run every benchmark, print tables, append them to docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from bench import peer, registration
from bench.common import append_report, table


def fmt(value: float) -> str:
    return f"{value:.1f}"


def registration_section(result: dict[str, Any]) -> str:
    rows = []
    labels = {
        "patient": "POST /patients (register)",
        "read": "GET /patients/{uhid}",
        "visit": "POST /visits (token)",
        "slip": "GET slip.pdf (A5, Chromium)",
    }
    for key, label in labels.items():
        s, w = result["server"][key], result["wall"][key]
        rows.append([label, fmt(s["p50"]), fmt(s["p95"]), fmt(s["p99"]), fmt(w["p95"])])
    s, w = result["register_visit_slip_server"], result["register_visit_slip_wall"]
    rows.append(
        [
            "**register + visit + slip**",
            f"**{fmt(s['p50'])}**",
            f"**{fmt(s['p95'])}**",
            f"**{fmt(s['p99'])}**",
            f"**{fmt(w['p95'])}**",
        ]
    )
    return (
        f"Registration counter, one node on SQLite, 2 gunicorn workers x 4 threads, one client "
        f"on loopback, {result['iterations']} sequential patients after 20 warm-up "
        "(`python -m bench.registration`). Server time is the node's own "
        "(`Server-Timing` header); wall is what the client waited. Target: register + visit "
        "+ slip p95 under 150 ms.\n\n"
        + table(["step (ms)", "server p50", "server p95", "server p99", "wall p95"], rows)
    )


def search_section(result: dict[str, Any]) -> str:
    rows = [
        [kind, fmt(v["p50"]), fmt(v["p95"]), fmt(v["p99"]), f"{v['found']}/{v['n']}"]
        for kind, v in result["kinds"].items()
    ]
    return (
        f"Patient search among {result['patients']:,} patients on SQLite "
        f"({result['database_mb']} MB file), in-process `find_patients` "
        "(`python -m bench.search`). Name queries are a first name and the start of the "
        "surname, as a clerk types them. The patients were bulk-loaded into the read model "
        "(FTS5 trigram index kept by the production triggers), not written as events. "
        "Target: p95 under 50 ms.\n\n" + table(["query (ms)", "p50", "p95", "p99", "found"], rows)
    )


def sync_section(result: dict[str, Any]) -> str:
    catch, lag = result["catch_up"], result["lag"]
    lags = lag["lag_ms"]
    rows = [
        [
            "catch-up after a day apart (one `nirantar sync` round)",
            f"{catch['pulled']:,} events in {catch['seconds']:.1f} s "
            f"({catch['events_per_second']:,.0f} events/s); log verified: {catch['verified']}",
            "100,000 events under 20 s",
        ],
        [
            "replication lag while connected (registration at one node stored at the other)",
            f"p50 {lags['p50']:.0f} ms, p95 {lags['p95']:.0f} ms, p99 {lags['p99']:.0f} ms "
            f"({lag['arrived']}/{lag['sent']} arrived)",
            "p95 under 2 s",
        ],
    ]
    return (
        "Sync between two real node processes on loopback, SQLite, 2 gunicorn workers each "
        "(`python -m bench.sync`). The away node misses patients written through the real "
        "actions (a registration and a visit each) and catches up from the other; lag is "
        "the receiver's arrival time minus the event's timestamp (one machine, one clock), "
        "with registrations sent at 5 a second for 60 s.\n\n"
        + table(["measure", "result", "target"], rows)
    )


def peer_section(ours: dict[str, Any], theirs: dict[str, Any] | None) -> str:
    if not theirs:
        return "GNU Health was not measured in this run."
    gh = theirs.get("rpc.register_patient(create+read)")
    if not gh:
        return "GNU Health ran but reported no registration figure."
    mine = ours["create_read_wall"]
    rows = [
        [
            "register a patient and read it back (wall, ms)",
            fmt(mine["p50"]),
            fmt(mine["p95"]),
            fmt(gh["median_ms"]),
            fmt(gh["p95_ms"]),
            f"{gh['median_ms'] / mine['p50']:.1f}x / {gh['p95_ms'] / mine['p95']:.1f}x",
        ],
    ]
    return (
        "GNU Health 5.0.6 (JSON-RPC over its werkzeug server, SQLite, N=200) measured in the "
        "same run by `../shared/peers/gnuhealth/bench_gnuhealth.sh`; Nirantar over HTTP "
        "(JSON API, SQLite). Ratio = GNU Health time / Nirantar time (higher favours "
        "Nirantar).\n\n"
        + table(
            [
                "operation",
                "Nirantar p50",
                "Nirantar p95",
                "GNU Health p50",
                "GNU Health p95",
                "ratio p50 / p95",
            ],
            rows,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--sync-events", type=int, default=100_000)
    args = parser.parse_args()

    print("registration ...", flush=True)
    reg = registration.run(args.iterations)
    print(f"search among {args.patients:,} patients ...", flush=True)
    # Search runs in its own process: it configures Django for its own data directory.
    done = subprocess.run(
        [sys.executable, "-m", "bench.search", "--patients", str(args.patients)],
        capture_output=True,
        text=True,
        check=True,
    )
    search = json.loads(done.stdout[done.stdout.index("{") :])
    print(f"sync: catch-up of {args.sync_events:,} events, and lag ...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync", "--events", str(args.sync_events)],
        capture_output=True,
        text=True,
        check=True,
    )
    synced = json.loads(done.stdout[done.stdout.index("{") :])
    theirs = None
    if not args.skip_peer:
        print("GNU Health (peer) ...", flush=True)
        theirs = peer.run()

    sections = [
        registration_section(reg),
        search_section(search),
        sync_section(synced),
        peer_section(reg, theirs),
    ]
    body = "\n\n".join(sections)
    print(body)
    append_report("Registration counter and sync", body)


if __name__ == "__main__":
    main()
