"""Patient search among N patients on SQLite: by name (either script), mobile and UHID.

The patients are bulk-loaded straight into the registration read model (with its
full-text index kept by the same triggers as in production), not written as
events: this measures search, and registration is measured on its own. The data
directory is cached in bench/out/ so later runs skip the load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from bench.common import OUT, summary
from bench.names import given_names, person

DISTRICTS = ["Sitapur", "Patna", "Alwar", "South Delhi", "Gurugram", "Agra", "Gaya", "Bareilly"]


def node_dir(count: int) -> Path:
    return OUT / f"search-{count}"


def build(count: int, seed: int = 11) -> Path:
    """A node whose read model holds ``count`` patients (cached)."""
    data_dir = node_dir(count)
    database = data_dir / "nirantar.sqlite3"
    done = data_dir / "loaded"
    if done.exists():
        return data_dir
    if data_dir.exists():
        subprocess.run(["rm", "-rf", str(data_dir)], check=True)
    env = {**os.environ, "NIRANTAR_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "-m", "nirantar.cli", "init", "--node", "search-bench", "--number", "900"],
        env=env,
        check=True,
        capture_output=True,
    )
    from nirantar.ledger.numbering import NumberFormat

    uhid_format = NumberFormat("uhid")
    rng = random.Random(seed)  # noqa: S311 - sample data
    given = given_names()
    started = time.perf_counter()
    db = sqlite3.connect(database)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    mobiles: set[str] = set()
    batch: list[tuple[Any, ...]] = []
    columns = (
        "uhid, is_registered, name_hi, name_en, sex, date_of_birth, dob_estimated, "
        "guardian_relation, guardian_name, mobile, abha_number, category, address_line, "
        "district, state, pin, registered_at_ms, registered_by, registered_node, search_text, "
        "field_stamps"
    )
    placeholders = ", ".join("?" * 21)
    sql = f"INSERT INTO registration_patient ({columns}) VALUES ({placeholders})"  # noqa: S608
    for i in range(1, count + 1):
        # NFC, as the registration path stores every name (the corpus is not all NFC).
        name_en, name_hi = (unicodedata.normalize("NFC", n) for n in person(rng, given))
        guardian = person(rng, given)[0]
        mobile = f"{rng.choice('6789')}{rng.randrange(10**9):09d}"
        while mobile in mobiles:
            mobile = f"{rng.choice('6789')}{rng.randrange(10**9):09d}"
        mobiles.add(mobile)
        # A fifth of patients were registered with only one script, as happens at a counter.
        roll = rng.random()
        if roll < 0.1:
            name_hi = ""
        elif roll < 0.2:
            name_en = ""
        search_text = " | ".join(p.lower() for p in (name_en, name_hi, guardian) if p)
        batch.append(
            (
                uhid_format.format(900, i),
                1,
                name_hi,
                name_en,
                rng.choice("MF"),
                f"{rng.randint(1930, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                0,
                "C/O",
                guardian,
                mobile,
                "",
                "general",
                "",
                rng.choice(DISTRICTS),
                "Uttar Pradesh",
                "261001",
                1_700_000_000_000 + i,
                "bench",
                "search-bench",
                search_text,
                "{}",
            )
        )
        if len(batch) == 20000:
            db.executemany(sql, batch)
            db.commit()
            batch.clear()
            print(f"  {i:,} patients loaded ({time.perf_counter() - started:.0f} s)", flush=True)
    if batch:
        db.executemany(sql, batch)
        db.commit()
    db.execute("ANALYZE")
    db.close()
    done.write_text(f"{count} patients, seed {seed}\n")
    return data_dir


def sample_queries(data_dir: Path, per_kind: int, seed: int = 5) -> dict[str, list[str]]:
    rng = random.Random(seed)  # noqa: S311
    db = sqlite3.connect(data_dir / "nirantar.sqlite3")
    total = db.execute("SELECT max(id) FROM registration_patient").fetchone()[0]
    picks = [
        db.execute(
            "SELECT name_en, name_hi, mobile, uhid FROM registration_patient WHERE id = ?",
            (rng.randint(1, total),),
        ).fetchone()
        for _ in range(per_kind * 3)
    ]
    db.close()
    latin = [p[0] for p in picks if p[0]][:per_kind]
    deva = [p[1] for p in picks if p[1]][:per_kind]
    return {
        # A clerk types a first name and part of the surname, either script.
        "name (Latin)": [f"{n.split()[0]} {n.split()[1][:4]}".lower() for n in latin],
        "name (Devanagari)": [f"{n.split()[0]} {n.split()[1][:3]}" for n in deva],
        "mobile": [p[2] for p in picks[:per_kind]],
        "UHID": [p[3] for p in picks[:per_kind]],
    }


def measure_in_process(
    data_dir: Path, queries: dict[str, list[str]], warm_up: dict[str, list[str]]
) -> dict[str, Any]:
    os.environ["NIRANTAR_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from nirantar.registration.queries import find_patients

    results: dict[str, Any] = {}
    for kind, values in queries.items():
        # A counter node runs all day: measure with its index in memory, not fresh from
        # disk. The warm-up searches are other patients than those measured.
        for value in warm_up.get(kind, []):
            find_patients(value)
        times, found = [], 0
        for value in values:
            started = time.perf_counter()
            _, patients = find_patients(value)
            times.append((time.perf_counter() - started) * 1000)
            found += bool(patients)
        results[kind] = {**summary(times), "found": found}
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    data_dir = build(args.patients)
    queries = sample_queries(data_dir, args.queries)
    size = (data_dir / "nirantar.sqlite3").stat().st_size
    result = {
        "patients": args.patients,
        "database_mb": round(size / 2**20),
        "kinds": measure_in_process(data_dir, queries, sample_queries(data_dir, 50, seed=99)),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
