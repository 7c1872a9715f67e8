"""Demo users and sample patients for `nirantar demo`."""

from __future__ import annotations

import json
import random
import secrets
from pathlib import Path

from nirantar.accounts import actions as accounts
from nirantar.accounts.models import User
from nirantar.config import write_secret_file
from nirantar.registration import actions as registration
from nirantar.registration.models import Patient
from nirantar.registration.transliterate import to_devanagari

DEMO_USERS = {
    "clerk": ("clerk", "Asha Verma"),
    "records": ("records", "Imran Qureshi"),
    "doctor": ("doctor", "Dr. Meera Iyer"),
    "nurse": ("nurse", "Sister Kavita Rawat"),
    "lab": ("lab", "Rohit Meena"),
    "admin": ("admin", "IT Administrator"),
    "auditor": ("auditor", "Privacy Officer"),
}

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


def ensure_users(data_dir: Path) -> dict[str, tuple[str, str]]:
    """Create demo users once; their random passwords are kept in demo-passwords.txt."""
    path = data_dir / "demo-passwords.txt"
    known: dict[str, list[str]] = json.loads(path.read_text()) if path.exists() else {}
    for username, (role, full_name) in DEMO_USERS.items():
        if User.objects.filter(username=username).exists():
            continue
        password = f"demo-{secrets.token_urlsafe(9)}"
        accounts.do_add_user("demo", username, role, password, full_name)
        known[username] = [role, password]
    if path.exists():
        path.unlink()
    write_secret_file(path, json.dumps(known, indent=2).encode())
    return {name: (v[0], v[1]) for name, v in known.items()}


def ensure_patients(count: int = 24, seed: int = 7) -> int:
    if Patient.objects.exists():
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
