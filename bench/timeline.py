"""A patient with 200 past OPD visits: their timeline over the API, on the desk, and the
doctor's consultation panel, against a real node over HTTP (issue 5's target: under 200 ms).

The visits are written through the node's own actions, in a process of the node's own,
before it serves: each is registered at the counter, called, seen (vitals, complaints,
diagnoses, a prescription, sometimes lab tests and advice with a follow-up) and closed,
as at a real desk. The actions give every event the clock's time, so the visits all
fall on the day of the run; the reads fetch a patient's visits by UHID, not by date.
A 201st visit, today's, is in consultation: the one the doctor opens.

Server time is read from each response's Server-Timing header (the node's own time);
wall time is what a client on loopback waited, on a kept-alive connection as a browser
keeps one. Every read is audited (an event is written per request), as in production.
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
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import summary
from tests.system.node import NodeProcess

TARGET_MS = 200  # issue 5: the timeline of a patient with 200 past visits renders in under this
CLERK, DOCTOR = "clerk", "doctor"
QUIET = {"NIRANTAR_PRINT_WARMUP": "0", "NIRANTAR_LOG_LEVEL": "WARNING"}

# A man with type 2 diabetes and hypertension, seen for them and for what comes along.
CHRONIC = ["E11.9", "I10", "E78.5"]
ACUTE = ["J06.9", "M54.5", "K21.9", "E55.9", "M17.9", "N39.0"]
DRUGS = [
    ("MET500", "1 tablet", "BD", "after food"),
    ("GLIM1", "1 tablet", "OD", "before food"),
    ("TELMI40", "1 tablet", "OD", ""),
    ("AMLO5", "1 tablet", "OD", ""),
    ("ATOR10", "1 tablet", "HS", "at bedtime"),
    ("ASP75", "1 tablet", "OD", "after food"),
    ("PAN40", "1 tablet", "OD", "before food"),
    ("PARA650", "1 tablet", "SOS", "if fever is above 100°F"),
    ("CETZ10", "1 tablet", "HS", "may cause drowsiness; do not drive"),
    ("VITD60K", "1 capsule", "WEEKLY", "with food"),
    ("CALC500", "1 tablet", "OD", "after food"),
]
COMPLAINTS = [
    "Routine follow-up for diabetes and BP. No new complaints.",
    "Tingling in both feet for two weeks, worse at night.",
    "Headache in the mornings, occasional giddiness.",
    "Cough and cold for 3 days, mild fever.",
    "Lower back pain after lifting, 5 days.",
    "Burning after meals, sour belching.",
    "Pain in the right knee on climbing stairs.",
    "Increased thirst and frequent urination.",
    "Burning micturition for 2 days.",
    "Feels tired through the day; sugar at home 180-220.",
]
ADVICE = [
    "Walk 30 minutes daily. Avoid sweets and fried food. Check sugar at home twice a week.",
    "Low-salt diet. Take BP tablets every day even when you feel well.",
    "Bring the fasting sugar and HbA1c reports on the next visit.",
    "Steam inhalation, warm fluids. Come back if fever lasts more than 3 days.",
]
LAB_PANELS = [["HBA1C", "FBS"], ["FBS", "PPBS"], ["LIPID", "KFT"], ["CBC", "URINE"], ["HBA1C"]]
DEPARTMENTS = ["MED"] * 17 + ["ORT", "ENT", "DER"]


def prepare(data_dir: str, visits: int, seed: int = 7) -> dict[str, Any]:
    """Write the patient and their visits through the actions (in the node's own process)."""
    os.environ["NIRANTAR_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from nirantar import timeutil
    from nirantar.ledger.writer import writing
    from nirantar.opd import actions as opd
    from nirantar.registration import actions as registration

    rng = random.Random(seed)
    patient = registration.do_register_patient(
        CLERK,
        {
            "name_en": "Ramesh Kumar Yadav",
            "name_hi": "रमेश कुमार यादव",
            "sex": "M",
            "age_years": 58,
            "mobile": "9839012345",
            "guardian_relation": "S/O",
            "guardian_name": "Shiv Prasad Yadav",
            "address": {"district": "Sitapur", "state": "Uttar Pradesh", "pin": "261001"},
        },
    )
    uhid = patient.uhid
    today = timeutil.today()
    weight, systolic, orders = 82.0, 150, 0
    started = time.perf_counter()
    for _ in range(visits):
        with writing():  # one visit, start to close, in one transaction
            visit = registration.do_register_visit(CLERK, uhid, rng.choice(DEPARTMENTS))
            number = visit.visit_no
            opd.do_call(DOCTOR, number)
            opd.do_start(DOCTOR, number)
            weight = min(95.0, max(70.0, weight + rng.uniform(-1.2, 1.0)))
            systolic = min(175, max(118, systolic + rng.randint(-8, 7)))
            opd.do_record_vitals(
                DOCTOR,
                number,
                {
                    "bp_systolic": systolic,
                    "bp_diastolic": rng.randint(systolic // 2 + 10, systolic // 2 + 25),
                    "pulse": rng.randint(64, 96),
                    "weight_kg": round(weight, 1),
                    "height_cm": 168,
                },
            )
            opd.do_record_note(
                DOCTOR, number, {"kind": "complaints", "text": rng.choice(COMPLAINTS)}
            )
            codes = [rng.choice(CHRONIC)]
            if rng.random() < 0.5:
                codes.append(rng.choice([c for c in CHRONIC + ACUTE if c != codes[0]]))
            for code in codes:
                status = "final" if code in CHRONIC else "provisional"
                opd.do_record_diagnosis(DOCTOR, number, {"code": code, "status": status})
            items = [
                {
                    "drug": drug,
                    "dose": dose,
                    "frequency": frequency,
                    "duration_days": rng.choice([15, 30, 30, 60]),
                    "instructions": instructions,
                }
                for drug, dose, frequency, instructions in rng.sample(DRUGS, rng.randint(2, 4))
            ]
            opd.do_prescribe(DOCTOR, number, {"items": items})
            if rng.random() < 0.35:
                opd.do_order_labs(DOCTOR, number, {"tests": rng.choice(LAB_PANELS)})
                orders += 1
            if rng.random() < 0.5:
                follow_up = today + timedelta(days=rng.choice([14, 30, 60, 90]))
                opd.do_record_note(
                    DOCTOR,
                    number,
                    {
                        "kind": "advice",
                        "text": rng.choice(ADVICE),
                        "follow_up": follow_up.isoformat(),
                    },
                )
            opd.do_close(DOCTOR, number)
    # Today's visit: the nurse's part is done, the doctor has the patient in front of them.
    with writing():
        visit = registration.do_register_visit(CLERK, uhid, "MED")
        opd.do_call(DOCTOR, visit.visit_no)
        opd.do_start(DOCTOR, visit.visit_no)
        opd.do_record_vitals(
            DOCTOR,
            visit.visit_no,
            {"bp_systolic": 146, "bp_diastolic": 90, "pulse": 82, "weight_kg": 81.4},
        )
        opd.do_record_note(
            DOCTOR, visit.visit_no, {"kind": "complaints", "text": "Follow-up. Sugar 190 fasting."}
        )
    return {
        "uhid": uhid,
        "visit": visit.visit_no,
        "lab_orders": orders,
        "write_seconds": time.perf_counter() - started,
    }


def probe(data_dir: str, uhid: str, visit: str, token: str) -> dict[str, Any]:
    """SQL queries per request, in-process (Django's test client, same settings and data)."""
    os.environ["NIRANTAR_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from nirantar.accounts.models import User

    desk = Client()
    desk.force_login(User.objects.get(username=DOCTOR))
    api = Client(headers={"Authorization": f"Bearer {token}"})
    found: dict[str, Any] = {}
    for key, client, path in requests(uhid, visit):
        client = api if client == "api" else desk
        client.get(path)  # warm
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, headers={"HX-Request": "true"})
        assert response.status_code == 200, response.status_code
        found[key] = {"queries": len(captured.captured_queries)}
    return found


def requests(uhid: str, visit: str) -> list[tuple[str, str, str]]:
    return [
        ("api", "api", f"/api/v1/patients/{uhid}/timeline"),
        ("desk", "desk", f"/desk/patients/{uhid}/timeline"),
        ("panel", "desk", f"/desk/visits/{visit}"),
    ]


def server_ms(headers: httpx.Headers) -> float:
    match = re.search(r"dur=([\d.]+)", headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else float("nan")


def sign_in(url: str, username: str, password: str) -> httpx.Client:
    """Sign in through the login form as a browser does: CSRF cookie, then the post."""
    client = httpx.Client(base_url=url, timeout=30)
    client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": f"{url}/login/"},
    )
    location = response.headers.get("location", "")
    assert response.status_code == 302 and "/login/" not in location, (response, location)
    return client


def measure(
    client: httpx.Client, path: str, headers: dict[str, str], warmup: int, iterations: int
) -> dict[str, Any]:
    server, wall = [], []
    content = b""
    for i in range(warmup + iterations):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        content = response.content
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code, content[:300])
        if i >= warmup:
            server.append(server_ms(response.headers))
            wall.append(elapsed)
    return {
        "server": summary(server),
        "wall": summary(wall),
        "bytes": len(content),
        "body": content,
    }


def database_stats(data_dir: Path, uhid: str) -> dict[str, Any]:
    database = data_dir / "nirantar.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        one = db.execute
        stats = {
            "events": one("SELECT count(*) FROM ledger_event").fetchone()[0],
            "patient_events": one(
                "SELECT count(*) FROM ledger_event WHERE stream = ?", (f"patient:{uhid}",)
            ).fetchone()[0],
            "entries": one("SELECT count(*) FROM opd_entry WHERE uhid = ?", (uhid,)).fetchone()[0],
            "visits_stored": one(
                "SELECT count(*) FROM registration_visit WHERE uhid = ?", (uhid,)
            ).fetchone()[0],
            "lab_orders": one("SELECT count(*) FROM lab_order WHERE uhid = ?", (uhid,)).fetchone()[
                0
            ],
        }
    size = sum(p.stat().st_size for p in data_dir.glob("nirantar.sqlite3*"))
    stats["database_mb"] = round(size / 2**20, 1)
    return stats


def run(
    visits: int = 200, iterations: int = 200, warmup: int = 10, seed: int = 7
) -> dict[str, Any]:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nirantar-timeline-") as tmp:
        node = NodeProcess(Path(tmp) / "opd-1", "opd-1", 101, extra_env=QUIET)
        node.init()  # with a clerk
        node.add_user(DOCTOR, "doctor")  # node.token is now the doctor's
        env = {**node.env, "DJANGO_SETTINGS_MODULE": "nirantar.settings"}
        done = subprocess.run(
            [sys.executable, "-m", "bench.timeline", "prepare", str(node.data_dir), str(visits)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        made = json.loads(done.stdout.strip().splitlines()[-1])
        uhid, visit = made["uhid"], made["visit"]
        stats = database_stats(node.data_dir, uhid)
        node.start(workers=2, threads=4)
        results: dict[str, Any] = {}
        try:
            api = httpx.Client(
                base_url=node.url,
                timeout=30,
                headers={"Authorization": f"Bearer {node.token}"},
            )
            desk = sign_in(node.url, DOCTOR, f"{DOCTOR}-has-a-long-passphrase")
            try:
                for key, which, path in requests(uhid, visit):
                    client = api if which == "api" else desk
                    headers = {} if which == "api" else {"HX-Request": "true"}
                    results[key] = measure(client, path, headers, warmup, iterations)
            finally:
                api.close()
                desk.close()
        finally:
            node.stop()
        shown = {
            "api": len(json.loads(results["api"].pop("body"))["visits"]),
            "desk": results["desk"].pop("body").count(b'class="visit-record"'),
            "panel": results["panel"].pop("body").count(b'class="visit-record"'),
        }
        done = subprocess.run(
            [sys.executable, "-m", "bench.timeline", "probe", str(node.data_dir), uhid, visit],
            env={**env, "BENCH_TOKEN": node.token},
            check=True,
            capture_output=True,
            text=True,
        )
        queries = json.loads(done.stdout.strip().splitlines()[-1])
    for key in results:
        results[key]["shown"] = shown[key]
        results[key].update(queries[key])
    return {
        "visits": visits,
        "iterations": iterations,
        "warmup": warmup,
        "write_seconds": made["write_seconds"],
        "seconds": time.perf_counter() - began,
        **stats,
        "requests": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    step = sub.add_parser("prepare", help="(internal) write the visits, in the node's process")
    step.add_argument("data_dir")
    step.add_argument("visits", type=int)
    look = sub.add_parser("probe", help="(internal) count SQL queries per request")
    look.add_argument("data_dir")
    look.add_argument("uhid")
    look.add_argument("visit")
    parser.add_argument("--visits", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    if args.command == "prepare":
        print(json.dumps(prepare(args.data_dir, args.visits)))
    elif args.command == "probe":
        token = os.environ["BENCH_TOKEN"]
        print(json.dumps(probe(args.data_dir, args.uhid, args.visit, token)))
    else:
        print(json.dumps(run(args.visits, args.iterations), indent=2))


if __name__ == "__main__":
    main()
