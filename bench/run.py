"""`make bench`: run every benchmark, print tables, append them to docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from bench import lab, peer, registration, restore, timeline, wards
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


def timeline_section(result: dict[str, Any]) -> str:
    labels = {
        "api": "GET /api/v1/patients/{uhid}/timeline (JSON)",
        "desk": "GET /desk/patients/{uhid}/timeline (desk HTML fragment)",
        "panel": "GET /desk/visits/{visit} (consultation panel)",
    }
    rows = []
    for key, label in labels.items():
        r = result["requests"][key]
        s, w = r["server"], r["wall"]
        met = "yes" if s["p95"] < timeline.TARGET_MS else "**no**"
        rows.append(
            [
                label,
                str(r["shown"]),
                f"{r['bytes'] / 1024:.0f} KiB",
                str(r["queries"]),
                fmt(s["p50"]),
                fmt(s["p95"]),
                fmt(s["p99"]),
                fmt(w["p95"]),
                met,
            ]
        )
    past = result["visits"]
    return (
        f"Timeline of one patient with {past} past OPD visits and today's, one node on "
        "SQLite, 2 gunicorn workers x 4 threads, one client on loopback (kept-alive "
        f"connection), {result['iterations']} sequential requests of each after "
        f"{result['warmup']} warm-up (`python -m bench.timeline`). The visits were written "
        "through the node's own actions before it served, as a desk makes them: each "
        "registered, called, seen (vitals, complaints, one or two ICD-10 diagnoses, a "
        "prescription of 2-4 drugs, lab tests on about a third, advice with a follow-up "
        "date on about half) and closed; today's visit is in consultation, with vitals and "
        "complaints. The actions stamp events with the clock's time, so all the visits "
        "carry the day of the run (the reads select by UHID, not by date). "
        f"The node held {result['events']:,} events ({result['patient_events']:,} in the "
        f"patient's stream: {result['visits_stored']} visits, {result['entries']:,} "
        f"clinical entries, {result['lab_orders']} lab orders); its database was "
        f"{result['database_mb']} MB. Every read is audited, so each request also writes "
        "an event. Doctor's bearer token for the API, a signed-in session for the desk. "
        "The panel shows today's record and the past visits among the newest 30. SQL "
        "queries per request were counted in-process (Django test client, same data). "
        "Target: under "
        f"{timeline.TARGET_MS} ms (server p95).\n\n"
        + table(
            [
                "request (ms)",
                "visits shown",
                "size",
                "SQL queries",
                "server p50",
                "server p95",
                "server p99",
                "wall p95",
                "under target",
            ],
            rows,
        )
    )


def lab_section(result: dict[str, Any]) -> str:
    labels = {
        "sequential": "one analyser: one connection, each ACK awaited",
        "parallel": f"{result['parallel']} analysers side by side, one connection each",
    }
    rows = []
    for key, label in labels.items():
        if key not in result["phases"]:
            continue
        p = result["phases"][key]
        lat = p["latency_ms"]
        met = "yes" if p["messages_per_second"] >= lab.TARGET else "**no**"
        rows.append(
            [
                label,
                f"{p['messages']:,}",
                f"{p['results']:,}",
                f"{p['seconds']:.1f}",
                f"**{p['messages_per_second']:.0f}**",
                f"{p['results_per_second']:.0f}",
                fmt(lat["p50"]),
                fmt(lat["p95"]),
                fmt(lat["p99"]),
                met if key == "sequential" else "",
            ]
        )
    return (
        "Analyser results into the laboratory: ORU^R01 messages over MLLP (HL7 v2) to "
        "`nirantar lab listen` running as its own process beside the node's server, one node "
        "on SQLite, the client on loopback (`python -m bench.lab`). "
        f"{result['samples']:,} samples of {result['patients']:,} patients were ordered and "
        "collected through the laboratory's own actions before the node served (CBC, LFT, "
        "KFT, lipid profile or thyroid profile, one sample each); each message carries one "
        "sample's results, 3 to 6 OBX in its analyser's own codes (Sysmex XN-1000, cobas "
        "c 311, Access 2). Each connection sends a message and waits for its ACK before the "
        f"next, as an analyser does; {result['warmup']} warm-up messages first. Every ACK "
        f"was AA echoing its MSH-10; {result['results']:,} results stored for "
        f"{result['obx_sent']:,} OBX sent, {result['failures']} in the error queue; the node "
        f"then held {result['events']:,} events ({result['database_mb']} MB). Each message is "
        "one signed, chained event (all its results) and one transaction, acknowledged after "
        "it commits. "
        f"Target: at least {lab.TARGET} messages a second on one connection, every one stored "
        "and acknowledged.\n\n"
        + table(
            [
                "MLLP ingest",
                "messages",
                "results",
                "seconds",
                "messages/s",
                "results/s",
                "ACK p50 (ms)",
                "ACK p95 (ms)",
                "ACK p99 (ms)",
                "target met",
            ],
            rows,
        )
    )


def wards_section(result: dict[str, Any]) -> str:
    labels = {
        "api": "GET /api/v1/beds (whole hospital, JSON)",
        "screen": "GET /wards/ (hospital-wide bed board, HTML)",
    }
    rows = []
    for key, label in labels.items():
        if key not in result["requests"]:
            status = result["missing"].get(key, "not measured")
            rows.append([label, f"not measured (HTTP {status})", *[""] * 8])
            continue
        r = result["requests"][key]
        s, w = r["server"], r["wall"]
        met = "yes" if s["p95"] < wards.TARGET_MS else "**no**"
        queries = "" if r.get("queries") is None else str(r["queries"])
        rows.append(
            [
                label,
                f"{r['shown']:,}",
                f"{r['bytes'] / 1024:.0f} KiB",
                queries,
                fmt(s["p50"]),
                fmt(s["p95"]),
                fmt(s["p99"]),
                fmt(s["max"]),
                fmt(w["p95"]),
                met,
            ]
        )
    states = ", ".join(
        f"{n:,} {state.replace('_', ' ')}" for state, n in sorted(result["states"].items())
    )
    return (
        f"The bed board of the whole hospital: {result['beds']:,} beds in {result['wards']} "
        "wards (`catalogue.hospital_wards`), one node on SQLite, 2 gunicorn workers x 4 "
        "threads, one client on loopback (kept-alive connection), "
        f"{result['iterations']} sequential requests of each after {result['warmup']} warm-up "
        "(`python -m bench.wards`). The wards and patients were written through the node's "
        "own actions before it served: the layout defined, "
        f"{result['admitted']:,} patients registered and admitted to beds spread over every "
        f"ward (men to men's wards, women to women's), {result['discharged']} of them then "
        f"discharged (their beds awaiting cleaning), {result['reserved']} vacant beds "
        f"reserved and {result['out_of_service']} taken out of service ({states}). "
        f"The node held {result['events']:,} events; its database was "
        f"{result['database_mb']} MB. A nurse asks: bearer token for the API, a signed-in "
        "session for the screen. Every board is an audited read of the patients it shows: "
        "the first request of a session (screen) or token (API) each day writes an audit "
        "event naming every patient shown (in the warm-up here), later ones only "
        "patients it had not shown yet (none here). SQL queries per request were counted "
        "in-process (Django test client, same data). The machine is shared: its 1-minute "
        f"load average was up to {result['load']} while measuring. "
        f"Target: under {wards.TARGET_MS} ms (server p95).\n\n"
        + table(
            [
                "request (ms)",
                "beds shown",
                "size",
                "SQL queries",
                "server p50",
                "server p95",
                "server p99",
                "server max",
                "wall p95",
                "under target",
            ],
            rows,
        )
    )


def restore_section(result: dict[str, Any]) -> str:
    met = "yes" if result["events_per_second"] >= restore.TARGET else "**no**"
    return (
        "A backup of a node holding real events (patients registered through the actions, a "
        "registration and a visit each; the sync benchmark's node) made with `nirantar "
        "backup --to DIR`, then `nirantar restore --from DIR` onto a fresh data directory, "
        "each as its own process, SQLite (`python -m bench.restore`). Restore decrypts and "
        "checks every segment, verifies every chain link and the signatures that vouch for "
        "them, ingests through the ingest path and projects every event. "
        f"Backup: {result['backup_line']} ({result['backup_mb']} MB in "
        f"{result['segments']} segments, {result['backup_seconds']:.1f} s). Restored node: "
        f"`nirantar verify` {'passed' if result['verified'] else '**failed**'}; "
        f"{result['patients_restored']:,} patients of {result['patients_source']:,}. "
        f"Target: {restore.TARGET:,} events a second.\n\n"
        + table(
            [
                "restore",
                "events",
                "origins",
                "seconds",
                "events/s",
                "command (s)",
                "peak RSS (MB)",
                "database (MB)",
                "target met",
            ],
            [
                [
                    "`nirantar restore` of a directory backup",
                    f"{result['events']:,}",
                    str(result["origins"]),
                    f"{result['restore_seconds']:.1f}",
                    f"**{result['events_per_second']:,.0f}**",
                    f"{result['command_seconds']:.1f}",
                    str(result.get("peak_rss_mb") or "-"),
                    str(result.get("database_mb") or "-"),
                    met,
                ]
            ],
        )
    )


def dedupe_section(result: dict[str, Any]) -> str:
    ms, cpu, looked = result["ms"], result["cpu_ms"], result["candidates"]
    verdict = "met" if ms["p95"] < 50 else "NOT met"
    return "\n".join(
        [
            f"### Duplicate suggestions at the counter among {result['patients']:,} patients",
            "",
            "From the database (`python -m bench.dedupe`): the blocking table "
            "(`dedupe_blocking_key`) and the patients bulk-loaded on SQLite; each query a fresh "
            "noisy registration of a patient already there, timed through "
            "`dedupe.queries.find_suggestions` (bucket look-ups, the candidates' rows, the "
            f"screen and the scoring). Goal p95 < 50 ms (wall): **{verdict}**. "
            f"Database {result['database_mb']:,} MB.",
            "",
            "|  | p50 | p95 | p99 | mean |",
            "|---|---|---|---|---|",
            f"| suggestions, wall (ms) | {fmt(ms['p50'])} | {fmt(ms['p95'])} | "
            f"{fmt(ms['p99'])} | {fmt(ms['mean'])} |",
            f"| suggestions, CPU (ms) | {fmt(cpu['p50'])} | {fmt(cpu['p95'])} | "
            f"{fmt(cpu['p99'])} | {fmt(cpu['mean'])} |",
            f"| candidates | {looked['p50']:.0f} | {looked['p95']:.0f} | {looked['p99']:.0f} | "
            f"{looked['mean']:.0f} |",
            "",
            f"The original patient was suggested for {result['found_original']} of "
            f"{result['queries']} queries and ranked first for {result['original_first']}.",
        ]
    )


SECTIONS = (
    "registration",
    "search",
    "sync",
    "peer",
    "timeline",
    "lab",
    "wards",
    "restore",
    "dedupe",
)
TITLES = {
    "registration": "Registration counter",
    "search": "patient search",
    "sync": "sync",
    "peer": "GNU Health",
    "timeline": "patient timeline (issue 5)",
    "lab": "laboratory MLLP ingest",
    "wards": "bed board of the whole hospital",
    "restore": "restore from a backup",
    "dedupe": "duplicate suggestions",
}


def title_of(chosen: list[str]) -> str:
    if list(chosen) == list(SECTIONS):
        return (
            "Registration counter, sync, patient timeline, laboratory ingest, bed board, restore "
            "and duplicate suggestions"
        )
    names = [TITLES[name] for name in chosen]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return text[0].upper() + text[1:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this benchmark (repeat for several); default: all of them",
    )
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--sync-events", type=int, default=100_000)
    parser.add_argument("--timeline-visits", type=int, default=200)
    parser.add_argument("--timeline-requests", type=int, default=200)
    parser.add_argument("--lab-messages", type=int, default=1000)
    parser.add_argument(
        "--lab-parallel", type=int, default=3, help="analyser connections at once (0: none)"
    )
    parser.add_argument("--wards-beds", type=int, default=3300)
    parser.add_argument("--wards-patients", type=int, default=3040, help="admitted (40 leave)")
    parser.add_argument("--wards-requests", type=int, default=30)
    parser.add_argument("--restore-events", type=int, default=100_000)
    parser.add_argument("--dedupe-queries", type=int, default=200)
    args = parser.parse_args()
    chosen = [name for name in SECTIONS if name in (args.only or SECTIONS)]
    if args.skip_peer and "peer" in chosen:
        chosen.remove("peer")
    if not chosen:
        parser.error("nothing left to run")

    sections = []
    reg: dict[str, Any] = {}
    if "registration" in chosen or "peer" in chosen:  # the peer is compared with it
        print("registration ...", flush=True)
        reg = registration.run(args.iterations)
    if "registration" in chosen:
        sections.append(registration_section(reg))
    if "search" in chosen:
        print(f"search among {args.patients:,} patients ...", flush=True)
        # Search runs in its own process: it configures Django for its own data directory.
        done = subprocess.run(
            [sys.executable, "-m", "bench.search", "--patients", str(args.patients)],
            capture_output=True,
            text=True,
            check=True,
        )
        sections.append(search_section(json.loads(done.stdout[done.stdout.index("{") :])))
    if "sync" in chosen:
        print(f"sync: catch-up of {args.sync_events:,} events, and lag ...", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "bench.sync", "--events", str(args.sync_events)],
            capture_output=True,
            text=True,
            check=True,
        )
        sections.append(sync_section(json.loads(done.stdout[done.stdout.index("{") :])))
    if "peer" in chosen:
        print("GNU Health (peer) ...", flush=True)
        sections.append(peer_section(reg, peer.run()))
    elif "registration" in chosen:
        sections.append(peer_section(reg, None))
    if "timeline" in chosen:
        print(f"timeline of a patient with {args.timeline_visits} visits ...", flush=True)
        sections.append(
            timeline_section(timeline.run(args.timeline_visits, args.timeline_requests))
        )
    if "lab" in chosen:
        print(f"laboratory: {args.lab_messages:,} ORU^R01 messages over MLLP ...", flush=True)
        sections.append(lab_section(lab.run(args.lab_messages, args.lab_parallel)))
    if "wards" in chosen:
        print(f"bed board of {args.wards_beds:,} beds ...", flush=True)
        sections.append(
            wards_section(wards.run(args.wards_beds, args.wards_patients, args.wards_requests))
        )
    if "restore" in chosen:
        print(f"restore of a backup of {args.restore_events:,} events ...", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "bench.restore", "--events", str(args.restore_events)],
            capture_output=True,
            text=True,
            check=True,
        )
        sections.append(restore_section(json.loads(done.stdout[done.stdout.index("{") :])))
    if "dedupe" in chosen:
        print(f"duplicate suggestions among {args.patients:,} patients ...", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "bench.dedupe", "--patients", str(args.patients)]
            + ["--queries", str(args.dedupe_queries)],
            capture_output=True,
            text=True,
            check=True,
        )
        sections.append(dedupe_section(json.loads(done.stdout[done.stdout.index("{") :])))

    body = "\n\n".join(sections)
    print(body)
    append_report(title_of(chosen), body)


if __name__ == "__main__":
    main()
