"""Patient search at scale: by name (either script), mobile and UHID, on SQLite (an edge)
and PostgreSQL (the hub), at several sizes; disk per million patients; a plot.

    python -m bench.search --sizes 10k,100k                 # quick
    python -m bench.search --sizes 1M,10M --plot docs/img/search-latency.png   # full

The patients are bulk-loaded straight into the registration read model, not written
as events: this measures search, and registration is measured on its own. Both engines
get the same patients (one seeded generator). The indexes are the production ones
(the migrations'), built once after the load: SQLite's FTS5 trigram index is rebuilt
once and its triggers put back, as a restore does; PostgreSQL's pg_trgm GIN index and
the B-trees are dropped before a COPY and made again after it.

Each loaded database is cached under bench/out/search-{engine}-{N}/ (PostgreSQL: its
data directory, restarted on each run), so a re-run skips the load. Each measurement
runs in its own process (Django is configured for one database per process) and times
``find_patients``, the function the counter and FHIR search call.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import OUT, ROOT, summary
from bench.names import SURNAMES, given_names

ENGINES = ("sqlite", "postgres")
GOAL_MS = {"postgres": 50.0, "sqlite": 100.0}  # issue 9: p95 at 10M patients
KINDS = ("name (Latin)", "name (Devanagari)", "mobile", "UHID")
DISTRICTS = ["Sitapur", "Patna", "Alwar", "South Delhi", "Gurugram", "Agra", "Gaya", "Bareilly"]
STATES = ["Uttar Pradesh", "Bihar", "Rajasthan", "Delhi", "Haryana"]
# A hospital's patients were registered at several counters; each mints its own UHIDs.
REGISTERING_NODES = 8
FIRST_NODE = 101
COLUMNS = (
    "uhid",
    "is_registered",
    "name_hi",
    "name_en",
    "sex",
    "date_of_birth",
    "dob_estimated",
    "guardian_relation",
    "guardian_name",
    "mobile",
    "abha_number",
    "abha_address",
    "category",
    "address_line",
    "district",
    "state",
    "pin",
    "registered_at_ms",
    "registered_by",
    "registered_node",
    "search_text",
    "field_stamps",
)
# PostgreSQL for the hub: a modest dedicated share of this 24 GiB machine. wal_level
# minimal lets the load and index builds skip the WAL (no replica here); it does not
# change the size of what is stored or how a query runs.
PG_SETTINGS = {
    "shared_buffers": "2GB",
    "effective_cache_size": "8GB",
    "maintenance_work_mem": "1GB",
    "work_mem": "16MB",
    "max_wal_size": "8GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "listen_addresses": "127.0.0.1",
}
# Bump when patients() changes what it makes: cached databases of another version are
# loaded again.
DATA_VERSION = 3
PG_LOCALE = "C.UTF-8"  # pg_trgm classifies letters by the database's LC_CTYPE


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def cache_dir(engine: str, count: int) -> Path:
    return OUT / f"search-{engine}-{count}"


# -- the patients -----------------------------------------------------------------------


def _zipf_cumulative(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1 / (k + 1) ** s for k in range(n)))


def patients(count: int, seed: int = 11) -> Iterator[tuple[Any, ...]]:
    """``count`` registered patients as rows of COLUMNS, the same for a given seed.

    Given names are the CMU corpus's ~8,700, surnames the 60 commonest, both drawn with a
    Zipf-like skew (a few names are very common). Patients come in households: about
    45 % join a recent household and share its surname, guardian and mobile (a family
    shares a phone); 8 % of households gave no mobile. A tenth of patients were written
    in only Devanagari and a tenth in only Latin, as happens at a counter.
    """
    from nirantar.ledger.numbering import NumberFormat

    uhid_format = NumberFormat("uhid")
    rng = random.Random(seed)  # noqa: S311 - sample data
    given = [tuple(unicodedata.normalize("NFC", n) for n in pair) for pair in given_names()]
    rng.shuffle(given)  # the corpus is alphabetical: popularity must not follow the alphabet
    surnames = [tuple(unicodedata.normalize("NFC", n) for n in pair) for pair in SURNAMES]
    given_cum = _zipf_cumulative(len(given), 0.7)
    surname_cum = _zipf_cumulative(len(surnames), 0.6)
    given_total, surname_total = given_cum[-1], surname_cum[-1]

    rand = rng.random  # int(rand() * n) rather than randrange: the load is CPU-bound here

    def pick_given() -> tuple[str, str]:
        return given[bisect.bisect(given_cum, rand() * given_total)]

    def pick_surname() -> tuple[str, str]:
        return surnames[bisect.bisect(surname_cum, rand() * surname_total)]

    households: list[tuple[str, str, str, str]] = []  # mobile, surname en, hi, head
    for i in range(count):
        if households and rand() < 0.45:
            mobile, last_en, last_hi, head = households[int(rand() * len(households))]
        else:
            mobile = "" if rand() < 0.08 else str(6_000_000_000 + int(rand() * 4_000_000_000))
            last_en, last_hi = pick_surname()
            head = f"{pick_given()[0]} {last_en}"
            household = (mobile, last_en, last_hi, head)
            if len(households) < 50_000:
                households.append(household)
            else:
                households[int(rand() * 50_000)] = household
        first_en, first_hi = pick_given()
        name_en, name_hi = f"{first_en} {last_en}", f"{first_hi} {last_hi}"
        roll = rand()
        if roll < 0.1:
            name_en = ""
        elif roll < 0.2:
            name_hi = ""
        search_text = " | ".join(p for p in (name_en, name_hi, head) if p).lower()[:400]
        node, seq = FIRST_NODE + i % REGISTERING_NODES, i // REGISTERING_NODES + 1
        abha = str(91_000_000_000_000 + int(rand() * 10**12)) if rand() < 0.2 else ""
        yield (
            uhid_format.format(node, seq),
            True,
            name_hi,
            name_en,
            "M" if rand() < 0.5 else "F",
            f"{1935 + int(rand() * 91)}-{1 + int(rand() * 12):02d}-{1 + int(rand() * 28):02d}",
            False,
            "C/O",
            head,
            mobile,
            abha,
            "",
            "general",
            f"House {1 + int(rand() * 999)}, Ward {1 + int(rand() * 40)}",
            DISTRICTS[int(rand() * len(DISTRICTS))],
            STATES[int(rand() * len(STATES))],
            str(110001 + int(rand() * 745117)),
            1_546_300_000_000 + i * 20_000 + int(rand() * 20_000),
            f"clerk{1 + int(rand() * 40)}",
            f"counter-{node}",
            search_text,
            "{}",
        )


# -- nodes ------------------------------------------------------------------------------


def cached(done: Path, seed: int) -> dict[str, Any] | None:
    """The timings of a load already made, if it is of this data version and seed."""
    if not done.exists():
        return None
    timings = json.loads(done.read_text())
    if timings.get("version") != DATA_VERSION or timings.get("seed") != seed:
        return None
    return timings  # type: ignore[no-any-return]


def init_node(node_dir: Path, database_url: str = "") -> None:
    env = {**os.environ, "NIRANTAR_DATA_DIR": str(node_dir), "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if database_url:
        env["NIRANTAR_DATABASE_URL"] = database_url
    subprocess.run(
        [sys.executable, "-m", "nirantar.cli", "init", "--node", "search-bench", "--number", "900"],
        env=env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )


def load_sqlite(count: int, seed: int) -> dict[str, Any]:
    """A node on SQLite holding ``count`` patients (cached). Returns the load's timings."""
    base = cache_dir("sqlite", count)
    done = base / "loaded.json"
    if timings := cached(done, seed):
        return timings
    shutil.rmtree(base, ignore_errors=True)
    init_node(base / "node")
    database = base / "node" / "nirantar.sqlite3"
    wal = database.with_name(database.name + "-wal")
    empty = database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    db.execute("PRAGMA temp_store=MEMORY")
    # The triggers that keep the name index, and the B-trees, are put back after the load.
    schema = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'registration_patient' "
        "AND type IN ('trigger', 'index') AND sql IS NOT NULL"
    ).fetchall()
    for kind, name, _ in schema:
        db.execute(f'DROP {kind.upper()} "{name}"')
    timings: dict[str, Any] = {"patients": count, "seed": seed, "version": DATA_VERSION}
    timings["empty_node_bytes"] = empty
    started = time.perf_counter()
    sql = (
        f"INSERT INTO registration_patient ({', '.join(COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(COLUMNS))})"
    )
    rows = patients(count, seed)
    loaded = 0
    while batch := list(itertools.islice(rows, 100_000)):
        db.execute("BEGIN")
        db.executemany(sql, batch)
        db.execute("COMMIT")
        loaded += len(batch)
        if loaded % 1_000_000 == 0:
            print(
                f"  sqlite: {loaded:,} rows ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    timings["rows_s"] = time.perf_counter() - started
    mark = time.perf_counter()
    for kind, _, statement in schema:
        if kind == "index":
            db.execute(statement)
    timings["btree_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for kind, _, statement in schema:
        if kind == "trigger":
            db.execute(statement)
    db.execute("INSERT INTO registration_patient_fts(registration_patient_fts) VALUES ('rebuild')")
    timings["fts_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    timings["analyze_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    db.close()
    done.write_text(json.dumps(timings))
    return timings


class PostgresServer:
    """A PostgreSQL server on a data directory kept under bench/out (made on first use)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "pgdata"
        self.log = base / "postgresql.log"
        self.bin = Path(
            os.environ.get("NIRANTAR_PG_BIN")
            or sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        )
        self.port = 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.getuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd="/")

    def start(self) -> str:
        from port_for import get_port

        self.base.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            shutil.chown(self.base, "postgres")
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                f"--locale={PG_LOCALE}",
            )
        self.port = get_port(None) or 0
        options = " ".join(f"-c {k}={v}" for k, v in PG_SETTINGS.items())
        options += f" -p {self.port} -k {self.base}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")
        return self.url("postgres")

    def url(self, database: str = "nirantar") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


def _copy_text(value: Any) -> str:
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def load_postgres(server: PostgresServer, count: int, seed: int) -> dict[str, Any]:
    """The hub's database holding ``count`` patients (cached with the server's data
    directory, which must be running). Returns the load's timings."""
    import psycopg

    base = server.base
    done = base / "loaded.json"
    if timings := cached(done, seed):
        return timings
    done.unlink(missing_ok=True)
    shutil.rmtree(base / "node", ignore_errors=True)
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS nirantar")
        admin.execute("CREATE DATABASE nirantar")
    init_node(base / "node", server.url())
    timings: dict[str, Any] = {"patients": count, "seed": seed, "version": DATA_VERSION}
    with psycopg.connect(server.url()) as db:
        size = db.execute("SELECT pg_database_size(current_database())").fetchone()
        timings["empty_node_bytes"] = size[0] if size else 0
        db.execute("SET synchronous_commit = off")
        # Unique constraints, then the other indexes (not the primary key): made again
        # after the load from their own definitions, so they stay the migrations'.
        constraints = db.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'registration_patient'::regclass AND contype = 'u'"
        ).fetchall()
        for name, _ in constraints:
            db.execute(f'ALTER TABLE registration_patient DROP CONSTRAINT "{name}"')
        indexes = db.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'registration_patient' "
            "AND indexname NOT LIKE '%_pkey'"
        ).fetchall()
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')
        db.commit()
        started = time.perf_counter()
        rows = patients(count, seed)
        loaded = 0
        copy_sql = f"COPY registration_patient ({', '.join(COLUMNS)}) FROM STDIN"
        with db.cursor() as cursor, cursor.copy(copy_sql) as copy:
            while batch := list(itertools.islice(rows, 50_000)):
                copy.write("".join("\t".join(map(_copy_text, row)) + "\n" for row in batch))
                loaded += len(batch)
                if loaded % 1_000_000 == 0:
                    elapsed = time.perf_counter() - started
                    print(
                        f"  postgres: {loaded:,} rows ({elapsed:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
        db.commit()
        timings["rows_s"] = time.perf_counter() - started
        mark = time.perf_counter()
        db.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in constraints:
            db.execute(f'ALTER TABLE registration_patient ADD CONSTRAINT "{name}" {definition}')
        for name, definition in indexes:
            if name != "registration_patient_search_trgm":
                db.execute(definition)
        db.commit()
        timings["btree_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        for name, definition in indexes:
            if name == "registration_patient_search_trgm":
                db.execute(definition)
        db.commit()
        timings["trgm_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        db.autocommit = True
        db.execute("VACUUM ANALYZE registration_patient")
        timings["analyze_s"] = time.perf_counter() - mark
        db.execute("CHECKPOINT")  # lets the server drop the load's WAL (up to max_wal_size)
    timings["total_s"] = time.perf_counter() - started
    done.write_text(json.dumps(timings))
    return timings


# -- measuring (in its own process: python -m bench.search measure ...) -----------------


def sample_queries(per_kind: int, seed: int) -> dict[str, list[str]]:
    """What clerks type to find ``per_kind`` random patients, of each kind."""
    from nirantar.registration.models import Patient

    rng = random.Random(seed)  # noqa: S311
    total = Patient.objects.count()
    ids = [rng.randint(1, total) for _ in range(per_kind * 4)]
    columns = ("id", "name_en", "name_hi", "mobile", "uhid")
    found = Patient.objects.filter(id__in=ids).values_list(*columns)
    by_id = {row[0]: row[1:] for row in found}
    picks = [by_id[i] for i in ids if i in by_id]
    latin = [p[0] for p in picks if p[0]][:per_kind]
    deva = [p[1] for p in picks if p[1]][:per_kind]
    return {
        # A first name and the start of the surname, as a clerk types them.
        "name (Latin)": [f"{n.split()[0]} {n.split()[-1][:4]}".lower() for n in latin],
        "name (Devanagari)": [f"{n.split()[0]} {n.split()[-1][:3]}" for n in deva],
        "mobile": [p[2] for p in picks if p[2]][:per_kind],
        "UHID": [p[3] for p in picks][:per_kind],
    }


def explain(query: str) -> dict[str, Any]:
    """The plan of every statement ``find_patients(query)`` runs (PostgreSQL: with
    ANALYZE and BUFFERS, so the plan shows the times and whether the index was used),
    the time those statements take on their own, and how many rows the name condition
    matches before find_patients' limit of candidates."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from nirantar.registration.queries import find_patients

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        find_patients(query)
        total_ms = (time.perf_counter() - started) * 1000
    plans, sql_ms, matched = [], 0.0, None
    with connection.cursor() as cursor:
        for statement in captured.captured_queries:
            sql = statement["sql"]
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            sql_ms += (time.perf_counter() - started) * 1000
            if " LIMIT 200" in sql:  # the name query: find_patients asks for 200 candidates
                cursor.execute(
                    f"SELECT count(*) FROM ({sql.replace(' LIMIT 200', '')}) AS matched"  # noqa: S608
                )
                matched = cursor.fetchone()[0]
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                lines = [row[0] for row in cursor.fetchall()]
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                lines = [row[-1] for row in cursor.fetchall()]
            plans.append(sql + "\n" + "\n".join(lines))
    return {
        "plan": "\n\n".join(plans),
        "find_ms": total_ms,
        "sql_ms": sql_ms,
        "matched": matched,
    }


def disk_usage(node_dir: Path) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_database_size(current_database()), "
                "pg_relation_size('registration_patient'), "
                "pg_total_relation_size('registration_patient'), "
                "pg_relation_size('registration_patient_search_trgm')"
            )
            database, table, total, trgm = cursor.fetchone()
            return {
                "database_bytes": database,
                "table_bytes": table,
                "name_index_bytes": trgm,
                "other_index_bytes": total - table - trgm,
            }
        cursor.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")
        sizes = dict(cursor.fetchall())
    database = node_dir / "nirantar.sqlite3"
    wal = node_dir / "nirantar.sqlite3-wal"
    name_index = sum(v for k, v in sizes.items() if k.startswith("registration_patient_fts"))
    table = sizes.get("registration_patient", 0)
    indexes = sum(
        v
        for k, v in sizes.items()
        if k.startswith(("patient_", "sqlite_autoindex_registration_patient"))
    )
    return {
        "database_bytes": database.stat().st_size,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        "table_bytes": table,
        "name_index_bytes": name_index,
        "other_index_bytes": indexes,
    }


def measure(engine: str, count: int, queries: int) -> dict[str, Any]:
    node_dir = cache_dir(engine, count) / "node"
    os.environ["NIRANTAR_DATA_DIR"] = str(node_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from nirantar.registration.queries import find_patients

    # A cached database was loaded by an older commit: bring it to this one's schema, as a
    # node does on start (new tables only, so quick even at 10M patients).
    call_command("migrate", interactive=False, verbosity=0)

    if connection.vendor == "postgresql":
        # A hub runs all day: the patient table and its indexes are in memory, not on
        # disk. The server was just started on its data directory, so read them in (the
        # indexes into shared buffers, the table into the OS cache, as SQLite's is).
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            cursor.execute(
                "SELECT pg_prewarm('registration_patient', 'read'), "
                "sum(pg_prewarm(indexrelid, 'read')) FROM pg_index "
                "WHERE indrelid = 'registration_patient'::regclass"
            )
            # The indexes these searches use, in shared buffers (at 10M they need ~2 GB).
            cursor.execute(
                "SELECT sum(pg_prewarm(indexrelid)) FROM pg_index "
                "WHERE indrelid = 'registration_patient'::regclass AND ("
                "indexrelid::regclass::text = 'registration_patient_search_trgm' OR "
                "indexrelid::regclass::text = 'patient_mobile' OR "
                "indexrelid::regclass::text LIKE 'registration_patient_uhid%%')"
            )
    measured = sample_queries(queries, seed=5)
    warm_up = sample_queries(50, seed=99)
    results: dict[str, Any] = {}
    plans: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        # A counter node runs all day: measure with its index in memory, not fresh from
        # disk. The warm-up searches are other patients than those measured.
        for value in warm_up[kind]:
            find_patients(value)
        times, found, slowest = [], 0, ("", -1.0)
        for value in measured[kind]:
            started = time.perf_counter()
            _, hits = find_patients(value)
            elapsed = (time.perf_counter() - started) * 1000
            times.append(elapsed)
            found += bool(hits)
            slowest = max(slowest, (value, elapsed), key=lambda pair: pair[1])
        results[kind] = {**summary(times), "found": found, "slowest": slowest[0]}
        plans[kind] = explain(slowest[0])
    return {
        "engine": engine,
        "patients": count,
        "vendor": connection.vendor,
        "kinds": results,
        "plans": plans,
        "disk": disk_usage(node_dir),
    }


# -- the whole run ----------------------------------------------------------------------


def run_one(engine: str, count: int, queries: int, seed: int) -> dict[str, Any]:
    server = None
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    try:
        if engine == "postgres":
            server = PostgresServer(cache_dir(engine, count))
            server.start()
            load = load_postgres(server, count, seed)
            env["NIRANTAR_DATABASE_URL"] = server.url()
        else:
            load = load_sqlite(count, seed)
        done = subprocess.run(
            [sys.executable, "-m", "bench.search", "measure", engine, str(count), str(queries)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"measuring {engine} at {count}: {done.stderr[-3000:]}")
        result = json.loads(done.stdout[done.stdout.index("{") :])
    finally:
        if server is not None:
            server.stop()
    result["load"] = load
    plans = cache_dir(engine, count) / "plans.txt"
    plans.write_text(
        "\n\n".join(
            f"== {kind}: {v['find_ms']:.1f} ms in find_patients, {v['sql_ms']:.1f} ms in SQL, "
            f"{v['matched']} rows matched\n{v['plan']}"
            for kind, v in result["plans"].items()
        )
    )
    return result


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = dict(zip(KINDS, ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=True))
    styles = {"sqlite": ("-", "o", "SQLite (edge)"), "postgres": ("--", "s", "PostgreSQL (hub)")}
    fig, ax = plt.subplots(figsize=(8, 6.5), dpi=110)
    for engine in ENGINES:
        mine = sorted((r for r in runs if r["engine"] == engine), key=lambda r: r["patients"])
        if not mine:
            continue
        line, marker, label = styles[engine]
        for kind in KINDS:
            ax.plot(
                [r["patients"] for r in mine],
                [r["kinds"][kind]["p95"] for r in mine],
                linestyle=line,
                marker=marker,
                color=colours[kind],
                label=f"{kind}, {label}",
            )
        ax.axhline(GOAL_MS[engine], color="grey", linestyle=line, linewidth=0.8)
        ax.annotate(
            f"goal {label}: {GOAL_MS[engine]:.0f} ms",
            (0.01, GOAL_MS[engine]),
            xycoords=("axes fraction", "data"),
            fontsize=8,
            color="grey",
            va="bottom",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("patients")
    ax.set_ylabel("find_patients p95 (ms)")
    ax.set_title("Patient search: p95 latency against number of patients")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run(
    sizes: list[int], engines: list[str], queries: int, plot_path: Path | None, seed: int = 11
) -> dict[str, Any]:
    runs = []
    for engine in engines:
        for count in sizes:
            print(f"search: {engine}, {count:,} patients ...", file=sys.stderr, flush=True)
            runs.append(run_one(engine, count, queries, seed))
    if plot_path is not None:
        plot(runs, plot_path)
    return {
        "sizes": sizes,
        "engines": engines,
        "queries": queries,
        "pg_settings": PG_SETTINGS,
        "pg_locale": PG_LOCALE,
        "plot": _shown(plot_path) if plot_path else "",
        "runs": runs,
    }


def main() -> None:
    if sys.argv[1:2] == ["measure"]:
        engine, count, queries = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        print(json.dumps(measure(engine, count, queries)))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sizes", default="1M,10M", help="patient counts, e.g. 10k,100k (quick) or 1M,10M"
    )
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--queries", type=int, default=200, help="measured queries of each kind")
    parser.add_argument("--plot", type=Path, help="write the latency plot here (PNG)")
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    for engine in engines:
        if engine not in ENGINES:
            parser.error(f"unknown engine {engine}")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    plot_path = args.plot if args.plot is None or args.plot.is_absolute() else ROOT / args.plot
    result = run(sizes, engines, args.queries, plot_path)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
