"""`nirantar demo`: a small hospital on this machine - a hub and two counters that sync.

    demo-data/hub        port 8000  holds the hospital's genesis and authority key
    demo-data/counter-a  port 8001  counter letter A, enrolled by the hub
    demo-data/counter-b  port 8002  counter letter B, enrolled by the hub

The counters are peers of the hub and of each other, so when the hub is down
they keep registering patients and keep seeing each other's work. Every node is
an ordinary `nirantar serve` process; the demo only starts them and lets you
stop and start the hub from the keyboard.
"""

from __future__ import annotations

import http.client
import json
import random
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nirantar.config import write_secret_file

DEMO_USERS = {
    "clerk": ("clerk", "Asha Verma"),
    "records": ("records", "Imran Qureshi"),
    "doctor": ("doctor", "Dr. Meera Iyer"),
    "nurse": ("nurse", "Sister Kavita Rawat"),
    "lab": ("lab", "Rohit Meena"),
    "pathologist": ("pathologist", "Dr. Farah Siddiqui"),
    "admin": ("admin", "IT Administrator"),
    "auditor": ("auditor", "Privacy Officer"),
    "hall-tv": ("display", "Waiting hall display"),
    "cashier": ("billing", "Sunil Yadav"),
    "accounts": ("accounts", "Nisha Kapoor"),
    "director": ("management", "Medical Superintendent"),
}
# Printed on prescriptions; a made-up number in the Delhi Medical Council's style.
DEMO_REGISTRATION_NO = {"doctor": "DMC/R/01234"}

FIRST = [
    "Ram",
    "Sunita",
    "Mohammad",
    "Priyanka",
    "Rajesh",
    "Geeta",
    "Arjun",
    "Fatima",
    "Suresh",
    "Kavita",
    "Vijay",
    "Anita",
    "Harpreet",
    "Rekha",
    "Imran",
    "Pooja",
]
LAST = [
    "Sharma",
    "Devi",
    "Khan",
    "Tripathi",
    "Yadav",
    "Kumari",
    "Singh",
    "Begum",
    "Gupta",
    "Verma",
    "Mishra",
    "Kaur",
    "Chauhan",
    "Prasad",
]
DISTRICTS = [
    ("Sitapur", "Uttar Pradesh", "261001"),
    ("Patna", "Bihar", "800001"),
    ("Alwar", "Rajasthan", "301001"),
    ("South Delhi", "Delhi", "110017"),
    ("Gurugram", "Haryana", "122001"),
]


# -- seeding a node (runs inside the node's own process) --------------------------
def ensure_users(data_dir: Path) -> dict[str, tuple[str, str]]:
    """Create demo users once; their random passwords are kept in demo-passwords.txt."""
    from nirantar.accounts import actions as accounts
    from nirantar.accounts.models import User

    path = data_dir / "demo-passwords.txt"
    known: dict[str, list[str]] = json.loads(path.read_text()) if path.exists() else {}
    for username, (role, full_name) in DEMO_USERS.items():
        if User.objects.filter(username=username).exists():
            continue
        password = f"demo-{secrets.token_urlsafe(9)}"
        accounts.do_add_user("demo", username, role, password, full_name)
        if username in DEMO_REGISTRATION_NO:
            accounts.do_change_user(
                "demo", username, registration_no=DEMO_REGISTRATION_NO[username]
            )
        known[username] = [role, password]
    if path.exists():
        path.unlink()
    write_secret_file(path, json.dumps(known, indent=2).encode())
    return {name: (v[0], v[1]) for name, v in known.items()}


def ensure_patients(count: int = 12, seed: int = 7) -> int:
    from django.conf import settings

    from nirantar.registration import actions as registration
    from nirantar.registration.models import Patient
    from nirantar.registration.transliterate import to_devanagari

    if Patient.objects.filter(registered_node=settings.NODE.node).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    departments = ["MED", "SUR", "PED", "OBG", "ORT", "ENT", "OPH", "DER"]
    for _ in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        district, state, pin = rng.choice(DISTRICTS)
        data = {
            "name_en": name,
            "name_hi": to_devanagari(name),
            "sex": rng.choice(["M", "F"]),
            "age_years": rng.randint(1, 85),
            "guardian_relation": rng.choice(["S/O", "D/O", "W/O", "C/O"]),
            "guardian_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "mobile": f"{rng.choice('6789')}{rng.randrange(10**9):09d}",
            "category": rng.choice(["general", "general", "bpl", "pmjay"]),
            "address": {
                "line": f"{rng.randint(1, 200)} Main Road",
                "district": district,
                "state": state,
                "pin": pin,
            },
        }
        patient = registration.do_register_patient("demo", data)
        registration.do_register_visit("demo", patient.uhid, rng.choice(departments))
    return count


# -- the orchestra (runs outside any node) ------------------------------------------
def wait_until(condition: Any, what: str, timeout: float = 90) -> None:
    """Ask ``condition`` every second until it holds, or give up saying what for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise SystemExit(f"timed out waiting for {what}")


@dataclass
class DemoNode:
    name: str
    data_dir: Path
    port: int
    letter: str = "A"
    process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, input: str | None = None) -> str:
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "nirantar.cli", "--data-dir", str(self.data_dir), *args],
            input=input,
            text=True,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"{self.name}: nirantar {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def succeeds(self, *args: str) -> bool:
        try:
            self.cli(*args)
        except SystemExit:
            return False
        return True

    def start(self, host: str) -> None:
        log = (self.data_dir / "serve.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "nirantar.cli",
                "--data-dir",
                str(self.data_dir),
                "serve",
                "--host",
                host,
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (self.data_dir / "serve.pid").write_text(str(self.process.pid))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_up(self, host: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(  # noqa: S310 - our own loopback URL
                    f"http://{host}:{self.port}/healthz", timeout=2
                ):
                    return
            except (OSError, http.client.HTTPException):
                time.sleep(0.3)
        raise SystemExit(f"{self.name} did not start; see {self.data_dir / 'serve.log'}")


class DemoHospital:
    def __init__(self, root: Path, host: str, port: int) -> None:
        self.root = root
        self.host = host
        self.hub = DemoNode("hub", root / "hub", port)
        self.counters = [
            DemoNode("counter-a", root / "counter-a", port + 1, "A"),
            DemoNode("counter-b", root / "counter-b", port + 2, "B"),
        ]
        self.nodes = [self.hub, *self.counters]

    def url(self, node: DemoNode) -> str:
        return f"http://{self.host}:{node.port}"

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def set_up(self) -> None:
        """Create the hospital the first time; later runs reuse it."""
        if (self.hub.data_dir / "node.json").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.say("Creating the demo hospital (a hub and two counters) ...")
        self.hub.cli("init", "--hub", "--node", "hub", "--number", "1")
        self.hub.cli("demo-seed", "--users")
        self.hub.cli("wards", "layout", "--demo")
        self.hub.start(self.host)
        self.hub.wait_up(self.host)
        for number, counter in enumerate(self.counters, start=2):
            code = (
                counter.cli(
                    "init",
                    "--node",
                    counter.name,
                    "--join",
                    self.url(self.hub),
                    "--url",
                    self.url(counter),
                    "--counter-letter",
                    counter.letter,
                )
                .strip()
                .splitlines()[-1]
            )
            self.hub.cli("enrol", "approve", code, "--number", str(number))
            others = [self.url(c) for c in self.counters if c is not counter]
            counter.cli("peer", "add", *others)
        for counter in self.counters:
            counter.start(self.host)
        for counter in self.counters:
            counter.wait_up(self.host)
            # Registering needs the enrolment and the departments, which arrive by sync.
            self._wait_until(
                lambda c=counter: c.succeeds("demo-seed", "--patients", "12"),
                f"{counter.name} to be enrolled and synced",
            )

    def _wait_until(self, condition: Any, what: str, timeout: float = 90) -> None:
        wait_until(condition, what, timeout)

    def passwords(self) -> dict[str, list[str]]:
        path = self.hub.data_dir / "demo-passwords.txt"
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def instructions(self) -> None:
        command = Path(sys.executable).parent / "nirantar"
        self.say()
        self.say("Nirantar demo hospital")
        self.say(f"  hub        {self.url(self.hub)}/   (enrolment, status)")
        for counter in self.counters:
            self.say(
                f"  {counter.name:<10} {self.url(counter)}/   (registration counter "
                f"{counter.letter})"
            )
        self.say(
            "  sign in on any node as one of (passwords also in "
            f"{self.hub.data_dir / 'demo-passwords.txt'}):"
        )
        for username, (role, password) in self.passwords().items():
            self.say(f"    {username:<11} {password}   ({role})")
        self.say()
        self.say("  Try it: register a patient at counter-a, find them at counter-b.")
        self.say("  Sign in as doctor: F4 calls the next token at the Doctor's desk; as hall-tv")
        self.say("  (or anyone) open Token display to watch the calls on the waiting hall's TV.")
        self.say("  Lab tests the doctor orders wait on the Laboratory screen (sign in as lab);")
        self.say("  a pathologist verifies and issues the signed report.")
        self.say("  Wards: the bed board, admissions (from the doctor's admission advice),")
        self.say("  transfers, the nursing chart and discharge - sign in as nurse or doctor.")
        self.say("  Then take the hub down - type  h  and Enter (again to bring it back) -")
        self.say("  and keep registering at both counters: they sync with each other.")
        self.say(f"  Without this prompt: kill $(cat {self.hub.data_dir}/serve.pid), and later")
        self.say(f"  {command} --data-dir {self.hub.data_dir} serve --port {self.hub.port}")
        self.say("  Each node's status: its Node status screen, or")
        self.say(f"  {command} --data-dir {self.counters[0].data_dir} status")
        self.say("  Type  q  and Enter (or Ctrl+C) to stop everything.")

    def run(self, serve: bool = True) -> None:
        try:
            self.set_up()
            if not serve:
                self.instructions()
                return
            for node in self.nodes:
                if not node.running:
                    node.start(self.host)
            for node in self.nodes:
                node.wait_up(self.host)
            self.instructions()
            self._prompt()
        except KeyboardInterrupt:
            pass
        finally:
            for node in self.nodes:
                node.stop()
            if serve:
                self.say("Stopped the demo hospital.")

    def _prompt(self) -> None:
        for line in sys.stdin:
            command = line.strip().lower()
            if command in ("q", "quit", "exit"):
                return
            if command == "h":
                if self.hub.running:
                    self.hub.stop()
                    self.say(
                        "The hub is DOWN. The counters keep working and syncing with "
                        "each other. Type h to bring it back."
                    )
                else:
                    self.hub.start(self.host)
                    self.hub.wait_up(self.host)
                    self.say("The hub is UP again; everything converges within seconds.")
        # stdin closed (e.g. run without a terminal): keep serving until interrupted.
        while True:
            time.sleep(3600)
