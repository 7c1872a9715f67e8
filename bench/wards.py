"""The bed board of the whole hospital - 3,300 beds, about 3,000 of them occupied - over
the JSON API and as the ward screen, against a real node over HTTP (issue's target:
under 300 ms).

One node on SQLite. Its wards and patients are written through the wards' and the
registration's own actions, in a process of the node's own, before it serves: a
3,300-bed layout (``catalogue.hospital_wards``), then patients registered and admitted
to beds spread over every ward (men to men's wards, women to women's), a few discharged
(their beds waiting to be cleaned), a few beds reserved and a few out of service. Then
the node serves and a nurse - bearer token for the API, a signed-in session for the
screen - asks for the whole hospital's board, one request after another.

Server time is read from each response's Server-Timing header (the node's own time);
wall time is what a client on loopback waited, on a kept-alive connection. Every board
is a read of the patients it shows: the first request of a session or token each day
records every patient shown (here, in the warm-up), later ones only patients not shown
yet, as in production. SQL queries per request are counted in-process (Django's test client, same
settings and data).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import summary
from bench.names import given_names, person
from bench.timeline import server_ms, sign_in
from tests.system.node import NodeProcess

TARGET_MS = 300  # the bed board of the whole hospital renders in under this
DOCTOR, NURSE = "doctor", "nurse"
QUIET = {"NIRANTAR_PRINT_WARMUP": "0", "NIRANTAR_LOG_LEVEL": "WARNING"}
CHUNK = 100  # admissions per write transaction while preparing
DIAGNOSES = [
    "Community-acquired pneumonia",
    "Acute exacerbation of COPD",
    "Uncontrolled type 2 diabetes",
    "Acute gastroenteritis with dehydration",
    "Dengue fever with thrombocytopenia",
    "Cellulitis of the left leg",
    "Acute appendicitis",
    "Fracture neck of femur",
    "Hypertensive urgency",
    "Urinary tract infection",
]


def requests() -> list[tuple[str, str, str]]:
    """(key, client, path): the whole hospital's board, as JSON and as the ward screen."""
    return [("api", "api", "/api/v1/beds"), ("screen", "screen", "/wards/")]


# -- the hospital, written in the node's own process before it serves ------------------


def prepare(
    data_dir: str,
    beds: int,
    patients: int,
    discharged: int,
    reserved: int,
    out_of_service: int,
    seed: int = 13,
) -> dict[str, Any]:
    """Define ``beds`` beds, admit ``patients`` (``discharged`` of them then discharged),
    reserve and take out of service a few of the beds left, all through the actions."""
    os.environ["NIRANTAR_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from nirantar.ledger.writer import writing
    from nirantar.registration import actions as registration
    from nirantar.wards import actions as wards
    from nirantar.wards import catalogue

    rng = random.Random(seed)  # noqa: S311 - sample data
    # Not the corpus's few names with a stray apostrophe or backslash (refused at the desk).
    given = [
        (en, hi)
        for en, hi in given_names()
        if re.fullmatch(r"[A-Za-z ]+", en) and not re.search(r"[!-~]", hi)
    ]
    layout = catalogue.hospital_wards(beds)
    started = time.perf_counter()
    with writing():
        for ward in layout:
            wards.do_define_ward("admin", ward)
    sex_of = {b["bed"]: w["sex"] for w in layout for b in w["beds"]}
    codes = list(sex_of)
    assert len(codes) == beds, (len(codes), beds)
    # Occupied beds spread over every ward (a board with every ward part full).
    chosen = rng.sample(codes, patients)
    left = [c for c in codes if c not in set(chosen)]

    def register(bed: str) -> str:
        sex = sex_of[bed] if sex_of[bed] in ("M", "F") else rng.choice("MF")
        name_en, name_hi = person(rng, given)
        patient = registration.do_register_patient(
            "clerk",
            {"name_en": name_en, "name_hi": name_hi, "sex": sex, "age_years": rng.randint(1, 90)},
        )
        return patient.uhid

    admissions: list[str] = []
    for start in range(0, len(chosen), CHUNK):
        with writing():  # a chunk of patients registered and admitted: one transaction
            for bed in chosen[start : start + CHUNK]:
                admission = wards.do_admit(
                    "clerk",
                    {
                        "uhid": register(bed),
                        "bed": bed,
                        "attending": DOCTOR,
                        "diagnosis": rng.choice(DIAGNOSES),
                        "source": rng.choice(["opd", "opd", "emergency"]),
                    },
                )
                admissions.append(admission.admission_no)
    admitted_seconds = time.perf_counter() - started
    with writing():
        for number in rng.sample(admissions, discharged):
            wards.do_discharge(
                DOCTOR, number, {"type": "normal", "diagnoses": "Improved; discharged home"}
            )
        for bed in left[:reserved]:
            wards.do_reserve_bed("clerk", bed, register(bed), "coming from the emergency")
        for bed in left[reserved : reserved + out_of_service]:
            wards.do_set_bed_service("nurse", bed, False, "bed rail broken, sent for repair")
    return {
        "wards": len(layout),
        "admitted": len(admissions),
        "admit_seconds": admitted_seconds,
        "write_seconds": time.perf_counter() - started,
    }


def probe(data_dir: str, token: str) -> dict[str, Any]:
    """SQL queries per request, in-process (Django's test client, same settings and data)."""
    os.environ["NIRANTAR_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from nirantar.accounts.models import User

    screen = Client()
    screen.force_login(User.objects.get(username=NURSE))
    api = Client(headers={"Authorization": f"Bearer {token}"})
    found: dict[str, Any] = {}
    for key, which, path in requests():
        client = api if which == "api" else screen
        if client.get(path).status_code != 200:  # warm; the screen may not exist yet
            continue
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200, response.status_code
        found[key] = {"queries": len(captured.captured_queries)}
    return found


def profile(data_dir: str, token: str, path: str, repeat: int = 5) -> str:
    """cProfile of ``repeat`` requests of ``path`` in-process: where the time goes."""
    import cProfile
    import io
    import pstats

    os.environ["NIRANTAR_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from django.test import Client

    from nirantar.accounts.models import User

    if path.startswith("/api/"):
        client = Client(headers={"Authorization": f"Bearer {token}"})
    else:
        client = Client()
        client.force_login(User.objects.get(username=NURSE))
    client.get(path)  # warm
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


# -- measuring ---------------------------------------------------------------------------


def measure(client: httpx.Client, path: str, warmup: int, iterations: int) -> dict[str, Any]:
    server, wall = [], []
    content = b""
    for i in range(warmup + iterations):
        started = time.perf_counter()
        response = client.get(path)
        content = response.content
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code, content[:300])
        if i >= warmup:
            server.append(server_ms(response.headers))
            wall.append(elapsed)
    return {
        "server": {**summary(server), "max": max(server)},
        "wall": {**summary(wall), "max": max(wall)},
        "bytes": len(content),
        "body": content,
    }


def database_stats(data_dir: Path) -> dict[str, Any]:
    database = data_dir / "nirantar.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        def one(sql: str) -> int:
            return int(db.execute(sql).fetchone()[0])

        stats = {
            "events": one("SELECT count(*) FROM ledger_event"),
            "patients": one("SELECT count(*) FROM registration_patient"),
            "beds": one("SELECT count(*) FROM wards_bed WHERE listed"),
            "states": dict(
                db.execute("SELECT state, count(*) FROM wards_bed GROUP BY state").fetchall()
            ),
        }
    size = sum(p.stat().st_size for p in data_dir.glob("nirantar.sqlite3*"))
    stats["database_mb"] = round(size / 2**20, 1)
    return stats


def internal(env: dict[str, str], *args: str) -> Any:
    """A step in a process of its own (Django set up for the node's data directory): the
    JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.wards", *args],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.wards {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    beds: int = 3300,
    patients: int = 3040,
    iterations: int = 30,
    warmup: int = 5,
    discharged: int = 40,
    reserved: int = 20,
    out_of_service: int = 12,
    keep: str = "",
) -> dict[str, Any]:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nirantar-wards-") as tmp:
        # keep: a directory to leave the node in afterwards (to profile it), else a temporary one
        node = NodeProcess(Path(keep or tmp) / "ward-1", "ward-1", 101, extra_env=QUIET)
        node.init()  # with a clerk
        node.add_user(DOCTOR, "doctor")  # the attending of every admission
        node.add_user(NURSE, "nurse")  # node.token is now the nurse's
        env = {**node.env, "DJANGO_SETTINGS_MODULE": "nirantar.settings"}
        step = [str(n) for n in (beds, patients, discharged, reserved, out_of_service)]
        made = internal(env, "prepare", str(node.data_dir), *step)
        stats = database_stats(node.data_dir)
        node.start(workers=2, threads=4)
        results: dict[str, Any] = {}
        missing: dict[str, int] = {}
        load = os.getloadavg()[0]  # the machine is shared: say how busy it was
        try:
            api = httpx.Client(
                base_url=node.url, timeout=60, headers={"Authorization": f"Bearer {node.token}"}
            )
            screen = sign_in(node.url, NURSE, f"{NURSE}-has-a-long-passphrase")
            try:
                for key, which, path in requests():
                    client = api if which == "api" else screen
                    status = client.get(path).status_code
                    if status != 200:  # the ward screen is being built elsewhere
                        missing[key] = status
                        continue
                    results[key] = measure(client, path, warmup, iterations)
            finally:
                api.close()
                screen.close()
            load = max(load, os.getloadavg()[0])
        finally:
            node.stop()
        if "api" in results:
            board = json.loads(results["api"].pop("body"))
            results["api"]["shown"] = len(board["beds"])
            results["api"]["occupied"] = board["counts"].get("occupied", 0)
            assert results["api"]["shown"] == beds, results["api"]["shown"]
        if "screen" in results:
            page = results["screen"].pop("body").decode()
            results["screen"]["shown"] = len(set(re.findall(r"\bW\d{3}-\d{2}\b", page)))
        queries = internal({**env, "BENCH_TOKEN": node.token}, "probe", str(node.data_dir))
    for key in results:
        results[key].update(queries.get(key, {"queries": None}))
    return {
        "beds": beds,
        "patients": patients - discharged,
        "discharged": discharged,
        "reserved": reserved,
        "out_of_service": out_of_service,
        "iterations": iterations,
        "warmup": warmup,
        **made,
        **stats,
        "seconds": time.perf_counter() - began,
        "requests": results,
        "missing": missing,
        "load": round(load, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    step = sub.add_parser("prepare", help="(internal) write the hospital, in the node's process")
    step.add_argument("data_dir")
    for name in ("beds", "patients", "discharged", "reserved", "out_of_service"):
        step.add_argument(name, type=int)
    look = sub.add_parser("probe", help="(internal) count SQL queries per request")
    look.add_argument("data_dir")
    prof = sub.add_parser("profile", help="cProfile a request in-process (a prepared node)")
    prof.add_argument("data_dir")
    prof.add_argument("path")
    parser.add_argument("--beds", type=int, default=3300)
    parser.add_argument("--patients", type=int, default=3040)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--keep", default="", help="leave the node in this directory")
    args = parser.parse_args()
    if args.command == "prepare":
        print(
            json.dumps(
                prepare(
                    args.data_dir,
                    args.beds,
                    args.patients,
                    args.discharged,
                    args.reserved,
                    args.out_of_service,
                )
            )
        )
    elif args.command == "probe":
        print(json.dumps(probe(args.data_dir, os.environ["BENCH_TOKEN"])))
    elif args.command == "profile":
        print(profile(args.data_dir, os.environ.get("BENCH_TOKEN", ""), args.path))
    else:
        print(json.dumps(run(args.beds, args.patients, args.iterations, keep=args.keep), indent=2))


if __name__ == "__main__":
    main()
