"""40 registration counters at once: register + read + visit + slip against real nodes.

Closed loop with think time. A real counter is a closed loop: a clerk registers a
patient, prints the slip, hands it over and calls the next - she never has two
registrations in flight, and the next one starts only after the last slip came out
plus the time she spends with the next patient. So each simulated counter is one
thread with its own kept-alive HTTP connection and its own clerk (a bearer token
issued to that clerk), doing the four steps in sequence, then "thinking" for an
exponentially distributed time (mean ``think`` s) before the next patient. The think
time is compressed far below a real clerk's (tens of seconds per patient) so that 40
counters offer a load several times a large hospital's OPD peak; its mean is in the
report, with the throughput actually reached.

Three set-ups, each a fresh node (or database):

* ``edge``: one node on SQLite, 2 gunicorn workers x 4 threads (the `serve` defaults);
* ``hub``: one node on PostgreSQL with ``hub_workers`` workers x 4 threads;
* ``two``: two `nirantar serve` processes (two ports) over the same data directory and
  the same PostgreSQL database, each with ``hub_workers / 2`` workers; counters
  alternate between them. Afterwards every patient and visit registered through one
  is read through the other, and the UHIDs, visit numbers and OPD tokens are checked
  to be unique across both.

PostgreSQL is a throwaway server started with pytest-postgresql's executor (as the
tests do) but with the server's default durability (fsync and synchronous commit on),
as a hub would run; SQLite runs as a node does (WAL, synchronous=NORMAL).

Server time is each response's ``Server-Timing`` (the node's own time); wall is what
the counter waited. Any error fails the run.

Resident memory of the edge: VmRSS summed over the `serve` process tree (gunicorn
master, workers, the sync process and, while slips are printed, the renderer process
with the node's one Chromium and Playwright's driver), and PSS from smaps_rollup
(shared pages counted once), idle after start-up and busy (peak while the counters
run, and just after).

    python -m bench.load                          # full: 40 counters x 15 patients
    python -m bench.load --patients 4 --counters 8 --only edge     # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

import httpx

from bench.common import summary
from bench.names import given_names, person
from tests.system.node import NodeProcess

DEPARTMENTS = ["Medicine", "Surgery", "Paediatrics", "ENT", "Ophthalmology", "Dermatology"]
STEPS = ("register", "read", "visit", "slip")
SETUPS = ("edge", "hub", "two")


class LoadError(RuntimeError):
    """A request failed under load: the run is void."""


def server_ms(response: httpx.Response) -> float:
    match = re.search(r"dur=([\d.]+)", response.headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else float("nan")


# -- PostgreSQL -------------------------------------------------------------------


@contextmanager
def postgres() -> Iterator[tuple[str, Path]]:
    """A throwaway PostgreSQL server with default durability; yields a database URL and
    the server's data directory."""
    import shutil

    import psycopg
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    from tests.pgserver import PG_CTL

    base = Path(tempfile.mkdtemp(prefix="nirantar-bench-pg-"))
    base.chmod(0o777)  # the server runs as `postgres` when we run as root
    port = get_port(None)
    assert port is not None
    executor = PostgreSQLExecutor(
        executable=PG_CTL,
        host="127.0.0.1",
        port=port,
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"),
        startparams="-w",
        dbname="nirantar",
        user="postgres",
        postgres_options="-c max_connections=200",
        timeout=120,
    )
    executor.start()
    try:
        deadline = time.monotonic() + 60
        while True:  # pg_ctl -w may return while the server still says "starting up"
            try:
                with psycopg.connect(
                    f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
                ) as conn:
                    conn.execute("CREATE DATABASE nirantar")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield f"postgresql://postgres@127.0.0.1:{port}/nirantar", base / "data"
    finally:
        try:
            executor.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


# -- clerks -------------------------------------------------------------------------


def make_clerks(node: NodeProcess, count: int) -> list[str]:
    """``count`` clerks added at ``node`` and a bearer token for each, in one process."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", "clerks", str(count)],
        env=node.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise LoadError(f"adding clerks failed:\n{done.stdout}\n{done.stderr}")
    tokens = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(tokens) == count
    return list(tokens)


def _add_clerks(count: int) -> None:
    """Inside a node's environment: add counter-01..NN clerks and print their tokens."""
    from nirantar.cli import setup_django

    setup_django(None)
    from nirantar.accounts import actions

    tokens = []
    for i in range(1, count + 1):
        username = f"counter-{i:02d}"
        actions.do_add_user("bench", username, "clerk", f"{username}-has-a-long-passphrase")
        tokens.append(actions.do_issue_token("bench", username, label="load benchmark"))
    print(json.dumps(tokens))


# -- memory -------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _kb(path: Path, field: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(root: int, pss: bool = True) -> dict[str, Any]:
    """RSS and PSS (MB) of the process tree under ``root``, by kind of process. Reading
    PSS (smaps_rollup) costs real CPU for Chromium's processes: ``pss=False`` skips it."""
    kinds: dict[str, dict[str, float]] = {}
    for pid in process_tree(root):
        proc = Path(f"/proc/{pid}")
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "chrom" in cmdline or "headless_shell" in cmdline:
            kind = "chromium"
        elif "playwright" in cmdline or "/driver/node" in cmdline:
            kind = "playwright driver"
        elif "nirantar.printing.service" in cmdline:
            kind = "renderer process"
        elif " sync --forever" in cmdline:
            kind = "sync process"
        elif "nirantar.cli" in cmdline or "gunicorn" in cmdline or "nirantar-" in cmdline:
            kind = "gunicorn master + workers"
        else:
            kind = "other"
        entry = kinds.setdefault(kind, {"processes": 0, "rss_mb": 0.0, "pss_mb": 0.0})
        entry["processes"] += 1
        entry["rss_mb"] += _kb(proc / "status", "VmRSS") / 1024
        if pss:
            entry["pss_mb"] += _kb(proc / "smaps_rollup", "Pss") / 1024
    return {
        "rss_mb": round(sum(k["rss_mb"] for k in kinds.values()), 1),
        "pss_mb": round(sum(k["pss_mb"] for k in kinds.values()), 1),
        "processes": sum(int(k["processes"]) for k in kinds.values()),
        "by_kind": {
            name: {key: round(value, 1) for key, value in k.items()} for name, k in kinds.items()
        },
    }


def cpu_seconds(roots: list[int]) -> float:
    """User + system CPU time of the process trees under ``roots``, with reaped children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for root in roots:
        for pid in process_tree(root):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / tick


def own_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class MemorySampler:
    """Samples the tree's RSS every ``every`` s (cheaply: no PSS while the counters run);
    keeps the sample of largest RSS."""

    def __init__(self, root: int, every: float = 1.0) -> None:
        self.root, self.every = root, every
        self.peak: dict[str, Any] = {"rss_mb": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            sample = memory(self.root, pss=False)
            if sample["rss_mb"] > self.peak["rss_mb"]:
                self.peak = sample

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- the counters -------------------------------------------------------------------


def clean_given_names() -> list[tuple[str, str]]:
    """The corpus's names, less the few the registration form rightly refuses (an
    apostrophe in the Hindi spelling, say)."""
    latin, devanagari = re.compile(r"[A-Za-z ]+"), re.compile(r"[\u0900-\u097F ]+")
    return [
        (en, hi) for en, hi in given_names() if latin.fullmatch(en) and devanagari.fullmatch(hi)
    ]


def patient_body(rng: random.Random, given: list[str]) -> dict[str, Any]:
    name_en, name_hi = person(rng, given)
    return {
        "name_en": name_en,
        "name_hi": name_hi,
        "sex": rng.choice("MF"),
        "age_years": rng.randint(0, 90),
        "mobile": f"9{rng.randrange(10**9):09d}",
        "guardian_relation": "C/O",
        "guardian_name": person(rng, given)[0],
        "address": {"district": "Sitapur", "state": "Uttar Pradesh", "pin": "261001"},
    }


def transaction(
    client: httpx.Client, rng: random.Random, given: list[str]
) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    """One patient at one counter: (wall ms, server ms, what was registered)."""
    wall: dict[str, float] = {}
    server: dict[str, float] = {}

    def step(name: str, method: str, path: str, expect: int, body: Any = None) -> httpx.Response:
        started = time.perf_counter()
        response = client.request(method, path, json=body)
        wall[name] = (time.perf_counter() - started) * 1000
        server[name] = server_ms(response)
        if response.status_code != expect:
            raise LoadError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response

    body = patient_body(rng, given)
    patient = step("register", "POST", "/api/v1/patients", 201, body).json()
    uhid = patient["uhid"]
    read = step("read", "GET", f"/api/v1/patients/{uhid}", 200).json()
    if read["name_en"] != body["name_en"]:
        raise LoadError(f"read back {uhid}: {read['name_en']!r} != {body['name_en']!r}")
    department = rng.choice(DEPARTMENTS)
    visit = step(
        "visit", "POST", "/api/v1/visits", 201, {"uhid": uhid, "department": department}
    ).json()
    pdf = step("slip", "GET", visit["slip"], 200)
    if not pdf.content.startswith(b"%PDF"):
        raise LoadError(f"slip of {visit['visit']} is not a PDF")
    record = {
        "uhid": uhid,
        "name_en": body["name_en"],
        "visit": visit["visit"],
        "token": visit["token"],
        "department": visit["department"],
        "date": visit["date"],
    }
    return wall, server, record


def drive(
    urls: list[str],
    tokens: list[str],
    patients: int,
    warmup: int,
    think: float,
    seed: int,
    sampler_root: int | None = None,
    cpu_roots: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """Run len(tokens) counters, counter i against urls[i % len(urls)]."""
    counters = len(tokens)
    given = clean_given_names()
    barrier = threading.Barrier(counters + 1)
    lock = threading.Lock()
    walls: dict[str, list[float]] = {k: [] for k in STEPS}
    servers: dict[str, list[float]] = {k: [] for k in STEPS}
    totals: dict[str, list[float]] = {
        "wall_register_visit_slip": [],
        "server_register_visit_slip": [],
        "wall_register_read": [],
        "wall_all_four": [],
    }
    records: list[dict[str, Any]] = []
    errors: list[str] = []

    def counter(index: int) -> None:
        rng = random.Random(seed * 1000 + index)  # noqa: S311 - sample data
        url = urls[index % len(urls)]
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                for _ in range(warmup):
                    _, _, record = transaction(client, rng, given)
                    with lock:
                        records.append({**record, "server": url})
                barrier.wait(timeout=600)
                time.sleep(rng.uniform(0, think))  # counters don't start in lock-step
                for i in range(patients):
                    wall, server, record = transaction(client, rng, given)
                    with lock:
                        records.append({**record, "server": url})
                        for key in STEPS:
                            walls[key].append(wall[key])
                            servers[key].append(server[key])
                        rvs = ("register", "visit", "slip")
                        totals["wall_register_visit_slip"].append(sum(wall[k] for k in rvs))
                        totals["server_register_visit_slip"].append(sum(server[k] for k in rvs))
                        totals["wall_register_read"].append(wall["register"] + wall["read"])
                        totals["wall_all_four"].append(sum(wall.values()))
                    if i < patients - 1:
                        time.sleep(rng.expovariate(1 / think) if think > 0 else 0)
        except Exception as exc:  # noqa: BLE001 - every failure voids the run, reported below
            with lock:
                errors.append(f"counter {index + 1}: {type(exc).__name__}: {exc}")
            if not barrier.broken:
                barrier.abort()

    threads = [
        threading.Thread(target=counter, args=(i,), name=f"counter-{i + 1}")
        for i in range(counters)
    ]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):  # a counter failed: reported below
        barrier.wait(timeout=600)
    started = time.perf_counter()
    cpu_before = {name: cpu_seconds(roots) for name, roots in (cpu_roots or {}).items()}
    cpu_before["load generator"] = own_cpu_seconds()
    sampler = MemorySampler(sampler_root) if sampler_root else None
    with sampler or nullcontext():
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    cpu_after = {name: cpu_seconds(roots) for name, roots in (cpu_roots or {}).items()}
    cpu_after["load generator"] = own_cpu_seconds()
    if errors:
        raise LoadError(f"{len(errors)} counter(s) failed:\n" + "\n".join(errors))
    n = counters * patients
    cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
    return {
        "counters": counters,
        "patients_per_counter": patients,
        "transactions": n,
        "seconds": round(seconds, 1),
        "patients_per_second": round(n / seconds, 2),
        "think_mean_s": think,
        "errors": 0,
        # CPU time spent while the counters were measured (all processes of each tree,
        # reaped children included), and per patient: a figure less at the mercy of
        # the other load on a shared machine than the latencies are.
        "cpu_seconds": {name: round(value, 2) for name, value in cpu.items()},
        "cpu_ms_per_patient": {name: round(value / n * 1000, 1) for name, value in cpu.items()},
        "machine_load_average": os.getloadavg(),
        "wall": {k: summary(v) for k, v in walls.items()},
        "server": {k: summary(v) for k, v in servers.items()},
        "totals": {k: summary(v) for k, v in totals.items()},
        "records": records,
        "busy_peak": sampler.peak if sampler else None,
    }


# -- the set-ups ---------------------------------------------------------------------


def consistency(nodes: list[NodeProcess], token: str, records: list[dict[str, Any]]) -> dict:
    """Every patient and visit registered through one server, read through the other;
    UHIDs, visit numbers and (day, department, token) unique across both."""
    uhids = [r["uhid"] for r in records]
    visits = [r["visit"] for r in records]
    tokens = [(r["date"], r["department"], r["token"]) for r in records]
    problems = []
    for label, values in (("UHID", uhids), ("visit number", visits), ("OPD token", tokens)):
        if len(set(values)) != len(values):
            problems.append(f"{len(values) - len(set(values))} duplicate {label}s")
    by_url = {node.url: node for node in nodes}
    headers = {"Authorization": f"Bearer {token}"}
    clients = {url: httpx.Client(base_url=url, headers=headers, timeout=60) for url in by_url}
    checked = 0
    try:
        for record in records:
            other = next(url for url in by_url if url != record["server"])
            client = clients[other]
            patient = client.get(f"/api/v1/patients/{record['uhid']}")
            visit = client.get(f"/api/v1/visits/{record['visit']}")
            if patient.status_code != 200 or patient.json()["name_en"] != record["name_en"]:
                problems.append(f"{record['uhid']} not readable through {other}")
            elif visit.status_code != 200 or visit.json()["uhid"] != record["uhid"]:
                problems.append(f"visit {record['visit']} not readable through {other}")
            else:
                checked += 1
    finally:
        for client in clients.values():
            client.close()
    if problems:
        raise LoadError("two app servers disagree: " + "; ".join(problems[:20]))
    return {
        "cross_read": checked,
        "registered": len(records),
        "through": {url: sum(r["server"] == url for r in records) for url in by_url},
        "unique_uhids": len(set(uhids)),
        "unique_visits": len(set(visits)),
        "unique_tokens": len(set(tokens)),
    }


def wait_idle(seconds: float) -> None:
    """Let start-up finish (and a Chromium warm-up, if asked for) before memory is read."""
    time.sleep(seconds)


# Long enough that no gap between slips (the counters wait for each other after their
# warm-up) closes Chromium mid-run; short enough to wait for after it.
PDF_IDLE_SECONDS = 30


def idle_again(root: int) -> dict[str, Any]:
    """Memory once the node has closed Chromium after the load (``PDF_IDLE_SECONDS``)."""
    deadline = time.monotonic() + PDF_IDLE_SECONDS + 30
    while time.monotonic() < deadline:
        time.sleep(1)
        if "chromium" not in memory(root, pss=False)["by_kind"]:
            break
    time.sleep(2)  # let the renderer's driver exit too
    return memory(root)


def run_setup(
    setup: str,
    counters: int,
    patients: int,
    warmup: int,
    think: float,
    hub_workers: int,
    seed: int,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nirantar-load-") as tmp:
        data_dir = Path(tmp) / setup
        if setup == "edge":
            return _run_nodes(data_dir, "", counters, patients, warmup, think, 2, 1, seed)
        with postgres() as (url, pgdata):
            servers = 2 if setup == "two" else 1
            workers = max(1, hub_workers // servers)
            postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
            return _run_nodes(
                data_dir, url, counters, patients, warmup, think, workers, servers, seed, postmaster
            )


def _run_nodes(
    data_dir: Path,
    database: str,
    counters: int,
    patients: int,
    warmup: int,
    think: float,
    workers: int,
    servers: int,
    seed: int,
    postmaster: int | None = None,
) -> dict[str, Any]:
    # The edge closes Chromium sooner than the default 5 minutes, so that the run can
    # also read the memory of a node idle again after work (Chromium closed).
    quiet = {} if database else {"NIRANTAR_PDF_IDLE_SECONDS": str(PDF_IDLE_SECONDS)}
    first = NodeProcess(data_dir, "hub" if database else "counter-1", 101, extra_env=quiet)
    first.init(*(["--hub", "--database", database] if database else []))
    nodes = [first] + [NodeProcess(data_dir, first.name, 101) for _ in range(servers - 1)]
    result: dict[str, Any] = {
        "database": "PostgreSQL" if database else "SQLite",
        "servers": servers,
        "workers_per_server": workers,
        "threads_per_worker": 4,
    }
    try:
        tokens = make_clerks(first, counters)
        for node in nodes:
            node.start(workers=workers, threads=4)
        if not database:
            wait_idle(8)
            assert first.server is not None
            result["idle"] = memory(first.server.pid)
        root = first.server.pid if (not database and first.server) else None
        cpu_roots = {
            "node": [n.server.pid for n in nodes if n.server],
            "database": [postmaster] if postmaster else [],
        }
        load = drive([n.url for n in nodes], tokens, patients, warmup, think, seed, root, cpu_roots)
        if root:
            result["busy_peak"] = load["busy_peak"]
            result["after_load"] = memory(root)
            result["idle_after_load"] = idle_again(root)
        if servers > 1:
            result["consistency"] = consistency(nodes, first.token, load["records"])
        load.pop("records")
        load.pop("busy_peak")
        result.update(load)
    finally:
        for node in nodes:
            node.stop()
    return result


def run(
    counters: int = 40,
    patients: int = 15,
    warmup: int = 2,
    think: float = 10.0,
    hub_workers: int = 4,
    seed: int = 1,
    only: tuple[str, ...] = SETUPS,
    progress: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for setup in SETUPS:
        if setup not in only:
            continue
        progress(f"  load: {setup}, {counters} counters x {patients} patients ...")
        started = time.monotonic()
        results[setup] = run_setup(setup, counters, patients, warmup, think, hub_workers, seed)
        progress(f"  load: {setup} done in {time.monotonic() - started:.0f} s")
    return {
        "counters": counters,
        "patients": patients,
        "warmup": warmup,
        "think": think,
        "hub_workers": hub_workers,
        "load_average": os.getloadavg(),
        "setups": results,
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "clerks":
        _add_clerks(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counters", type=int, default=40)
    parser.add_argument("--patients", type=int, default=15, help="measured, per counter")
    parser.add_argument("--warmup", type=int, default=2, help="per counter, not measured")
    parser.add_argument("--think", type=float, default=10.0, help="mean think time, s")
    parser.add_argument("--hub-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", choices=SETUPS)
    args = parser.parse_args()
    result = run(
        args.counters,
        args.patients,
        args.warmup,
        args.think,
        args.hub_workers,
        args.seed,
        tuple(args.only or SETUPS),
    )
    print(json.dumps(result, indent=2, default=lambda v: None if math.isnan(v) else v))


if __name__ == "__main__":
    main()
