"""Counter-time duplicate suggestions among N patients, from the database.

    python -m bench.dedupe [--patients 1000000] [--queries 200]

The same synthetic population as ``bench.matching_scale`` (Zipf-like given names,
families sharing a surname, a father and often a phone), but stored as a node stores
it: patients bulk-loaded into the registration read model and their blocking keys into
``dedupe_blocking_key`` (not written as events: this measures the suggestions, and
registration is measured on its own). Each query is a fresh noisy registration of a
patient already there; the time is ``dedupe.queries.find_suggestions``: the bucket
look-ups, reading the candidates' rows, the cheap screen and the scoring. The data
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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import OUT, summary
from bench.matching_pairs import register
from bench.matching_scale import population
from nirantar.registration.matching import blocking_keys

NODE = 901


def node_dir(count: int, seed: int) -> Path:
    return OUT / f"dedupe-{count}-{seed}"


def uhid_of(number: int) -> str:
    from nirantar.ledger.numbering import NumberFormat

    return NumberFormat("uhid").format(NODE, number + 1)


def build(count: int, seed: int) -> tuple[Path, dict[int, Any]]:
    """A node whose read model holds ``count`` patients and their keys (cached), and the
    people behind a sample of them (rebuilt from the seed: cheap beside the load)."""
    data_dir = node_dir(count, seed)
    done = data_dir / "loaded"
    started = time.perf_counter()
    records, people = population(count, seed)
    print(f"  {count:,} records made ({time.perf_counter() - started:.0f} s)", flush=True)
    if done.exists():
        return data_dir, people
    if data_dir.exists():
        subprocess.run(["rm", "-rf", str(data_dir)], check=True)
    env = {**os.environ, "NIRANTAR_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "-m", "nirantar.cli", "init", "--node", "dedupe-bench"]
        + ["--number", str(NODE)],
        env=env,
        check=True,
        capture_output=True,
    )
    db = sqlite3.connect(data_dir / "nirantar.sqlite3")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    patient_sql = (
        "INSERT INTO registration_patient (uhid, is_registered, name_hi, name_en, sex, "
        "date_of_birth, dob_estimated, guardian_relation, guardian_name, mobile, abha_number, "
        "abha_address, category, address_line, district, state, pin, registered_at_ms, "
        "registered_by, registered_node, search_text, field_stamps) "
        "VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, '', '', 'general', '', ?, '', '', ?, 'bench', "
        "'dedupe-bench', ?, '{}')"
    )
    key_sql = "INSERT INTO dedupe_blocking_key (key, uhid) VALUES (?, ?)"
    patients: list[tuple[Any, ...]] = []
    keys: list[tuple[str, str]] = []
    for number, r in enumerate(records):
        uhid = uhid_of(number)
        text = " | ".join(p.lower() for p in (r.name_en, r.name_hi, r.guardian_name) if p)
        patients.append(
            (
                uhid,
                r.name_hi,
                r.name_en,
                r.sex,
                r.birth_date.isoformat() if r.birth_date else None,
                int(r.birth_estimated),
                r.guardian_relation,
                r.guardian_name,
                r.mobile,
                r.district,
                1_700_000_000_000 + number,
                text[:400],
            )
        )
        keys += [(key, uhid) for key in blocking_keys(r)]
        if len(patients) == 20000 or number == len(records) - 1:
            db.executemany(patient_sql, patients)
            db.executemany(key_sql, keys)
            db.commit()
            patients.clear()
            keys.clear()
            print(f"  {number + 1:,} patients loaded ({time.perf_counter() - started:.0f} s)")
    db.execute("ANALYZE")
    db.close()
    done.write_text(f"{count} patients, seed {seed}\n")
    return data_dir, people


def measure(data_dir: Path, people: dict[int, Any], queries: int, seed: int) -> dict[str, Any]:
    os.environ["NIRANTAR_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from nirantar.dedupe.queries import candidates, find_suggestions

    rng = random.Random(seed + 1)  # noqa: S311 - sample data
    subjects = sorted(people)[:queries]
    # A counter runs all day: measure warm, after a few searches for other patients.
    for number in sorted(people)[queries : queries + 20]:
        find_suggestions(register(people[number], rng, date(2026, 1, 1)))
    times, cpu, looked, found, first = [], [], [], 0, 0
    for number in subjects:
        on = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
        query = register(people[number], rng, on)
        t0, c0 = time.perf_counter(), time.process_time()
        suggested = [s.patient.uhid for s in find_suggestions(query)]
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        looked.append(float(len(candidates(query))))
        found += uhid_of(number) in suggested
        first += bool(suggested) and suggested[0] == uhid_of(number)
    return {
        "queries": len(subjects),
        "ms": summary(times),
        "cpu_ms": summary(cpu),
        "candidates": summary(looked),
        "found_original": found,
        "original_first": first,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    data_dir, people = build(args.patients, args.seed)
    size = (data_dir / "nirantar.sqlite3").stat().st_size
    result = {
        "patients": args.patients,
        "database_mb": round(size / 2**20),
        **measure(data_dir, people, args.queries, args.seed),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
