"""`nirantar drill ransomware`: rehearse the worst night on a demo cluster, and count.

A hub and two counters (the demo hospital, real processes on loopback) register patients
and sync. Counter A closes; counter B registers more, which reach the hub; the hub is
backed up. Then the attack: the hub's database and counter B's are encrypted in place
(overwritten with ciphertext of themselves) and those servers stop - so counter B's last
patients are now only in the backup. Counter A opens again and keeps registering alone.
Then the recovery the runbook describes: a new hub is restored from the backup, enrolled
under a new number with the offline authority key, and takes everything since the backup
from the surviving counter by sync; the lost counter is replaced by a new node that fills
itself from the new hub.

The report counts every event the backup covers or the survivor holds, before the attack
and during it, and how many of them the new hub holds: ``lost: N`` - 0 is the only passing
value. What the attacked nodes wrote after the backup (the hub's own record of it) is out
of every copy's reach; the report lists it by type.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nirantar.demo import FIRST, LAST, DemoHospital, DemoNode, wait_until


@dataclass
class DrillReport:
    before: int = 0  # events in the hospital just before the attack
    during: int = 0  # written on the survivor while the hub was gone
    expected: int = 0
    only_in_backup: int = 0  # events no surviving node held: the backup had to bring them
    # Written on the attacked nodes after the backup (the hub's record of that backup):
    # out of every copy's reach by construction, listed by type, not counted as lost.
    out_of_reach: list[str] = field(default_factory=list)
    restored_from_backup: int = 0
    after: int = 0  # on the new hub at the end
    lost: int = 0
    refused: int = 0
    restore_seconds: float = 0.0
    recovered_seconds: float = 0.0
    patients_before: int = 0
    patients_after: int = 0
    lines: list[str] = field(default_factory=list)


def _status(node: DemoNode) -> dict[str, Any]:
    return dict(json.loads(node.cli("status", "--json")))


def _union(vectors: list[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for vector in vectors:
        for origin, seq in vector.items():
            merged[origin] = max(merged.get(origin, 0), seq)
    return merged


def _register(url: str, token: str, count: int, step: int) -> None:
    for n in range(count):
        name = f"{FIRST[(n + step) % len(FIRST)]} {LAST[(n * 3 + step) % len(LAST)]}"
        body = json.dumps({"name_en": name, "sex": "F", "age_years": 30 + n}).encode()
        request = urllib.request.Request(  # noqa: S310 - our own loopback node
            f"{url}/api/v1/patients",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            if response.status != 201:
                raise SystemExit(f"registering at {url} answered {response.status}")


def _encrypt_in_place(data_dir: Path) -> None:
    """What ransomware does to a database: the same bytes, encrypted with a key it keeps."""
    key = secrets.token_bytes(4096)
    for path in data_dir.glob("nirantar.sqlite3*"):
        data = path.read_bytes()
        path.write_bytes(bytes(b ^ key[i % len(key)] for i, b in enumerate(data)))


def ransomware(root: Path, host: str, port: int, patients: int = 5) -> DrillReport:
    report = DrillReport()
    say = report.lines.append
    hospital = DemoHospital(root / "cluster", host, port)
    hub, counter_a, counter_b = hospital.hub, *hospital.counters
    offline = root / "offline"  # what the IT team keeps off the network
    try:
        hospital.set_up()
        for node in hospital.nodes:
            if not node.running:
                node.start(host)
        for node in hospital.nodes:
            node.wait_up(host)
        offline.mkdir(parents=True, exist_ok=True)
        shutil.copy(hub.data_dir / "authority.key", offline / "authority.key")
        hub.cli("backup-key", "new", str(offline / "backup"))
        token = hub.cli("token", "clerk").strip()

        def converged() -> bool:
            vectors = [_status(n)["vector"] for n in hospital.nodes]
            return all(v == vectors[0] for v in vectors)

        wait_until(converged, "the three nodes to hold the same events")
        # Counter A closes (its cable is out): what counter B registers now reaches the hub,
        # and so the backup, but no node that will survive the attack.
        counter_a.stop()
        _register(hospital.url(counter_b), token, patients, 0)
        wait_until(
            lambda: _status(hub)["vector"] == _status(counter_b)["vector"],
            "counter-b's new patients to reach the hub",
        )
        covered = _status(hub)["vector"]
        made = hub.cli("backup", "--to", str(root / "backup"), "--key", str(offline / "backup.pub"))
        say(f"backup of the hub: {made.strip()}")
        report.patients_before = _patients(hub)

        # The attack: the hub and counter B encrypted; their servers stop.
        out_of_reach = sorted({*_written_after(hub, covered), *_written_after(counter_b, covered)})
        for victim in (hub, counter_b):
            victim.stop()
            _encrypt_in_place(victim.data_dir)
        say("attack: the hub's and counter-b's databases encrypted in place; both down")
        # Counter A opens again and the hospital goes on there, alone.
        counter_a.start(host)
        counter_a.wait_up(host)
        survivor = _status(counter_a)["vector"]
        only_in_backup = sum(max(0, s - survivor.get(o, 0)) for o, s in covered.items())
        say(
            f"{only_in_backup} events (counter-b's, while counter-a was closed) are now only "
            "in the backup"
        )
        _register(hospital.url(counter_a), token, patients, 3)
        during = _status(counter_a)["vector"]
        before = _union([covered, survivor])
        report.before = sum(before.values())
        expected = _union([before, during])
        report.expected = sum(expected.values())
        report.during = report.expected - report.before
        report.only_in_backup = only_in_backup
        report.out_of_reach = out_of_reach
        say(f"counter-a registered {patients} patients with the hub and counter-b gone")

        # Recovery: a new hub from the backup, enrolled anew, filled by the survivor.
        started = time.perf_counter()
        new_hub = DemoNode("hub-2", root / "hub-2", hub.port)
        restored = new_hub.cli(
            "rebuild-hub",
            "--from",
            str(root / "backup"),
            "--key",
            str(offline / "backup.key"),
            "--node",
            "hub-2",
            "--number",
            "11",
            "--authority-key",
            str(offline / "authority.key"),
            "--peer",
            hospital.url(counter_a),
        )
        report.restore_seconds = time.perf_counter() - started
        report.restored_from_backup = sum(
            int(n.replace(",", "")) for n in re.findall(r"restored ([\d,]+) events", restored)
        )
        for line in restored.splitlines():
            if line.startswith("duplicates"):
                report.refused = int(line.rsplit("refused", 1)[1].strip())
        new_hub.start(host)  # on the old hub's address: the counter's peer entry finds it
        new_hub.wait_up(host)
        counter_a.succeeds("sync")  # the survivor gives the new hub everything since the backup

        def recovered() -> bool:
            have = _status(new_hub)["vector"]
            return all(have.get(o, 0) >= seq for o, seq in expected.items())

        wait_until(recovered, "the new hub to hold every event", timeout=60)
        report.recovered_seconds = time.perf_counter() - started
        # Counter B is replaced by a new node, which fills itself from the new hub.
        replacement = DemoNode("counter-c", root / "counter-c", counter_b.port, "C")
        code = (
            replacement.cli(
                "init",
                "--node",
                "counter-c",
                "--join",
                hospital.url(new_hub),
                "--url",
                hospital.url(replacement),
                "--counter-letter",
                "C",
            )
            .strip()
            .splitlines()[-1]
        )
        new_hub.cli("enrol", "approve", code, "--number", "12")
        replacement.start(host)
        replacement.wait_up(host)
        wait_until(
            lambda: (
                replacement.succeeds("sync")
                and all(_status(replacement)["vector"].get(o, 0) >= s for o, s in expected.items())
            ),
            "the replacement counter to fill itself",
        )
        after = _status(new_hub)["vector"]
        report.after = sum(after.values())
        report.lost = sum(max(0, seq - after.get(origin, 0)) for origin, seq in expected.items())
        report.patients_after = _patients(new_hub)
        new_hub.stop()
        replacement.stop()
    finally:
        for node in hospital.nodes:
            node.stop()
    return report


def _written_after(node: DemoNode, covered: dict[str, int]) -> list[str]:
    """The events ``node`` holds beyond what the backup covers, as "origin#seq type"."""
    import sqlite3

    found: list[str] = []
    with sqlite3.connect(node.data_dir / "nirantar.sqlite3") as db:
        for origin in _status(node)["vector"]:
            found += [
                f"{origin}#{n} {kind}"
                for n, kind in db.execute(
                    "SELECT seq, type FROM ledger_event WHERE origin = ? AND seq > ? ORDER BY seq",
                    [origin, covered.get(origin, 0)],
                )
            ]
    return found


def _patients(node: DemoNode) -> int:
    import sqlite3

    with sqlite3.connect(node.data_dir / "nirantar.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM registration_patient").fetchone()[0])


def text(report: DrillReport) -> str:
    lines = [
        "Ransomware drill",
        *(f"  {line}" for line in report.lines),
        f"events before the attack:     {report.before:,}",
        f"  of them only in the backup: {report.only_in_backup:,}",
        f"written during the outage:    {report.during:,}",
        f"restored from the backup:     {report.restored_from_backup:,}",
        f"on the new hub at the end:    {report.after:,}",
        f"patients before / after:      {report.patients_before:,} / {report.patients_after:,}",
        f"restore took {report.restore_seconds:.1f} s; every event back after "
        f"{report.recovered_seconds:.1f} s",
        f"refused: {report.refused}",
        f"lost: {report.lost}",
    ]
    if report.out_of_reach:
        lines.append(
            "written on the attacked nodes after the backup, out of any copy's reach: "
            + ", ".join(report.out_of_reach)
        )
    return "\n".join(lines)
