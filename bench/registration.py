"""Register patient + read it + register visit + render slip, against a real node over HTTP.

Server time is read from each response's Server-Timing header (the node's own
time); wall time is what a client on loopback waited.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import summary
from bench.names import given_names, person
from tests.system.node import NodeProcess

DEPARTMENTS = ["Medicine", "Surgery", "Paediatrics", "ENT", "Ophthalmology", "Dermatology"]


def server_ms(headers: dict[str, str]) -> float:
    match = re.search(r"dur=([\d.]+)", headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else float("nan")


def run(iterations: int = 300, warmup: int = 20, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)  # noqa: S311 - sample data
    given = given_names()
    with tempfile.TemporaryDirectory(prefix="nirantar-bench-") as tmp:
        node = NodeProcess(Path(tmp) / "counter-1", "counter-1", 101)
        node.init()
        node.start(workers=2, threads=4)
        try:
            steps: dict[str, list[float]] = {k: [] for k in ("patient", "read", "visit", "slip")}
            walls: dict[str, list[float]] = {k: [] for k in steps}
            combined, combined_wall, create_read_wall = [], [], []
            for i in range(warmup + iterations):
                name_en, name_hi = person(rng, given)
                body = {
                    "name_en": name_en,
                    "name_hi": name_hi,
                    "sex": rng.choice("MF"),
                    "age_years": rng.randint(0, 90),
                    "mobile": f"9{rng.randrange(10**9):09d}",
                    "guardian_relation": "C/O",
                    "guardian_name": person(rng, given)[0],
                    "address": {"district": "Sitapur", "state": "Uttar Pradesh", "pin": "261001"},
                }
                timings, wall = {}, {}
                started = time.perf_counter()
                status, headers, content = node.request("POST", "/api/v1/patients", body)
                assert status == 201, content
                wall["patient"] = (time.perf_counter() - started) * 1000
                timings["patient"] = server_ms(headers)
                uhid = json.loads(content)["uhid"]

                started = time.perf_counter()
                status, headers, content = node.request("GET", f"/api/v1/patients/{uhid}")
                assert status == 200, content
                wall["read"] = (time.perf_counter() - started) * 1000
                timings["read"] = server_ms(headers)

                started = time.perf_counter()
                status, headers, content = node.request(
                    "POST", "/api/v1/visits", {"uhid": uhid, "department": rng.choice(DEPARTMENTS)}
                )
                assert status == 201, content
                wall["visit"] = (time.perf_counter() - started) * 1000
                timings["visit"] = server_ms(headers)
                slip = json.loads(content)["slip"]

                started = time.perf_counter()
                status, headers, content = node.request("GET", slip)
                assert status == 200 and content.startswith(b"%PDF")
                wall["slip"] = (time.perf_counter() - started) * 1000
                timings["slip"] = server_ms(headers)

                if i >= warmup:
                    for key in steps:
                        steps[key].append(timings[key])
                        walls[key].append(wall[key])
                    combined.append(timings["patient"] + timings["visit"] + timings["slip"])
                    combined_wall.append(wall["patient"] + wall["visit"] + wall["slip"])
                    create_read_wall.append(wall["patient"] + wall["read"])
        finally:
            node.stop()
    return {
        "iterations": iterations,
        "server": {k: summary(v) for k, v in steps.items()},
        "wall": {k: summary(v) for k, v in walls.items()},
        "register_visit_slip_server": summary(combined),
        "register_visit_slip_wall": summary(combined_wall),
        "create_read_wall": summary(create_read_wall),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    print(json.dumps(run(parser.parse_args().iterations), indent=2))
