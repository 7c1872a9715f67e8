"""`make bench`: run every benchmark, print tables and write them to docs/benchmarks.md.

A complete run (every section: `make bench` or `make bench-quick`) replaces
docs/benchmarks.md with its own figures, headed by a table of every goal it could judge,
and moves the run before it to docs/benchmarks-history.md; a run of some sections only
(``--only``) is appended to the history.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

from bench import goals, hub, lab, load, peer, registration, restore, timeline, wards
from bench.common import OUT, append_report, table, write_goal_scale, write_run


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


def _plan_notes(run: dict[str, Any], kind: str) -> str:
    """What the slowest query of ``kind`` spent where, and what its plan says."""
    found = run["plans"][kind]
    plan = found["plan"]
    notes = (
        f"{found['find_ms']:.1f} ms in `find_patients` when run again, of which "
        f"{found['sql_ms']:.1f} ms running its SQL"
    )
    if found["matched"] is not None:
        notes += f"; its name condition matches {found['matched']:,} patients (at most 200 fetched)"
    if run["engine"] == "postgres":
        index = "registration_patient_search_trgm" in plan
        notes += "; plan: " + (
            "pg_trgm GIN index (bitmap scan)" if index else "**no trigram index**"
        )
        for line in plan.splitlines():
            if "Bitmap Index Scan on registration_patient_search_trgm" in line and "actual" in line:
                ms = line.split("actual time=")[1].split("..")[1].split()[0]
                notes += f", {float(ms):.1f} ms of it in the index scan"
        rechecked = [line.strip() for line in plan.splitlines() if "Rows Removed by" in line]
        if rechecked:
            notes += " (" + "; ".join(rechecked) + ")"
        return notes
    steps = [
        line.strip()
        for line in plan.splitlines()
        if line.strip().startswith(("SCAN", "SEARCH", "LIST"))
    ]
    return notes + "; plan: " + ", ".join(steps)


def search_section(result: dict[str, Any]) -> str:
    from bench.search import GOAL_MS, size_label

    runs = result["runs"]
    engine_name = {"sqlite": "SQLite (edge)", "postgres": "PostgreSQL (hub)"}
    rows = []
    for run in runs:
        goal = GOAL_MS[run["engine"]]
        for kind, v in run["kinds"].items():
            met = "yes" if v["p95"] < goal else "**no**"
            rows.append(
                [
                    engine_name[run["engine"]],
                    f"{run['patients']:,}",
                    kind,
                    fmt(v["p50"]),
                    fmt(v["p95"]),
                    fmt(v["p99"]),
                    f"{v['found']}/{v['n']}",
                    f"{met} ({goal:.0f})",
                ]
            )
    disk_rows, load_rows = [], []
    for run in runs:
        d, n = run["disk"], run["patients"]
        mb = 2**20
        total = d["database_bytes"] + d.get("wal_bytes", 0)
        empty = run["load"].get("empty_node_bytes", 0)
        disk_rows.append(
            [
                engine_name[run["engine"]],
                f"{n:,}",
                f"{d['database_bytes'] / mb:,.0f}",
                f"{d['wal_bytes'] / mb:,.0f}" if "wal_bytes" in d else "-",
                f"{d['table_bytes'] / mb:,.0f}",
                f"{d['name_index_bytes'] / mb:,.0f}",
                f"{d['other_index_bytes'] / mb:,.0f}",
                f"{empty / mb:,.0f}",
                f"**{(total - empty) / mb * 1_000_000 / n:,.0f}**",
            ]
        )
        load = run["load"]
        load_rows.append(
            [
                engine_name[run["engine"]],
                f"{n:,}",
                f"{load['rows_s']:.1f}",
                f"{load['btree_s']:.1f}",
                f"{load.get('fts_s', load.get('trgm_s', 0)):.1f}",
                f"{load['analyze_s']:.1f}",
                f"{load['total_s']:.1f}",
            ]
        )
    # Why a goal was missed, from the plan of the slowest query of each kind that missed.
    misses = []
    for run in runs:
        for kind, v in run["kinds"].items():
            if v["p95"] >= GOAL_MS[run["engine"]]:
                misses.append(
                    f"- {engine_name[run['engine']]}, {size_label(run['patients'])} patients, "
                    f"{kind}: p95 {fmt(v['p95'])} ms. Slowest query `{v['slowest']}`: "
                    f"{_plan_notes(run, kind)}."
                )
    checks = [
        f"- {engine_name[run['engine']]} at {size_label(run['patients'])}, "
        f"`{run['kinds'][kind]['slowest']}`: {_plan_notes(run, kind)}"
        for run in runs
        for kind in ("name (Latin)", "name (Devanagari)")
    ]
    pg = ", ".join(f"{k}={v}" for k, v in result["pg_settings"].items())
    sizes = ", ".join(size_label(n) for n in result["sizes"])
    text = (
        f"Patient search at {sizes} patients on SQLite (an edge) and PostgreSQL 15 (the hub), "
        f"in-process `find_patients` - the function the counter and FHIR search call - "
        f"{result['queries']} measured queries of each kind after 50 warm-up searches of "
        "other patients (`python -m bench.search`). Both engines hold the same seeded "
        "patients, bulk-loaded into the registration read model (not written as events): "
        "CMU corpus given names and the 60 commonest surnames, both Zipf-skewed; about 1.8 "
        "patients per mobile (households share a phone; 8 % of households gave none); UHIDs "
        "of 8 registering counters with their check digits; a tenth written in only "
        "Devanagari and a tenth in only Latin. The production indexes (the migrations') are "
        "built once after the load: SQLite's FTS5 trigram index, PostgreSQL's pg_trgm GIN "
        "index, and the B-trees. A name query is a first name and the start of the surname "
        "as a clerk types it (Latin: 4 letters, Devanagari: 3 characters); mobile and UHID "
        "queries are a random patient's. PostgreSQL: a server started for the run on a data "
        f"directory kept in bench/out/, locale {result['pg_locale']}, {pg}; client on "
        "loopback TCP; the patient table (into the OS cache) and the indexes these searches "
        "use (into shared buffers) read in with pg_prewarm before measuring, as on a hub "
        "that runs all day. SQLite: the node's own settings (WAL, 64 MB page cache). Goals (issue "
        "9): p95 under 50 ms on PostgreSQL and under 100 ms on an edge, at 10M patients.\n\n"
        + table(
            ["engine", "patients", "query (ms)", "p50", "p95", "p99", "found", "under goal (ms)"],
            rows,
        )
    )
    if result.get("plot"):
        image = result["plot"].removeprefix("docs/")
        text += f"\n\n![p95 of patient search against the number of patients]({image})"
    text += (
        "\n\nDisk (MB). SQLite: the file after a checkpoint, and its WAL; table, name index "
        "(FTS5) and other indexes from `dbstat`. PostgreSQL: `pg_database_size` (the whole "
        "node database), the patient table, its pg_trgm index and its other indexes. Per "
        "million patients: database (and WAL) less the empty node's, scaled.\n\n"
        + table(
            [
                "engine",
                "patients",
                "database",
                "WAL",
                "patient table",
                "name index",
                "other indexes",
                "empty node",
                "MB per million patients",
            ],
            disk_rows,
        )
        + "\n\nLoad (s): generating the rows in Python and inserting them (SQLite "
        "`executemany`, 100,000 rows a transaction; PostgreSQL `COPY`), then the B-trees, "
        "the name index and ANALYZE (PostgreSQL: VACUUM ANALYZE). Cached: a re-run skips "
        "this.\n\n"
        + table(
            ["engine", "patients", "rows", "B-trees", "name index", "analyze", "total"],
            load_rows,
        )
        + "\n\nThe slowest name query of each run, run again with its plan (all the plans: "
        "bench/out/search-ENGINE-N/plans.txt). Both engines resolve the name condition in "
        "full before `find_patients` takes its 200 candidates (PostgreSQL: a bitmap of "
        "every match from the GIN index's posting lists; SQLite: the FTS5 match made into "
        "the `IN` list), so a name query costs more the more patients share that pair of "
        "names, and the commonest pairs grow with the hospital; what follows the SQL (at "
        "most 200 rows made into objects and ranked with rapidfuzz) does not.\n\n"
        + "\n".join(checks)
    )
    if misses:
        text += (
            "\n\n**Goals missed** (the goals are for 10M patients; a miss at a smaller size "
            "is listed too), with where the slowest query of that kind spent its time:\n\n"
            + "\n".join(misses)
        )
    return text


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


ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _restore_row(result: dict[str, Any]) -> list[str]:
    engine = ENGINE_NAMES[result.get("engine", "sqlite")]
    return [
        f"`nirantar restore` of a directory backup, {engine}",
        f"{result['events']:,}",
        str(result["origins"]),
        f"{result['restore_seconds']:.1f}",
        f"{result['events_per_second']:,.0f}",
        f"**{goals.restore_rate(result):,.0f}**",
        f"{result['command_seconds']:.1f}",
        str(result.get("peak_rss_mb") or "-"),
        str(result.get("database_mb") or "-"),
        goals.restore_met(result),
    ]


def _restore_elsewhere(result: dict[str, Any]) -> str:
    """One more engine's restore of the same backup, in a sentence."""
    engine = ENGINE_NAMES[result.get("engine", "sqlite")]
    said = (
        f"The same restore into {engine} (a throwaway server with its durable defaults, on "
        f"this machine, started for the run): `nirantar verify` "
        f"{'passed' if result['verified'] else '**failed**'}, "
        f"{result['patients_restored']:,} patients"
    )
    if result.get("ingest_seconds"):
        said += (
            f"; every event in after {result['ingest_seconds']:.1f} s, the node serves from "
            f"{result['restore_seconds']:.1f} s"
        )
    if result.get("worklist_later"):
        said += f"; the duplicate worklist, left to it, {result['worklist_seconds']:.1f} s more"
        said += _worklist_peak(result)
    if result.get("cpu_us_per_event"):
        said += f"; {result['cpu_us_per_event']} µs of CPU an event (not the server's)"
    return said + ". "


def _worklist_peak(result: dict[str, Any]) -> str:
    """The backfill's own peak memory, where it was measured."""
    peak = result.get("worklist_peak_rss_mb")
    return f", peak RSS {peak:,} MB" if peak else ""


def restore_section(result: dict[str, Any], others: list[dict[str, Any]] | None = None) -> str:
    others = others or []
    engines = [ENGINE_NAMES[r.get("engine", "sqlite")] for r in (result, *others)]
    return (
        "A backup of a node holding real events (patients registered through the actions, a "
        "registration and a visit each; the sync benchmark's node) made with `nirantar "
        "backup --to DIR`, then `nirantar restore --from DIR` onto a fresh data directory, "
        f"each as its own process, {' and '.join(engines)} (`python -m bench.restore`). "
        "Restore decrypts and "
        "checks every segment in a second process, which also makes each registration's "
        "blocking keys and each new patient's and visit's table row from the line it "
        "checked; a thread of the restoring process makes each next segment's events "
        "ready while the one before is stored; the restoring process verifies every chain "
        "link and the signatures that "
        "vouch for them, ingests through the ingest path and projects every event (the duplicates "
        "worklist once at the end, its scoring shared between two processes; from "
        "100,000 patients the restore leaves the worklist's pairs to the serving node, and "
        "`nirantar dedupe backfill` works them out here, timed on its own). "
        f"Backup: {result['backup_line']} ({result['backup_mb']} MB in "
        f"{result['segments']} segments, {result['backup_seconds']:.1f} s). Restored node: "
        f"`nirantar verify` {'passed' if result['verified'] else '**failed**'}; "
        f"{result['patients_restored']:,} patients of {result['patients_source']:,}"
        + (
            f"; {result['duplicate_pairs']:,} pairs on the duplicates worklist"
            if "duplicate_pairs" in result
            else ""
        )
        + ". "
        + (
            f"CPU of the restore command with its worker processes: "
            f"{result['cpu_seconds']:.1f} s, {result['cpu_us_per_event']} µs an event; "
            f"load average at its end {', '.join(map(str, result['load_average']))} "
            "(a shared machine: wall time waits on other work). "
            if result.get("cpu_us_per_event")
            else ""
        )
        + (
            f"Where the time went: every event decrypted, verified, ingested and projected "
            f"after {result['ingest_seconds']:.1f} s "
            f"({result['events'] / result['ingest_seconds']:,.0f} events/s); then the name "
            f"index and the duplicate worklist, deferred to the end, "
            f"{result['deferred_seconds']:.1f} s. "
            if result.get("ingest_seconds") and not result.get("worklist_later")
            else ""
        )
        + (
            f"Where the time went: every event decrypted, verified, ingested and projected "
            f"after {result['ingest_seconds']:.1f} s "
            f"({result['events'] / result['ingest_seconds']:,.0f} events/s); then the name "
            f"index and every patient's blocking keys {result['deferred_seconds']:.1f} s; "
            f"the node serves from there. The duplicate worklist, left to it: "
            f"{result['worklist_seconds']:.1f} s more{_worklist_peak(result)} "
            f"({result['worklist_line']}). "
            if result.get("ingest_seconds") and result.get("worklist_later")
            else ""
        )
        + "".join(_restore_elsewhere(other) for other in others)
        + f"Target: {restore.TARGET:,} events a second at {restore.GOAL_EVENTS:,} events.\n\n"
        + table(
            [
                "restore",
                "events",
                "origins",
                "seconds",
                "events/s",
                "with the worklist (events/s)",
                "command (s)",
                "peak RSS (MB)",
                "database (MB)",
                "target met",
            ],
            [_restore_row(r) for r in (result, *others)],
        )
    )


def hospital_setup(result: dict[str, Any]) -> str:
    meta = result["meta"]
    parts = meta["parts"]
    day = meta["events"] - parts["founding"] - parts["history"]
    return (
        f"The synthetic hospital (`python -m bench.hospital`, seed {result['seed']}, "
        f"scale {result['scale']:g} of a day of AIIMS: {15_000 * result['scale']:,.0f} "
        f"outpatients, 30 % new, {900 * result['scale']:,.0f} admissions, "
        f"{50_000 * result['scale']:,.0f} lab tests a day; {result['days']} day(s)): "
        f"{day:,} events in the day(s), written by {result['origins'] - 1} enrolled nodes "
        "(registration counters, each department's OPD, four ward stations, the sample "
        "collection centre, the laboratory, the hub) each under its own key, after the "
        f"hospital's founding ({parts['founding']} events) and its history "
        f"({parts['history']:,} events: the returning patients' registrations and the "
        f"5 days of admissions before, so the day discharges as it admits); "
        f"{meta['patients']:,} patients, {meta['admissions']:,} admissions, "
        f"{meta['beds']:,} beds."
    )


def hospital_ingest_section(result: dict[str, Any]) -> str:
    rows = []
    runs = [("in-process `sync.ingest_remote`", e, r) for e, r in result["ingest"].items()]
    runs += [
        ("POST /sync/push to `nirantar serve`", e, r) for e, r in result.get("push", {}).items()
    ]
    for path, engine, r in runs:
        met = "yes" if r["events_per_second"] >= hub.INGEST_TARGET else "**no**"
        rows.append(
            [
                path,
                engine,
                f"{r['events']:,}",
                f"{r['seconds']:.1f}",
                f"**{r['events_per_second']:,.0f}**",
                "yes" if r["clean"] else f"**no** {r['problems']}",
                met,
            ]
        )
    return (
        hospital_setup(result)
        + "\n\nHub ingest (verify + store + project), in-process: a fresh hub took the "
        "founding and history (not timed), then the day as sync delivers it - NDJSON "
        "batches, each origin's events in runs of up to 1,000 (as each node pushes its "
        "own), every batch parsed and passed to `sync.ingest_remote`, which is what the "
        "/sync/push endpoint calls; and the same day pushed to a real hub process "
        "(`nirantar serve`, 2 gunicorn workers x 4 threads) through /sync/push, each "
        "node's batches of 500 signed by that node, one request at a time on loopback. "
        "PostgreSQL 15, a server started for the run with its "
        "durable defaults, on the same machine; SQLite in the data directory "
        f"(`python -m bench.hub --only ingest`). Target: {hub.INGEST_TARGET:,} events a "
        "second.\n\n"
        + table(
            [
                "path",
                "database",
                "events",
                "seconds",
                "events/s",
                "all accepted, none held",
                "target met",
            ],
            rows,
        )
        + ingest_costs(result)
    )


def ingest_costs(result: dict[str, Any]) -> str:
    """The profile behind the ingest figures (``bench.hub.costs``)."""
    if not result.get("costs"):
        return ""
    rows = []
    for engine, c in result["costs"].items():
        project = c["project_seconds"]
        top = list(c["types"].items())[:6]
        rows.append(
            [
                engine,
                f"{c['store_events_per_second']:,.0f}",
                f"{c['events'] / project:,.0f}" if project else "-",
                "; ".join(
                    f"{t} {v['events']:,} x {v['ms']:.2f} ms ({v['seconds'] / project * 100:.0f} %)"
                    for t, v in top
                ),
            ]
        )
    return (
        "\n\nWhere the ingest time goes (`python -m bench.hub --costs`), each engine on a "
        "fresh hub of its own holding the founding and history: the day verified and "
        "stored without projecting (chain links, signatures on each run's head, the "
        "ledger rows, in one transaction), then each event projected alone in its own "
        "savepoint, timed by event type. Projecting one event at a time costs more than "
        "the batched ingest does, so the shares, not the sum, are the profile.\n\n"
        + table(
            [
                "database",
                "verify + store alone (events/s)",
                "projection alone, one at a time (events/s)",
                "costliest event types to project: events x ms each (share)",
            ],
            rows,
        )
    )


def hospital_rebuild_section(result: dict[str, Any]) -> str:
    rows = [
        [
            engine,
            f"{r['rebuild_events']:,}",
            f"{r['rebuild_seconds']:.1f}",
            f"**{r['rebuild_events_per_second']:,.0f}**",
        ]
        for engine, r in result["ingest"].items()
    ]
    return (
        "Rebuild of every projection from the whole log (founding, history and the "
        "day), `operations.rebuild()` as `nirantar rebuild` runs it, in-process on the "
        "hub of the ingest benchmark just after it.\n\n"
        + table(["database", "events", "seconds", "events/s"], rows)
    )


def hospital_catch_up_section(result: dict[str, Any]) -> str:
    c = result["catch_up"]
    met = "yes" if c["seconds"] < hub.CATCH_UP_TARGET else "**no**"
    if result["scale"] < 1:  # the target is for a whole day of the whole hospital
        met = f"not judged at scale {result['scale']:g}"
    return (
        "One day of the whole hospital caught up by a fresh edge: the hub (a real "
        "`nirantar serve` process, 2 workers x 4 threads, SQLite) holding the whole log; "
        "a new edge joins, is approved, takes the authority chain, then one `nirantar "
        "sync` round (`Syncer.run_once`) is timed - everything it lacks, founding and "
        "history included, since a fresh edge lacks all of it "
        f"(`python -m bench.hub --only catch-up`). Target: under {hub.CATCH_UP_TARGET} s "
        "for a day.\n\n"
        + table(
            [
                "catch-up",
                "events pulled",
                "of them the day's",
                "seconds",
                "events/s",
                "log verified",
                "target met",
            ],
            [
                [
                    "fresh edge from the hub",
                    f"{c['pulled']:,}",
                    f"{c['day_events']:,}",
                    f"**{c['seconds']:.1f}**",
                    f"{c['events_per_second']:,.0f}",
                    str(c["verified"]),
                    met,
                ]
            ],
        )
    )


LOAD_LABELS = {
    "edge": "edge, SQLite",
    "hub": "hub, PostgreSQL",
    "two": "hub, 2 app servers, 1 PostgreSQL",
}
LOAD_STEPS = {
    "register": "POST /patients",
    "read": "GET /patients/{uhid}",
    "visit": "POST /visits",
    "slip": "GET slip.pdf (Chromium)",
}


def load_section(
    result: dict[str, Any], reg: dict[str, Any] | None, theirs: dict[str, Any] | None
) -> str:
    setups = result["setups"]
    first = next(iter(setups.values()))
    n = first["transactions"]
    think = result["think"]
    offered = first["counters"] / think if think else float("inf")
    parts = [
        f"{first['counters']} registration counters at once over loopback HTTP "
        f"(`python -m bench.load`), each a closed loop with its own clerk's bearer token and "
        "kept-alive connection: register a patient, read it back, register an OPD visit, "
        "fetch the A5 slip PDF, then think (exponential, mean "
        f"{think:g} s) before the next patient - a clerk never has two patients in flight. "
        f"{first['patients_per_counter']} measured patients per counter ({n:,} in all) after "
        f"{result['warmup']} warm-up each. The think time is compressed: {first['counters']} "
        f"counters at a mean of {think:g} s offer at most {offered:.0f} patients/s, where a "
        "clerk really takes 30 s or more per patient (40 counters: about 1.3 patients/s). "
        "Set-ups, each "
        "fresh: an edge node on SQLite (2 gunicorn workers x 4 threads); a hub on PostgreSQL "
        f"15 ({result['hub_workers']} workers x 4 threads); and the hub as two `nirantar "
        f"serve` processes on two ports over one data directory and one PostgreSQL database "
        f"({max(1, result['hub_workers'] // 2)} workers x 4 threads each, counters "
        "alternating between them). PostgreSQL is a throwaway server with its default "
        "durability (fsync, synchronous commit); SQLite runs as a node does (WAL, "
        "synchronous=NORMAL). One Chromium per node (in a renderer process) makes the slips "
        "for every worker; the first slip starts it and it ends when idle (5 minutes by "
        "default, 30 s for this run's edge). The load "
        f"generator's {first['counters']} threads run on the same 2 cores as the servers "
        f"(1-minute load average {result['load_average'][0]:.1f} at the end). Server time is "
        "`Server-Timing`; wall is what the counter waited. Errors: 0 in every set-up (any "
        "error fails the run). CPU per patient is the CPU time the node's process tree "
        "(gunicorn, sync, Chromium), PostgreSQL's and the load generator's used while the "
        "counters were measured, over the patients measured (it includes the read and any "
        "background work, such as the sync loop); the ceiling is this machine's cores divided "
        "by their sum - the rate at which the machine would be saturated. Target: register + "
        "visit + slip p95 under 150 ms.",
    ]
    rows = []
    for key, res in setups.items():
        total, server = (
            res["totals"]["wall_register_visit_slip"],
            res["totals"]["server_register_visit_slip"],
        )
        slip_share = res["wall"]["slip"]["mean"] / total["mean"] * 100
        cpu = res.get("cpu_ms_per_patient", {})
        database = cpu.get("database")
        rows.append(
            [
                LOAD_LABELS[key],
                f"{res['patients_per_second']:.1f}",
                " / ".join(
                    [
                        f"{cpu.get('node', float('nan')):.0f}",
                        f"{database:.0f}" if database else "-",
                        f"{cpu.get('load generator', float('nan')):.0f}",
                    ]
                ),
                f"{(os.cpu_count() or 1) * 1000 / sum(cpu.values()):.0f}" if cpu else "-",
                fmt(total["p50"]),
                f"**{fmt(total['p95'])}**",
                fmt(total["p99"]),
                fmt(server["p95"]),
                f"{slip_share:.0f} %",
                "yes" if total["p95"] < 150 else "**no**",
            ]
        )
    parts.append(
        table(
            [
                "register + visit + slip (ms)",
                "patients/s",
                "CPU ms/patient: node / PostgreSQL / counters",
                "CPU-bound ceiling here (patients/s)",
                "wall p50",
                "wall p95",
                "wall p99",
                "server p95",
                "slip's share of the wall mean",
                "p95 < 150 ms",
            ],
            rows,
        )
    )
    rows = []
    for key, res in setups.items():
        for step, label in LOAD_STEPS.items():
            w, s = res["wall"][step], res["server"][step]
            rows.append(
                [
                    LOAD_LABELS[key],
                    label,
                    fmt(w["p50"]),
                    fmt(w["p95"]),
                    fmt(w["p99"]),
                    fmt(s["p50"]),
                    fmt(s["p95"]),
                    fmt(s["p99"]),
                ]
            )
    parts.append(
        "Each step under load:\n\n"
        + table(
            [
                "set-up",
                "step (ms)",
                "wall p50",
                "wall p95",
                "wall p99",
                "server p50",
                "server p95",
                "server p99",
            ],
            rows,
        )
    )
    if "two" in setups and "consistency" in setups["two"]:
        c = setups["two"]["consistency"]
        through = ", ".join(str(v) for v in c["through"].values())
        parts.append(
            f"Two app servers over one database: {c['registered']:,} patients registered "
            f"({through} through each server, warm-up included), every one of them and its "
            f"visit read back through the other server ({c['cross_read']:,} of "
            f"{c['registered']:,}); {c['unique_uhids']:,} distinct UHIDs, "
            f"{c['unique_visits']:,} distinct visit numbers and {c['unique_tokens']:,} "
            "distinct OPD tokens (day, department, token): no collision."
        )
    gh = (theirs or {}).get("rpc.register_patient(create+read)")
    if gh:
        rows = []
        candidates: list[tuple[str, dict[str, Any]]] = []
        if reg:
            candidates.append(("1 client (`bench.registration`)", reg["create_read_wall"]))
        for key, res in setups.items():
            label = f"{first['counters']} counters, {LOAD_LABELS[key]}"
            candidates.append((label, res["totals"]["wall_register_read"]))
        for label, mine in candidates:
            ratio95 = gh["p95_ms"] / mine["p95"]
            rows.append(
                [
                    label,
                    fmt(mine["p50"]),
                    fmt(mine["p95"]),
                    f"{gh['median_ms'] / mine['p50']:.1f}x",
                    f"**{ratio95:.1f}x**",
                    "yes" if ratio95 >= 4 else "**no**",
                ]
            )
        parts.append(
            "Against GNU Health 5.0.6 in the same run (JSON-RPC over its werkzeug server, "
            f"SQLite, one client, N={gh['n']}, `../shared/peers/gnuhealth/bench_gnuhealth.sh`): "
            f"its registration (create + read) p50 {fmt(gh['median_ms'])} ms, p95 "
            f"{fmt(gh['p95_ms'])} ms, {gh['throughput_per_s']} patients/s. Nirantar's "
            "registration is the same pair of calls (register, read back), wall time. "
            "Ratio = GNU Health / Nirantar (higher favours Nirantar). Target: at least 4x.\n\n"
            + table(
                [
                    "Nirantar register + read (ms)",
                    "p50",
                    "p95",
                    "ratio p50",
                    "ratio p95",
                    "4x",
                ],
                rows,
            )
        )
    else:
        parts.append("GNU Health was not measured in this run.")
    edge = setups.get("edge")
    if edge and "idle" in edge:
        rows = []
        for label, key in (
            ("idle, after start-up", "idle"),
            ("busy, peak while the counters ran", "busy_peak"),
            ("just after the load", "after_load"),
            ("idle again after the load, Chromium closed", "idle_after_load"),
        ):
            if "by_kind" not in edge.get(key, {}):
                continue  # e.g. a busy peak never sampled: a load shorter than a second
            m = edge[key]
            kinds = m["by_kind"]
            python = sum(
                kinds.get(k, {}).get("rss_mb", 0.0)
                for k in ("gunicorn master + workers", "sync process", "renderer process")
            )
            chromium = sum(
                kinds.get(k, {}).get("rss_mb", 0.0) for k in ("chromium", "playwright driver")
            )
            rows.append(
                [
                    label,
                    str(m["processes"]),
                    f"**{m['rss_mb']:.0f}**",
                    f"{m['pss_mb']:.0f}" if m["pss_mb"] else "-",
                    f"{python:.0f}",
                    f"{chromium:.0f}",
                    "-"
                    if key in ("busy_peak", "after_load")
                    else ("yes" if m["rss_mb"] < 300 else "**no**"),
                ]
            )
        parts.append(
            "Resident memory of the edge node (2 workers): VmRSS summed over the `serve` "
            "process tree - gunicorn master and workers, the sync process and, while slips are "
            "printed, the renderer process with the node's one Chromium (about 9 processes) and "
            "Playwright's driver (a Node.js process); PSS "
            "from smaps_rollup counts shared pages once (not read while the counters run: it "
            "costs CPU; the busy peak is the largest RSS sampled each second). For this run "
            "the edge closes Chromium after 30 idle seconds instead of 300, so that the last "
            "row is a node idle again after work. Target: an idle "
            "edge under 300 MB.\n\n"
            + table(
                [
                    "edge (MB)",
                    "processes",
                    "RSS, sum",
                    "PSS, sum",
                    "of RSS: Python (master, workers, sync, renderer)",
                    "of RSS: Chromium + driver",
                    "under 300 MB",
                ],
                rows,
            )
        )
    return "\n\n".join(parts)


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
    "load",
    "hospital-ingest",
    "hospital-rebuild",
    "hospital-catch-up",
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
    "load": "40 counters under load (issue 9)",
    "hospital-ingest": "hub ingest of a synthetic hospital's day",
    "hospital-rebuild": "rebuild of a synthetic hospital's projections",
    "hospital-catch-up": "catch-up of a synthetic hospital's day",
    "dedupe": "duplicate suggestions",
}


def title_of(chosen: list[str]) -> str:
    if list(chosen) == list(SECTIONS):
        return (
            "Every benchmark: registration counter, patient search, sync, GNU Health, "
            "patient timeline, laboratory ingest, bed board, restore, 40 counters under "
            "load, the synthetic hospital and duplicate suggestions"
        )
    names = [TITLES[name] for name in chosen]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return text[0].upper() + text[1:]


# `make bench-quick`: every section at a size that runs in minutes, for a fresh clone or a
# change's check. Any size given on the command line still wins.
QUICK = {
    "search_sizes": "10k,100k",
    "iterations": 100,
    "sync_events": 10_000,
    "timeline_visits": 50,
    "timeline_requests": 50,
    "lab_messages": 200,
    "wards_beds": 330,
    "wards_patients": 300,
    "wards_requests": 10,
    "restore_events": 10_000,
    "hospital_scale": 0.01,
    "load_patients": 3,
    "dedupe_patients": 20_000,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--quick", action="store_true", help="every section at its quick size (make bench-quick)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this benchmark (repeat for several); default: all of them",
    )
    parser.add_argument(
        "--search-sizes", default="1M,10M", help="patients to search among, e.g. 10k,100k"
    )
    parser.add_argument("--search-engines", default="sqlite,postgres")
    parser.add_argument("--search-queries", type=int, default=200)
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
    parser.add_argument(
        "--restore-engines",
        default="sqlite",
        help="Comma-separated: sqlite, postgresql. The goal is judged on the first.",
    )
    parser.add_argument("--load-counters", type=int, default=40)
    parser.add_argument("--load-patients", type=int, default=15, help="measured, per counter")
    parser.add_argument("--load-warmup", type=int, default=2, help="per counter")
    parser.add_argument("--load-think", type=float, default=10.0, help="mean think time, s")
    parser.add_argument("--load-hub-workers", type=int, default=4)
    parser.add_argument("--hospital-scale", type=float, default=1.0, help="of a day of AIIMS")
    parser.add_argument("--hospital-days", type=int, default=1)
    parser.add_argument("--hospital-seed", type=int, default=7)
    parser.add_argument("--hospital-engines", default="sqlite,postgresql")
    parser.add_argument(
        "--hospital-no-push", action="store_true", help="hub ingest in-process only"
    )
    parser.add_argument("--dedupe-patients", type=int, default=1_000_000)
    parser.add_argument("--dedupe-queries", type=int, default=200)
    if parser.parse_known_args()[0].quick:
        parser.set_defaults(**QUICK)
    args = parser.parse_args()
    chosen = [name for name in SECTIONS if name in (args.only or SECTIONS)]
    if args.skip_peer and "peer" in chosen:
        chosen.remove("peer")
    if not chosen:
        parser.error("nothing left to run")

    sections = []
    reg: dict[str, Any] = {}
    results: dict[str, Any] = {}  # every benchmark's own result, for the goals table
    if {"registration", "peer", "load"} & set(chosen):  # the peer is compared with it
        print("registration ...", flush=True)
        reg = registration.run(args.iterations)
        results["registration"] = reg
    if "registration" in chosen:
        sections.append(registration_section(reg))
    if "search" in chosen:
        print(f"search among {args.search_sizes} patients ...", flush=True)
        # Search runs in its own processes: each configures Django for its own database.
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.search",
                "--sizes",
                args.search_sizes,
                "--engines",
                args.search_engines,
                "--queries",
                str(args.search_queries),
                "--plot",
                "docs/img/search-latency.png",
            ],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        results["search"] = json.loads(done.stdout[done.stdout.index("{") :])
        sections.append(search_section(results["search"]))
    if "sync" in chosen:
        print(f"sync: catch-up of {args.sync_events:,} events, and lag ...", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "bench.sync", "--events", str(args.sync_events)],
            capture_output=True,
            text=True,
            check=True,
        )
        results["sync"] = json.loads(done.stdout[done.stdout.index("{") :])
        sections.append(sync_section(results["sync"]))
    theirs: dict[str, Any] | None = None
    if "peer" in chosen or ("load" in chosen and not args.skip_peer):
        print("GNU Health (peer) ...", flush=True)
        theirs = peer.run()
        results["peer"] = theirs
    if "peer" in chosen:
        sections.append(peer_section(reg, theirs))
    elif "registration" in chosen:
        sections.append(peer_section(reg, None))
    if "timeline" in chosen:
        print(f"timeline of a patient with {args.timeline_visits} visits ...", flush=True)
        results["timeline"] = timeline.run(args.timeline_visits, args.timeline_requests)
        sections.append(timeline_section(results["timeline"]))
    if "lab" in chosen:
        print(f"laboratory: {args.lab_messages:,} ORU^R01 messages over MLLP ...", flush=True)
        results["lab"] = lab.run(args.lab_messages, args.lab_parallel)
        sections.append(lab_section(results["lab"]))
    if "wards" in chosen:
        print(f"bed board of {args.wards_beds:,} beds ...", flush=True)
        results["wards"] = wards.run(args.wards_beds, args.wards_patients, args.wards_requests)
        sections.append(wards_section(results["wards"]))
    if "restore" in chosen:
        # The goal is judged on the first engine named (SQLite unless told); any other
        # restores the same backup, reported beside it.
        engines = args.restore_engines.split(",")
        runs = []
        for engine in engines:
            print(
                f"restore of a backup of {args.restore_events:,} events, {engine} ...", flush=True
            )
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.restore",
                    "--events",
                    str(args.restore_events),
                    "--engine",
                    engine,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(done.stdout[done.stdout.index("{") :]))
        results["restore"] = runs[0]
        for other in runs[1:]:
            results[f"restore_{other['engine']}"] = other
        sections.append(restore_section(runs[0], runs[1:]))
    if "load" in chosen:
        print(
            f"load: {args.load_counters} counters x {args.load_patients} patients ...", flush=True
        )
        result = load.run(
            args.load_counters,
            args.load_patients,
            args.load_warmup,
            args.load_think,
            args.load_hub_workers,
        )
        results["load"] = result
        sections.append(load_section(result, reg, theirs))

    wanted = [n.removeprefix("hospital-") for n in chosen if n.startswith("hospital-")]
    if wanted:
        print(f"synthetic hospital ({', '.join(wanted)}), scale {args.hospital_scale:g} ...")
        # Its own process: each measurement configures Django for its own node.
        command = [
            sys.executable,
            "-m",
            "bench.hub",
            "--scale",
            str(args.hospital_scale),
            "--days",
            str(args.hospital_days),
            "--seed",
            str(args.hospital_seed),
            "--engines",
            args.hospital_engines,
        ]
        command += [arg for name in wanted for arg in ("--only", name)]
        command += ["--no-push"] if args.hospital_no_push else []
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        result = json.loads(done.stdout[done.stdout.index("{") :])
        results["hospital"] = result
        if "ingest" in wanted:
            sections.append(hospital_ingest_section(result))
        if "rebuild" in wanted:
            sections.append(hospital_rebuild_section(result))
        if "catch-up" in wanted:
            if "ingest" not in wanted:
                sections.append(hospital_setup(result))
            sections.append(hospital_catch_up_section(result))
    if "dedupe" in chosen:
        print(f"duplicate suggestions among {args.dedupe_patients:,} patients ...", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "bench.dedupe", "--patients", str(args.dedupe_patients)]
            + ["--queries", str(args.dedupe_queries)],
            capture_output=True,
            text=True,
            check=True,
        )
        results["dedupe"] = json.loads(done.stdout[done.stdout.index("{") :])
        sections.append(dedupe_section(results["dedupe"]))

    title = title_of(chosen) + (" (`make bench-quick`)" if args.quick else "")
    (OUT / "last-run.json").write_text(json.dumps(results, indent=1, default=str))
    if list(chosen) == list(SECTIONS):
        # A complete run: the report is this run alone, the one before goes to the history.
        body = "\n\n".join([goals.section(results), *sections])
        print(body)
        write_run(title, body)
    elif chosen == ["restore"] and results["restore"]["events"] >= restore.GOAL_EVENTS:
        # The goal's own size: judged here, and kept in the report beside the complete run.
        body = "\n\n".join([goals.section(results), *sections])
        print(body)
        write_goal_scale(f"{title}, at the goal's scale", body)
    else:
        body = "\n\n".join(sections)
        print(body)
        append_report(title, body)


if __name__ == "__main__":
    main()
