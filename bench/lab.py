"""Analyser results in: ORU^R01 messages over MLLP into `nirantar lab listen`, as fast as
the listener acknowledges them (target: at least 200 messages a second, every one stored
and acknowledged AA).

One node on SQLite. Its samples are written through the laboratory's own actions, in a
process of the node's own, before it serves: patients registered, tests ordered and
collected (one sample per order, each under an accession minted here). Then the node
serves, `nirantar lab listen` runs as its own process, and a client on loopback sends one
ORU^R01 per sample - 3 to 6 OBX each, in each analyser's own codes (a Sysmex XN-1000 for
blood counts, a cobas c 311 for chemistry, an Access 2 for thyroid tests) - and waits for
each ACK before sending the next, as an analyser does. First on one connection, then on
several at once (analysers side by side). Afterwards the stored results are counted in
the node's database: they must equal the OBX sent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import summary
from bench.names import given_names, person
from tests.system.mllp import Listener, MllpClient, oru
from tests.system.node import NodeProcess

TARGET = 200  # messages a second, one connection, each stored and acknowledged AA
QUIET = {"NIRANTAR_PRINT_WARMUP": "0", "NIRANTAR_LOG_LEVEL": "WARNING"}
PER_PATIENT = 5  # samples per patient

# The test ordered -> (the analyser that runs it, its codes with a plausible value range).
PANELS: dict[str, tuple[str, list[tuple[str, float, float, int, str]]]] = {
    "CBC": (
        "XN1000",
        [
            ("HGB", 8.0, 17.5, 1, "g/dL"),
            ("WBC", 3.0, 14.0, 1, "10^3/uL"),
            ("RBC", 3.5, 6.0, 2, "10^6/uL"),
            ("HCT", 30.0, 52.0, 1, "%"),
            ("MCV", 70.0, 105.0, 1, "fL"),
            ("PLT", 90.0, 450.0, 0, "10^3/uL"),
        ],
    ),
    "LFT": (
        "COBASC311",
        [
            ("BILT3", 0.2, 2.5, 1, "mg/dL"),
            ("BILD2", 0.0, 0.8, 2, "mg/dL"),
            ("ALTL", 10.0, 120.0, 0, "U/L"),
            ("ASTL", 10.0, 110.0, 0, "U/L"),
            ("ALP2", 40.0, 250.0, 0, "U/L"),
            ("ALB2", 2.8, 5.2, 1, "g/dL"),
            ("TP2", 5.5, 8.5, 1, "g/dL"),
        ],
    ),
    "KFT": (
        "COBASC311",
        [
            ("UREAL", 12.0, 90.0, 0, "mg/dL"),
            ("CREJ2", 0.5, 3.0, 2, "mg/dL"),
            ("NA", 128.0, 148.0, 0, "mmol/L"),
            ("K", 3.0, 5.8, 1, "mmol/L"),
            ("CL", 94.0, 110.0, 0, "mmol/L"),
            ("UA2", 2.5, 9.0, 1, "mg/dL"),
        ],
    ),
    "LIPID": (
        "COBASC311",
        [
            ("CHOL2", 120.0, 290.0, 0, "mg/dL"),
            ("TRIGL", 60.0, 400.0, 0, "mg/dL"),
            ("HDLC4", 28.0, 75.0, 0, "mg/dL"),
            ("LDLC3", 60.0, 200.0, 0, "mg/dL"),
        ],
    ),
    "TFT": (
        "ACCESS2",
        [
            ("TT3", 60.0, 220.0, 0, "ng/dL"),
            ("TT4", 4.0, 14.0, 1, "ug/dL"),
            ("TSH3", 0.2, 9.0, 2, "mIU/L"),
        ],
    ),
}


# -- the samples, written in the node's own process before it serves -------------------


def prepare(data_dir: str, count: int, seed: int = 11) -> dict[str, Any]:
    """Register patients, order and collect ``count`` samples through the actions."""
    os.environ["NIRANTAR_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from nirantar.lab import actions as lab
    from nirantar.ledger.writer import writing
    from nirantar.registration import actions as registration

    given = given_names()
    rng = random.Random(seed)  # noqa: S311 - sample data
    tests = list(PANELS)
    samples: list[tuple[str, str, str]] = []
    started = time.perf_counter()
    while len(samples) < count:
        with writing():  # one patient, their orders and samples: one transaction
            patient = registration.do_register_patient(
                "clerk",
                {
                    "name_en": person(rng, given)[0],
                    "sex": rng.choice("MF"),
                    "age_years": rng.randint(1, 85),
                },
            )
            for _ in range(min(PER_PATIENT, count - len(samples))):
                test = rng.choice(tests)
                order = lab.do_order("doctor", patient.uhid, [test], source="lab")
                [sample] = lab.do_collect("lab", order.order_no)
                samples.append((patient.uhid, sample.accession, test))
    return {"samples": samples, "seconds": time.perf_counter() - started}


# -- the analysers' side -----------------------------------------------------------------


def messages(
    samples: list[tuple[str, str, str]], prefix: str, seed: int
) -> list[tuple[str, str, int]]:
    """(control id, ORU^R01, OBX count) for each sample: 3 to 6 results of its panel."""
    rng = random.Random(seed)  # noqa: S311 - sample data
    made = []
    for i, (uhid, accession, test) in enumerate(samples):
        instrument, codes = PANELS[test]
        chosen = rng.sample(codes, rng.randint(3, min(6, len(codes))))
        results = [
            (code, f"{rng.uniform(low, high):.{decimals}f}", unit)
            for code, low, high, decimals, unit in chosen
        ]
        control_id = f"{prefix}{i + 1:06d}"
        made.append(
            (control_id, oru(instrument, control_id, uhid, accession, results, test), len(results))
        )
    return made


def send_all(port: int, batch: list[tuple[str, str, int]], latencies: list[float]) -> None:
    """One connection: each message sent, its ACK awaited and checked, then the next."""
    with MllpClient(port) as analyser:
        for control_id, message, _ in batch:
            started = time.perf_counter()
            ack = analyser.send(message)
            latencies.append((time.perf_counter() - started) * 1000)
            if (ack.code, ack.control_id) != ("AA", control_id):
                raise AssertionError(f"{control_id}: {ack.raw!r}")


def phase(port: int, batch: list[tuple[str, str, int]], connections: int) -> dict[str, Any]:
    shares = [batch[i::connections] for i in range(connections)]
    latencies: list[list[float]] = [[] for _ in shares]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            send_all(port, shares[i], latencies[i])
        except BaseException as exc:  # noqa: BLE001 - reported after the others finish
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    results = sum(n for _, _, n in batch)
    return {
        "connections": connections,
        "messages": len(batch),
        "results": results,
        "seconds": seconds,
        "messages_per_second": len(batch) / seconds,
        "results_per_second": results / seconds,
        "latency_ms": summary([ms for share in latencies for ms in share]),
    }


def stored(data_dir: Path) -> dict[str, Any]:
    database = data_dir / "nirantar.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        def one(sql: str) -> int:
            return int(db.execute(sql).fetchone()[0])

        found = {
            "results": one("SELECT count(*) FROM lab_result WHERE source = 'analyser'"),
            "resulted_samples": one("SELECT count(*) FROM lab_sample WHERE status = 'resulted'"),
            "failures": one("SELECT count(*) FROM lab_message_failure"),
            "events": one("SELECT count(*) FROM ledger_event"),
        }
    size = sum(p.stat().st_size for p in data_dir.glob("nirantar.sqlite3*"))
    found["database_mb"] = round(size / 2**20, 1)
    return found


def run(count: int = 1000, parallel: int = 3, warmup: int = 20, seed: int = 11) -> dict[str, Any]:
    began = time.perf_counter()
    total = warmup + count + (count if parallel else 0)
    with tempfile.TemporaryDirectory(prefix="nirantar-lab-") as tmp:
        node = NodeProcess(Path(tmp) / "lab-1", "lab-1", 101, extra_env=QUIET)
        node.init()
        node.add_user("tech", "lab")  # node.token: the lab's, to read a sample back
        done = subprocess.run(
            [sys.executable, "-m", "bench.lab", "prepare", str(node.data_dir), str(total)],
            env={**node.env, "DJANGO_SETTINGS_MODULE": "nirantar.settings"},
            check=True,
            capture_output=True,
            text=True,
        )
        made = json.loads(done.stdout.strip().splitlines()[-1])
        samples = [tuple(s) for s in made["samples"]]
        assert len(samples) == total, (len(samples), total)
        warm = messages(samples[:warmup], "W", seed)
        sequential = messages(samples[warmup : warmup + count], "S", seed + 1)
        side_by_side = messages(samples[warmup + count :], "P", seed + 2)
        sent = sum(n for batch in (warm, sequential, side_by_side) for _, _, n in batch)

        node.start(workers=2, threads=4)
        listener = Listener(node)
        phases: dict[str, Any] = {}
        try:
            listener.start()
            phase(listener.port, warm, 1)  # the listener's first messages import and connect
            phases["sequential"] = phase(listener.port, sequential, 1)
            if parallel:
                phases["parallel"] = phase(listener.port, side_by_side, parallel)
            # Read back through the API: the last sample's results await verification.
            accession = samples[-1][1]
            status, sample = node.json("GET", f"/api/v1/lab/samples/{accession}")
            assert status == 200 and sample["status"] == "resulted", sample
            assert sample["results"] and not any(r["verified"] for r in sample["results"])
        finally:
            listener.stop()
            node.stop()
        found = stored(node.data_dir)
    assert found["results"] == sent, f"{found['results']} results stored of {sent} sent"
    assert found["failures"] == 0, f"{found['failures']} messages in the error queue"
    assert found["resulted_samples"] == total, found
    return {
        "messages": count,
        "warmup": warmup,
        "parallel": parallel,
        "samples": total,
        "patients": -(-total // PER_PATIENT),
        "prepare_seconds": made["seconds"],
        "obx_sent": sent,
        **found,
        "phases": phases,
        "seconds": time.perf_counter() - began,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    step = sub.add_parser("prepare", help="(internal) write the samples, in the node's process")
    step.add_argument("data_dir")
    step.add_argument("count", type=int)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=3, help="connections at once (0: none)")
    args = parser.parse_args()
    if args.command == "prepare":
        print(json.dumps(prepare(args.data_dir, args.count)))
    else:
        print(json.dumps(run(args.messages, args.parallel), indent=2))


if __name__ == "__main__":
    main()
