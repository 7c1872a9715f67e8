"""A synthetic hospital: days of a whole hospital's events, signed by its many nodes.

    python -m bench.hospital --seed 7 --days 1 --scale 0.01

A full day (``--scale 1``) is a day of AIIMS: 15,000 outpatients (30 % of them new,
registered first), each seen in their department's OPD (queue, vitals, complaints,
diagnosis, prescription, lab orders, advice), 900 admissions and as many discharges,
and 50,000 lab tests (ordered, collected, received, resulted, verified, reported).

The events are what the actions write - the same types and bodies, built with the
actions' own cleaning and numbering helpers (``tests/bench/test_hospital.py`` checks
each type's body against an event the real action writes) - but built directly, not
through the actions, which manage ~200 patients a second. Each is signed by the node
that would write it: registration counters, each department's OPD, the wards, the
sample collection centre and the laboratory, every one a node enrolled in the
hospital under its own key and number. So the log is the multi-origin log a hub sees.

Reproducible from ``--seed``: keys, ids, clocks and every value come from it (the
simulated days start on a fixed date, ``--start``), so the same arguments give the
same log, byte for byte.

Output, cached under bench/out/ by schema, seed, days and scale:

* ``hospital.ndjson`` - every event, one canonical line each (the form sync and
  backups carry), in the order written: the hospital's founding (genesis,
  enrolments, departments, wards), the returning patients' registrations on the
  days before, then each day. The hub-ingest benchmark feeds this to a fresh hub.
* ``source/`` - the data directory of the hospital's hub node (it holds the
  authority key, so it can enrol a new edge), with the whole log ingested through
  the ingest path (verified, stored, projected). The catch-up benchmark serves it.
* ``meta.json`` - counts by part, day, type and origin.

Why both: a benchmark of ingest needs the events as they arrive over the wire,
not yet in any database; a benchmark of catch-up needs a real node holding them.
Building the source node by ingesting the file also proves every event is accepted
and projected (the generator fails if any is held, refused or fails to project).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import time
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import OUT

SCHEMA = "h1"  # bump when the generated log changes, so old caches are not reused
START = date(2026, 11, 2)  # a Monday; every simulated day is in the past
TZ = ZoneInfo("Asia/Kolkata")
HUB, HUB_NUMBER = "hub", 100

# A day of AIIMS, New Delhi (scale 1).
OUTPATIENTS = 15_000
NEW_SHARE = 0.30
ADMISSIONS = 900
LAB_TESTS = 50_000
BEDS = 3_300

# Share of the day's registrations starting in each hour (local time): the morning peak.
HOURS = {8: 16, 9: 24, 10: 20, 11: 14, 12: 10, 13: 7, 14: 5, 15: 3, 16: 1}
# Share of outpatients by department (codes of the demo catalogue).
DEPARTMENTS = {
    "MED": 24,
    "SUR": 12,
    "PED": 11,
    "OBG": 10,
    "ORT": 10,
    "ENT": 7,
    "OPH": 9,
    "DER": 8,
    "PSY": 4,
    "DEN": 5,
}
COUNTERS = "abcdef"  # registration counters counter-a .. counter-f, letters A .. F
WARD_NODES = 4
# Tests a doctor orders, and how often.
OPD_TESTS = {
    "CBC": 30,
    "ESR": 5,
    "LFT": 10,
    "KFT": 12,
    "LIPID": 6,
    "FBS": 6,
    "PPBS": 3,
    "RBS": 6,
    "HBA1C": 5,
    "TFT": 6,
    "CRP": 5,
    "URINE": 8,
    "MP": 2,
    "WIDAL": 2,
    "NS1": 2,
}
WARD_TESTS = {**OPD_TESTS, "BLDCS": 3, "URCS": 2}
STATES = {
    "Delhi": 30,
    "Uttar Pradesh": 25,
    "Haryana": 12,
    "Bihar": 12,
    "Rajasthan": 6,
    "Uttarakhand": 4,
    "Madhya Pradesh": 4,
    "Punjab": 3,
    "Jharkhand": 4,
}
COMPLAINTS = [
    "fever for 3 days",
    "cough and cold for a week",
    "pain in abdomen since morning",
    "headache on and off for a month",
    "joint pains, worse in the morning",
    "burning micturition",
    "loose motions since yesterday",
    "breathlessness on exertion",
    "chest pain on walking",
    "itching all over the body",
    "pain in the right knee",
    "blurred vision",
    "ear discharge",
    "toothache",
    "sleeplessness and low mood",
    "बुखार और बदन दर्द",
    "पेट में दर्द",
]
DIAGNOSES = {
    "MED": ["J06.9", "A09", "I10", "E11.9", "R50.9", "K29.70", "D64.9", "A01.00"],
    "SUR": ["K40.90", "K80.20", "K35.80", "L02.91", "N20.0"],
    "PED": ["J06.9", "A09", "J18.9", "B34.9", "R50.9"],
    "OBG": ["Z34.90", "N92.0", "N76.0", "O21.0"],
    "ORT": ["M17.11", "M54.5", "S52.00", "M25.00"],
    "ENT": ["H66.90", "J32.9", "J02.9", "H61.20"],
    "OPH": ["H52.13", "H25.9", "H10.9", "H40.9"],
    "DER": ["L30.9", "B35.4", "L70.0", "B86"],
    "PSY": ["F32.9", "F41.1", "F51.01"],
    "DEN": ["K02.9", "K05.10", "K04.7"],
}
DRUGS = [
    ("Paracetamol 500 mg tablet", "1 tablet", "TDS", 5, "after food"),
    ("Amoxicillin 500 mg capsule", "1 capsule", "TDS", 5, "after food"),
    ("Metformin 500 mg tablet", "1 tablet", "BD", 30, "with food"),
    ("Amlodipine 5 mg tablet", "1 tablet", "OD", 30, ""),
    ("Omeprazole 20 mg capsule", "1 capsule", "OD", 14, "before food"),
    ("Cetirizine 10 mg tablet", "1 tablet", "HS", 7, ""),
    ("Ibuprofen 400 mg tablet", "1 tablet", "BD", 5, "after food"),
    ("Azithromycin 500 mg tablet", "1 tablet", "OD", 3, ""),
    ("Folic acid 5 mg tablet", "1 tablet", "OD", 30, ""),
    ("Ferrous sulphate + folic acid 100 mg + 0.5 mg tablet", "1 tablet", "OD", 90, "after food"),
]
# English spellings of one name as clerks write them.
VARIANTS = [
    ("aa", "a"),
    ("ee", "i"),
    ("oo", "u"),
    ("sh", "s"),
    ("v", "w"),
    ("th", "t"),
    ("i", "ee"),
]


def cache_dir(seed: int, days: int, scale: float) -> Path:
    return OUT / f"hospital-{SCHEMA}-seed{seed}-d{days}-x{scale:g}"


def _ms(day: date, seconds: float) -> int:
    """Milliseconds since the epoch of ``seconds`` after local midnight of ``day``."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=TZ)
    return int(midnight.timestamp() * 1000 + seconds * 1000)


def _weighted(rng: random.Random, table: dict[Any, int]) -> Any:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _uuid7(rng: random.Random, ms: int) -> str:
    """A version-7 UUID for an event at ``ms``, its random bits from the seed."""
    bits = rng.getrandbits(74)
    value = (ms << 80) | (0x7 << 76) | ((bits >> 62) << 64) | (0b10 << 62) | (bits & (2**62 - 1))
    return str(uuid.UUID(int=value))


class Progress:
    """A progress bar on stderr (a line per 10 % when stderr is not a terminal)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(1, total), 0
        self.tty = sys.stderr.isatty()
        self.shown = -1
        self.started = time.perf_counter()

    def add(self, n: int = 1) -> None:
        self.done += n
        step = self.done * (50 if self.tty else 10) // self.total
        if step != self.shown:
            self.shown = step
            self._draw()

    def _draw(self) -> None:
        fraction = min(1.0, self.done / self.total)
        rate = self.done / max(1e-9, time.perf_counter() - self.started)
        text = f"{self.label} {fraction:4.0%} {self.done:,}/{self.total:,} ({rate:,.0f}/s)"
        if self.tty:
            bar = "#" * int(fraction * 30)
            sys.stderr.write(f"\r  [{bar:<30}] {text}")
        else:
            sys.stderr.write(f"  {text}\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


# -- the plan: what happens when, by whom ---------------------------------------------


@dataclass
class Planned:
    """An event to be written at ``ms`` by ``origin``; ``body`` may be a function of the
    events stamped before it (a verification names the results' ids)."""

    ms: int
    origin: str
    type: str
    stream: str
    body: dict[str, Any] | Callable[[], dict[str, Any]]
    actor: str
    key: str = ""  # a name later plans use to find this event once stamped


@dataclass
class PatientFacts:
    uhid: str
    sex: str
    years: int
    name: str


@dataclass
class Stay:
    admission: str
    uhid: str
    ward: str
    bed: str
    node: str
    admitted_ms: int
    discharged_ms: int | None


@dataclass
class Hospital:
    """The simulated hospital: its nodes, layout, patients and numbering."""

    seed: int
    scale: float
    rng: random.Random
    numbers: dict[str, int] = field(default_factory=dict)  # origin -> node number
    sequences: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    patients: list[PatientFacts] = field(default_factory=list)
    wards: list[dict[str, Any]] = field(default_factory=list)
    bed_free_at: dict[str, int] = field(default_factory=dict)
    stays: list[Stay] = field(default_factory=list)

    def next_number(self, origin: str, kind: str, scope: str = "") -> tuple[int, int]:
        """(node number, next sequence) of a number ``origin`` mints, as ``w.next_number``."""
        self.sequences[(origin, kind + ":" + scope)] += 1
        return self.numbers[origin], self.sequences[(origin, kind + ":" + scope)]


def origins() -> dict[str, int]:
    """Every node of the hospital and its number."""
    names = {HUB: HUB_NUMBER}
    names.update({f"counter-{c}": 101 + i for i, c in enumerate(COUNTERS)})
    names.update({f"opd-{d.lower()}": 111 + i for i, d in enumerate(DEPARTMENTS)})
    names.update({f"ward-{i + 1}": 131 + i for i in range(WARD_NODES)})
    names["lab-collection"] = 141
    names["lab"] = 142
    return names


def node_key(seed: int, origin: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    digest = hashlib.sha256(f"nirantar-bench-hospital:{seed}:{origin}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(digest)


class Names:
    """Patients' names: the CMU corpus's pairs in both scripts, Faker's hi_IN and en_IN,
    and the spelling variants clerks write."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        from faker import Faker

        from bench.names import SURNAMES, given_names

        self.rng = rng
        # The CMU Indian Names Corpus (the copy packaged for transliteration, the same
        # file as /work/shared/data/names/cmu_indian_names_corpus/names.tsv).
        self.given = [(en, hi) for en, hi in given_names() if en.isalpha()]
        self.surnames = [(s[0], s[1]) for s in SURNAMES if len(s) == 2]
        self.fake_en = Faker("en_IN")
        self.fake_en.seed_instance(seed)
        self.fake_hi = Faker("hi_IN")
        self.fake_hi.seed_instance(seed + 1)

    def variant(self, name: str) -> str:
        old, new = self.rng.choice(VARIANTS)
        lowered = name.lower()
        if old not in lowered:
            return name
        return lowered.replace(old, new, 1).title()

    def person(self, sex: str) -> tuple[str, str]:
        """(name in English, name in Hindi); one of them may be empty, as at a counter."""
        roll = self.rng.random()
        if roll < 0.15:  # written in English only
            fake = self.fake_en
            first = fake.first_name_female() if sex == "F" else fake.first_name_male()
            return f"{first} {fake.last_name()}", ""
        if roll < 0.25:  # written in Hindi only
            fake = self.fake_hi
            first = fake.first_name_female() if sex == "F" else fake.first_name_male()
            return "", f"{first} {fake.last_name()}"
        first_en, first_hi = self.rng.choice(self.given)
        last_en, last_hi = self.rng.choice(self.surnames)
        if self.rng.random() < 0.15:
            first_en = self.variant(first_en)
        return f"{first_en} {last_en}", f"{first_hi} {last_hi}"


class Generator:
    def __init__(self, seed: int, scale: float, days: int = 1, start: date = START) -> None:
        from nirantar.ledger import keys

        self.seed, self.scale, self.days, self.start = seed, scale, days, start
        self.rng = random.Random(seed)  # noqa: S311 - sample data
        self.hospital = Hospital(seed, scale, self.rng, numbers=origins())
        self.keys = {o: node_key(seed, o) for o in [*self.hospital.numbers, "authority"]}
        self.public = {o: keys.public_text(k) for o, k in self.keys.items()}
        self.names = Names(self.rng, seed)
        self.heads: dict[str, tuple[int, str]] = {}  # origin -> (seq, hash)
        self.last_hlc: Any = None
        self.stamped: dict[str, Any] = {}  # Planned.key -> its event
        self.id_rng = random.Random(seed * 7919 + 1)  # noqa: S311 - ids only

    # -- signing ---------------------------------------------------------------
    def stamp(self, plans: list[Planned]) -> Iterator[Any]:
        """Sign the planned events in time order, chaining each origin's."""
        from nirantar.ledger import events, hlc, projection
        from nirantar.ledger.hlc import HLC

        plans.sort(key=lambda p: p.ms)
        for plan in plans:
            now = HLC(plan.ms, 0)
            stamp = now if self.last_hlc is None else hlc.tick(self.last_hlc, plan.ms)
            self.last_hlc = stamp
            body = plan.body() if callable(plan.body) else plan.body
            seq, prev = self.heads.get(plan.origin, (0, ""))
            if not prev:
                prev = (
                    events.GENESIS_PREV
                    if plan.origin == events.AUTHORITY
                    else self.stamped[f"enrol:{plan.origin}"].hash
                )
            event = events.build(
                self.keys[plan.origin],
                origin=plan.origin,
                seq=seq + 1,
                hlc=stamp,
                actor=plan.actor,
                type=plan.type,
                stream=plan.stream,
                body={"v": projection.current_version(plan.type), **body},
                prev=prev,
                id=_uuid7(self.id_rng, stamp.wall),
            )
            self.heads[plan.origin] = (event.seq, event.hash)
            if plan.key:
                self.stamped[plan.key] = event
            yield event

    # -- the founding ------------------------------------------------------------
    def founding(self) -> list[Planned]:
        """Genesis, every node's enrolment, the departments and the wards."""
        from nirantar.ledger.roster import GENESIS, NODE_ENROLLED
        from nirantar.registration import events as registration
        from nirantar.registration import rules
        from nirantar.registration.catalogue import demo_departments
        from nirantar.wards import catalogue as ward_catalogue
        from nirantar.wards import events as wards

        at = _ms(self.start - timedelta(days=60), 9 * 3600)
        plans = [
            Planned(
                at,
                "authority",
                GENESIS,
                "hospital",
                {"hospital": "AIIMS (synthetic)", "authority_key": self.public["authority"]},
                "init",
            )
        ]
        for i, (name, number) in enumerate(self.hospital.numbers.items()):
            plans.append(
                Planned(
                    at + 1 + i,
                    "authority",
                    NODE_ENROLLED,
                    f"node:{name}",
                    {"node": name, "number": number, "public_key": self.public[name]},
                    "init",
                    key=f"enrol:{name}",
                )
            )
        at += 1000
        for i, d in enumerate(demo_departments()):
            body = {
                "code": d["code"],
                "name_en": rules.normalise_text(d["name_en"]),
                "name_hi": rules.normalise_text(d["name_hi"]),
                "rooms": [{"en": r["en"], "hi": r["hi"]} for r in d["rooms"]],
                "active": True,
            }
            plans.append(
                Planned(
                    at + i,
                    HUB,
                    registration.DEPARTMENT_DEFINED,
                    f"department:{d['code']}",
                    body,
                    "init",
                )
            )
        beds = max(60, round(BEDS * self.scale))
        self.hospital.wards = ward_catalogue.hospital_wards(beds)
        for i, ward in enumerate(self.hospital.wards):
            body = {k: ward[k] for k in ("name_en", "name_hi", "code", "kind", "sex", "department")}
            body["beds"] = [{"bed": b["bed"], "room": b["room"]} for b in ward["beds"]]
            plans.append(
                Planned(
                    at + 100 + i, HUB, wards.WARD_DEFINED, f"ward:{ward['code']}", body, "admin"
                )
            )
            for b in ward["beds"]:
                self.hospital.bed_free_at[b["bed"]] = 0
        return plans

    # -- patients ---------------------------------------------------------------
    def new_patient(self, day: date, ms: int, department: str) -> tuple[PatientFacts, Planned]:
        from nirantar.errors import ValidationFailed
        from nirantar.registration import events as registration
        from nirantar.registration import rules
        from nirantar.registration.actions import patient_body

        rng = self.rng
        counter = rng.choice(COUNTERS)
        origin = f"counter-{counter}"
        sex = "F" if department == "OBG" else rng.choice("MMMFFF" + "O" * (rng.random() < 0.01))
        if department == "PED":
            years = rng.randint(0, 13)
        elif department == "OBG":
            years = rng.randint(18, 45)
        else:
            years = min(95, max(14, int(rng.gauss(42, 18))))
        for _ in range(5):
            name_en, name_hi = self.names.person(sex)
            data: dict[str, Any] = {
                "name_en": unicodedata.normalize("NFC", name_en),
                "name_hi": unicodedata.normalize("NFC", name_hi),
                "sex": sex,
                "age_years": years,
                "category": _weighted(rng, {"general": 70, "bpl": 15, "pmjay": 15}),
                "address": {
                    "line": self.names.fake_en.street_address()[:200],
                    "district": self.names.fake_en.city()[:60],
                    "state": _weighted(rng, STATES),
                    "pin": str(rng.randint(110001, 854999)),
                },
            }
            if rng.random() < 0.85:
                data["mobile"] = f"{rng.choice('6789')}{rng.randrange(10**9):09d}"
            if rng.random() < 0.2:
                data["abha_number"] = f"{rng.randrange(10**13, 10**14)}"
            if years < 18:
                guardian, _ = self.names.person("M")
                data["guardian_relation"] = "S/O" if sex == "M" else "D/O"
                data["guardian_name"] = guardian or "Ram Kumar"
            if years < 1:
                data["age_years"], data["age_months"] = 0, rng.randint(1, 11)
            try:
                fields = rules.clean_patient(data, day)
                break
            except ValidationFailed:  # a few corpus or Faker spellings aren't valid names
                continue
        else:
            raise RuntimeError("no valid name in five tries")
        number, seq = self.hospital.next_number(origin, registration.UHID.kind)
        uhid = registration.UHID.format(number, seq)
        facts = PatientFacts(uhid, sex, years, fields["name_en"] or fields["name_hi"])
        self.hospital.patients.append(facts)
        plan = Planned(
            ms,
            origin,
            registration.PATIENT_REGISTERED,
            registration.patient_stream(uhid),
            patient_body(uhid, fields),
            f"clerk-{counter}",
        )
        return facts, plan

    def history(self, patients: int) -> list[Planned]:
        """Before the first day: the returning patients' registrations (on the 30 days
        before), and the admissions of the 5 days before - so the first day discharges
        as many as it admits, as a full hospital does."""
        plans = []
        for _ in range(patients):
            day = self.start - timedelta(days=self.rng.randint(1, 30))
            ms = _ms(day, self.rng.uniform(8 * 3600, 15 * 3600))
            _, plan = self.new_patient(day, ms, _weighted(self.rng, DEPARTMENTS))
            plans.append(plan)
        for back in range(5, 0, -1):
            day = self.start - timedelta(days=back)
            outpatients = []
            for _ in range(round(ADMISSIONS * self.scale * 1.3)):
                department = _weighted(self.rng, {"MED": 4, "SUR": 3, "PED": 1, "OBG": 2, "ORT": 1})
                ms = _ms(day, self.rng.uniform(9 * 3600, 15 * 3600))
                facts, plan = self.new_patient(day, ms, department)
                visit_plans, done, visit, _ = self.opd_visit(day, ms + 60_000, facts, department)
                plans += [plan, *visit_plans]
                outpatients.append((facts, department, done, visit))
            plans += self.admissions(day, outpatients)
        return plans

    # -- a day --------------------------------------------------------------------
    def day(self, index: int) -> list[Planned]:
        day = self.start + timedelta(days=index)
        rng = self.rng
        plans: list[Planned] = []
        visits = round(OUTPATIENTS * self.scale)
        known = list(self.hospital.patients)
        outpatients: list[tuple[PatientFacts, str, int, str]] = []  # facts, dept, done ms, visit
        tests_ordered = 0
        for _ in range(visits):
            department = _weighted(rng, DEPARTMENTS)
            hour = _weighted(rng, HOURS)
            t0 = _ms(day, hour * 3600 + rng.uniform(0, 3600))
            returning = [
                p
                for p in (rng.choice(known) for _ in range(3) if known)
                if self._fits(p, department)
            ]
            if rng.random() >= NEW_SHARE and returning:
                facts = returning[0]
            else:
                facts, plan = self.new_patient(day, t0, department)
                plans.append(plan)
                t0 += rng.randint(20_000, 90_000)
            visit_plans, done_ms, visit_no, tests = self.opd_visit(day, t0, facts, department)
            plans += visit_plans
            tests_ordered += tests
            outpatients.append((facts, department, done_ms, visit_no))
        plans += self.admissions(day, outpatients)
        plans += self.ward_and_counter_orders(
            day, outpatients, LAB_TESTS * self.scale - tests_ordered
        )
        return plans

    @staticmethod
    def _fits(patient: PatientFacts, department: str) -> bool:
        if department == "PED":
            return patient.years < 14
        if department == "OBG":
            return patient.sex == "F" and 18 <= patient.years <= 45
        return patient.years >= 14

    def opd_visit(
        self, day: date, t0: int, facts: PatientFacts, department: str
    ) -> tuple[list[Planned], int, str, int]:
        """Registration of the visit at a counter, then the consultation in the OPD."""
        from nirantar.opd import events as opd
        from nirantar.opd import rules as opd_rules
        from nirantar.registration import events as registration
        from nirantar.registration.actions import format_token, token_scope
        from nirantar.registration.catalogue import demo_departments

        rng = self.rng
        rooms = {d["code"]: d["rooms"] for d in demo_departments()}[department]
        counter = rng.choice(COUNTERS)
        origin = f"counter-{counter}"
        letter = counter.upper()
        number, seq = self.hospital.next_number(origin, registration.VISIT.kind)
        visit = registration.VISIT.format(number, seq)
        _, token_no = self.hospital.next_number(
            origin, "token", token_scope(letter, department, day.isoformat())
        )
        room = rooms[(token_no - 1) % len(rooms)]
        stream = registration.patient_stream(facts.uhid)
        plans = [
            Planned(
                t0,
                origin,
                registration.VISIT_REGISTERED,
                stream,
                {
                    "visit": visit,
                    "uhid": facts.uhid,
                    "department": department,
                    "room": {"en": room["en"], "hi": room["hi"]},
                    "token": format_token(letter, token_no),
                    "token_no": token_no,
                    "counter": letter,
                    "date": day.isoformat(),
                },
                f"clerk-{counter}",
            )
        ]
        doctor = f"dr-{department.lower()}-{(token_no - 1) % len(rooms) + 1}"
        opd_node = f"opd-{department.lower()}"
        base = {"visit": visit, "uhid": facts.uhid}
        # Waiting is longest at the morning peak.
        local_hour = datetime.fromtimestamp(t0 / 1000, TZ).hour
        t = t0 + int(rng.uniform(5, 40 if local_hour >= 12 else 150) * 60_000)

        def move(step: str, at: int) -> Planned:
            body = {
                **base,
                "department": department,
                "date": day.isoformat(),
                "step": step,
                "round": 0,
                "room": {"en": room["en"], "hi": room["hi"]},
                "reason": "",
            }
            return Planned(at, opd_node, opd.QUEUE_MOVED, stream, body, doctor)

        def entry(kind: str, at: int, body: dict[str, Any]) -> Planned:
            return Planned(at, opd_node, kind, stream, {**base, **body}, doctor)

        plans.append(move("called", t))
        t += rng.randint(30_000, 180_000)
        plans.append(move("consulting", t))
        if rng.random() < 0.8:
            t += rng.randint(30_000, 120_000)
            readings = {
                "bp_systolic": rng.randint(100, 160),
                "bp_diastolic": rng.randint(60, 95),
                "pulse": rng.randint(60, 110),
                "temperature_c": round(rng.uniform(36.4, 38.8), 1),
                "spo2": rng.randint(93, 100),
                "weight_kg": round(rng.uniform(8 if facts.years < 14 else 40, 90), 1),
            }
            plans.append(entry(opd.VITALS_RECORDED, t, opd_rules.clean_vitals(readings)))
        t += rng.randint(30_000, 180_000)
        note = opd_rules.clean_note({"kind": "complaints", "text": rng.choice(COMPLAINTS)}, day)
        plans.append(entry(opd.NOTE_RECORDED, t, note))
        t += rng.randint(60_000, 300_000)
        code = rng.choice(DIAGNOSES[department])
        diagnosis = opd_rules.clean_diagnosis({"code": code, "status": "provisional"})
        plans.append(entry(opd.DIAGNOSIS_RECORDED, t, diagnosis))
        if rng.random() < 0.85:
            t += rng.randint(30_000, 240_000)
            items = [
                {
                    "drug": drug,
                    "dose": dose,
                    "frequency": frequency,
                    "duration_days": days,
                    "instructions": instructions,
                }
                for drug, dose, frequency, days, instructions in rng.sample(
                    DRUGS, rng.randint(1, 4)
                )
            ]
            plans.append(entry(opd.PRESCRIBED, t, opd_rules.clean_prescription({"items": items})))
        tests = 0
        if rng.random() < 0.55:
            t += rng.randint(20_000, 60_000)
            codes = self._tests(OPD_TESTS, rng.randint(1, 4))
            tests = len(codes)
            plans += self.lab_order(
                t, opd_node, doctor, facts, codes, source="opd", visit=visit, department=department
            )
        if rng.random() < 0.4:
            t += rng.randint(20_000, 90_000)
            follow = (day + timedelta(days=rng.choice([7, 14, 30]))).isoformat()
            advice = opd_rules.clean_note(
                {"kind": "advice", "text": "review with reports", "follow_up": follow}, day
            )
            plans.append(entry(opd.NOTE_RECORDED, t, advice))
        t += rng.randint(30_000, 120_000)
        plans.append(move("done", t))
        return plans, t, visit, tests

    def _tests(self, table: dict[str, int], n: int) -> list[str]:
        from nirantar.lab.actions import clean_tests

        return clean_tests([_weighted(self.rng, table) for _ in range(n)])

    # -- the laboratory -------------------------------------------------------------
    def lab_order(
        self,
        ms: int,
        origin: str,
        actor: str,
        facts: PatientFacts,
        codes: list[str],
        *,
        source: str,
        visit: str = "",
        department: str = "",
        collector: str = "lab-collection",
    ) -> list[Planned]:
        """An order, its samples (one per container, as ``do_collect`` groups them) and
        each sample's way through the laboratory to a signed report."""
        from nirantar.lab import catalogue
        from nirantar.lab import events as lab

        rng = self.rng
        stream = f"patient:{facts.uhid}"
        number, seq = self.hospital.next_number(origin, lab.ORDER.kind)
        order = lab.ORDER.format(number, seq)
        plans = [
            Planned(
                ms,
                origin,
                lab.TESTS_ORDERED,
                stream,
                {
                    "order": order,
                    "uhid": facts.uhid,
                    "visit": visit,
                    "tests": codes,
                    "source": source,
                    "department": department,
                    "note": "",
                },
                actor,
            )
        ]
        by_container: dict[str, list[str]] = defaultdict(list)
        for code in codes:
            test = catalogue.TESTS[code]
            by_container[code if test.own_sample else test.container].append(code)
        t = ms + rng.randint(10, 60) * 60_000
        for group in by_container.values():
            plans += self._sample(t, collector, facts, order, group)
            t += rng.randint(20_000, 60_000)
        return plans

    def _sample(
        self, ms: int, collector: str, facts: PatientFacts, order: str, codes: list[str]
    ) -> list[Planned]:
        from nirantar.lab import catalogue, report
        from nirantar.lab import events as lab
        from nirantar.lab.actions import clean_value, flag_of
        from nirantar.ledger import keys

        rng = self.rng
        stream = f"patient:{facts.uhid}"
        number, seq = self.hospital.next_number(collector, lab.ACCESSION.kind)
        accession = lab.ACCESSION.format(number, seq)
        first = catalogue.TESTS[codes[0]]
        ref = {"accession": accession, "uhid": facts.uhid}
        plans = [
            Planned(
                ms,
                collector,
                lab.SAMPLE_COLLECTED,
                stream,
                {
                    **ref,
                    "orders": [order],
                    "tests": codes,
                    "specimen": first.specimen,
                    "container": first.container,
                    "section": first.section,
                    "replaces": "",
                },
                "phlebotomist",
            )
        ]
        t = ms + rng.randint(10, 40) * 60_000
        plans.append(Planned(t, "lab", lab.SAMPLE_RECEIVED, stream, dict(ref), "lab-reception"))
        rows = []
        for analyte in catalogue.analytes_of(codes):
            if analyte.qualitative:
                raw = analyte.normal_text if rng.random() < 0.85 else "Positive"
            else:
                band = analyte.range_for(facts.sex, facts.years)
                low = band.low if band and band.low is not None else 1.0
                high = band.high if band and band.high is not None else low * 2 + 1
                spread = (high - low) or 1.0
                raw = str(max(0.0, rng.gauss((low + high) / 2, spread / 2.5)))
            value = clean_value(analyte, raw)
            flag, low_text, high_text = flag_of(analyte, value, facts.sex, facts.years)
            rows.append(
                {
                    "analyte": analyte.code,
                    "value": value,
                    "unit": analyte.unit,
                    "flag": flag,
                    "low": low_text,
                    "high": high_text,
                    "amends": "",
                }
            )
        analyser = {"haematology": "XN1000", "biochemistry": "COBASC311"}.get(first.section, "")
        t += rng.randint(30, 120) * 60_000
        results_key = f"results:{accession}"
        plans.append(
            Planned(
                t,
                "lab",
                lab.RESULTS_RECORDED,
                stream,
                {
                    **ref,
                    "results": rows,
                    "source": "analyser" if analyser else "manual",
                    "instrument": analyser,
                    "control_id": f"{analyser}{accession[-9:].replace('-', '')}"
                    if analyser
                    else "",
                    "reason": "",
                },
                "analyser" if analyser else "lab-tech",
                key=results_key,
            )
        )

        def verified() -> dict[str, Any]:
            event = self.stamped.pop(results_key)
            return {**ref, "results": [f"{event.origin}:{event.seq}:{i}" for i in range(len(rows))]}

        t += rng.randint(10, 60) * 60_000
        verify_key = f"verified:{accession}"
        plans.append(
            Planned(t, "lab", lab.RESULTS_VERIFIED, stream, verified, "pathologist", key=verify_key)
        )

        def issued() -> dict[str, Any]:
            event = self.stamped.pop(verify_key)
            content = {
                "accession": accession,
                "uhid": facts.uhid,
                "name": facts.name,
                "results": sorted([r["analyte"], r["value"], r["unit"], r["flag"]] for r in rows),
                "verified_by": event.actor,
                "verified_at_ms": event.hlc.wall,
            }
            digest = report.content_hash(content)
            signature = keys.sign(self.keys["lab"], report.qr_message(accession, digest))
            return {**ref, "content_hash": digest, "signature": signature}

        t += rng.randint(1, 15) * 60_000
        plans.append(Planned(t, "lab", lab.REPORT_ISSUED, stream, issued, "pathologist"))
        return plans

    # -- the wards ------------------------------------------------------------------
    def admissions(
        self, day: date, outpatients: list[tuple[PatientFacts, str, int, str]]
    ) -> list[Planned]:
        """Admissions advised in the OPD, made on the wards; discharges when the stay ends."""
        from nirantar.opd import events as opd
        from nirantar.wards import events as wards

        rng = self.rng
        plans: list[Planned] = []
        admitting = [o for o in outpatients if o[1] in ("MED", "SUR", "PED", "OBG", "ORT")]
        wanted = round(ADMISSIONS * self.scale)
        chosen = rng.sample(admitting, min(len(admitting), wanted))
        horizon = _ms(self.start + timedelta(days=self.days), 0)
        for facts, department, done_ms, visit in sorted(chosen, key=lambda o: o[2]):
            if any(
                s.uhid == facts.uhid and (s.discharged_ms or horizon) > done_ms
                for s in self.hospital.stays
            ):
                continue  # already in a bed
            stream = f"patient:{facts.uhid}"
            doctor = f"dr-{department.lower()}-1"
            plans.append(
                Planned(
                    done_ms - 30_000,
                    f"opd-{department.lower()}",
                    opd.ADMISSION_ADVISED,
                    stream,
                    {
                        "visit": visit,
                        "uhid": facts.uhid,
                        "department": department,
                        "urgency": "urgent" if rng.random() < 0.2 else "routine",
                        "reason": "for evaluation and management",
                    },
                    doctor,
                )
            )
            admitted = done_ms + rng.randint(30, 180) * 60_000
            bed = self._bed(facts, department, admitted)
            if bed is None:
                continue  # the hospital is full: the advice stands, nobody is admitted
            ward, bed_code, node = bed
            number, seq = self.hospital.next_number(node, wards.ADMISSION.kind)
            admission = wards.ADMISSION.format(number, seq)
            plans.append(
                Planned(
                    admitted,
                    node,
                    wards.PATIENT_ADMITTED,
                    stream,
                    {
                        "admission": admission,
                        "uhid": facts.uhid,
                        "ward": ward,
                        "bed": bed_code,
                        "attending": doctor,
                        "diagnosis": "under evaluation",
                        "source": "opd",
                        "visit": visit,
                        "note": "",
                    },
                    f"nurse-{node}",
                )
            )
            stay_hours = rng.choice([12, 20, 30, 44, 54, 70, 96, 120])
            discharged: int | None = admitted + stay_hours * 3_600_000 + rng.randint(0, 3_600_000)
            if discharged is not None and discharged >= horizon:
                discharged = None  # still in hospital when the simulation ends
            self.hospital.stays.append(
                Stay(admission, facts.uhid, ward, bed_code, node, admitted, discharged)
            )
            self.hospital.bed_free_at[bed_code] = 2**62
            if discharged is None:
                continue
            plans.append(
                Planned(
                    discharged,
                    node,
                    wards.PATIENT_DISCHARGED,
                    stream,
                    {
                        "admission": admission,
                        "uhid": facts.uhid,
                        "type": "normal" if rng.random() < 0.95 else "lama",
                        "at": discharged,
                        "diagnoses": "as evaluated",
                        "procedures": "",
                        "course": "uneventful",
                        "condition": "stable",
                        "medicines": "as advised",
                        "follow_up": "OPD after two weeks",
                    },
                    doctor,
                )
            )
            cleaned = discharged + rng.randint(30, 120) * 60_000
            if cleaned < horizon:
                plans.append(
                    Planned(
                        cleaned,
                        node,
                        wards.BED_CLEANED,
                        f"ward:{ward}",
                        {"bed": bed_code},
                        f"nurse-{node}",
                    )
                )
                self.hospital.bed_free_at[bed_code] = cleaned
        return plans

    def _bed(self, facts: PatientFacts, department: str, at: int) -> tuple[str, str, str] | None:
        """A bed free at ``at`` in a ward for this patient, its department's if it can."""
        suitable = [
            (i, w)
            for i, w in enumerate(self.hospital.wards)
            if w["sex"] in ("any", facts.sex)
            and w["kind"] not in ("icu", "emergency")
            and (w["kind"] != "paediatric" or facts.years < 14)
            and (w["kind"] != "maternity" or department == "OBG")
        ]
        suitable.sort(key=lambda iw: iw[1]["department"] != department)
        for i, ward in suitable:
            for bed in ward["beds"]:
                if self.hospital.bed_free_at[bed["bed"]] < at:
                    return ward["code"], bed["bed"], f"ward-{i % WARD_NODES + 1}"
        return None

    def ward_and_counter_orders(
        self, day: date, outpatients: list[tuple[PatientFacts, str, int, str]], tests: float
    ) -> list[Planned]:
        """The rest of the day's tests: ordered on the wards for inpatients, or at the lab
        counter on a paper prescription when no inpatient can take them."""
        rng = self.rng
        plans: list[Planned] = []
        start, end = _ms(day, 6 * 3600), _ms(day, 22 * 3600)
        stays = [
            s
            for s in self.hospital.stays
            if s.admitted_ms < end - 3_600_000 and (s.discharged_ms or 2**62) > start + 3_600_000
        ]
        by_uhid = {p.uhid: p for p in self.hospital.patients}
        remaining = int(tests)
        while remaining > 0:
            n = min(remaining, rng.randint(1, 4))
            if stays and rng.random() < 0.9:
                stay = rng.choice(stays)
                low = max(stay.admitted_ms, start) + 1_800_000
                high = min(stay.discharged_ms or end, end) - 1_800_000
                if low >= high:
                    stays.remove(stay)
                    continue
                codes = self._tests(WARD_TESTS, n)
                ward = next(w for w in self.hospital.wards if w["code"] == stay.ward)
                plans += self.lab_order(
                    rng.randint(low, high),
                    stay.node,
                    f"dr-{(ward['department'] or 'med').lower()}-1",
                    by_uhid[stay.uhid],
                    codes,
                    source="ward",
                    department=ward["department"],
                    collector=stay.node,
                )
            elif outpatients:
                facts, department, done_ms, visit = rng.choice(outpatients)
                codes = self._tests(OPD_TESTS, n)
                plans += self.lab_order(
                    done_ms + rng.randint(5, 60) * 60_000,
                    "lab-collection",
                    "lab-counter",
                    facts,
                    codes,
                    source="lab",
                )
            else:
                break
            remaining -= len(codes)
        return plans


# -- writing the log and the source node ---------------------------------------------


def _canonical_line(event: Any) -> bytes:
    from nirantar.ledger.canonical import canonical

    return canonical(event.to_wire(), checked=True) + b"\n"


def generate(seed: int, days: int, scale: float, out: Path) -> dict[str, Any]:
    """Write the log to ``out``/hospital.ndjson; returns the counts (meta.json)."""
    generator = Generator(seed, scale, days)
    counts: dict[str, Any] = {
        "seed": seed,
        "days": days,
        "scale": scale,
        "start": START.isoformat(),
        "parts": {},
        "types": defaultdict(int),
        "origins": defaultdict(int),
    }
    returning = round(OUTPATIENTS * scale * (1 - NEW_SHARE))
    with (out / "hospital.ndjson").open("wb") as handle:
        parts: list[tuple[str, Callable[[], list[Planned]]]] = [
            ("founding", generator.founding),
            ("history", lambda: generator.history(returning)),
        ]
        parts += [(f"day {i + 1}", (lambda i=i: generator.day(i))) for i in range(days)]
        carried: list[Planned] = []
        for number, (name, make) in enumerate(parts):
            # What happens after the part's end (a discharge, a late report) is written
            # with the next part; the last part writes everything left.
            plans = make() + carried
            end = _ms(START + timedelta(days=max(0, number - 1)), 0)
            if number + 1 < len(parts):
                carried = [p for p in plans if p.ms >= end]
                plans = [p for p in plans if p.ms < end]
            bar = Progress(f"{name}: signing", len(plans))
            written = 0
            for event in generator.stamp(plans):
                handle.write(_canonical_line(event))
                counts["types"][event.type] += 1
                counts["origins"][event.origin] += 1
                written += 1
                if written % 500 == 0:
                    bar.add(500)
            bar.add(written % 500)
            bar.close()
            counts["parts"][name] = written
    counts["events"] = sum(counts["parts"].values())
    counts["patients"] = len(generator.hospital.patients)
    counts["admissions"] = len(generator.hospital.stays)
    counts["beds"] = sum(len(w["beds"]) for w in generator.hospital.wards)
    return counts


def read_batches(
    path: Path, skip: int = 0, upto: int | None = None, batch: int = 1000, window: int = 20_000
) -> Iterator[list[bytes]]:
    """The log's lines after the first ``skip`` (``upto`` of them), as pushers send them: of each
    ``window`` lines in the order written, each origin's in runs of up to ``batch``
    (one signature verifies a run), the origins in the order they first appear."""
    with path.open("rb") as handle:
        lines = itertools.islice(handle, skip, None if upto is None else skip + upto)
        while True:
            chunk = list(itertools.islice(lines, window))
            if not chunk:
                return
            runs: dict[bytes, list[bytes]] = {}
            for line in chunk:
                start = line.index(b'"origin":"') + 10
                runs.setdefault(line[start : line.index(b'"', start)], []).append(line)
            for run in runs.values():
                for i in range(0, len(run), batch):
                    yield run[i : i + batch]


def setup_node(data_dir: Path, seed: int, database: str = "") -> None:
    """A data directory for the hospital's hub (its keys from the seed); not migrated."""
    from nirantar import config
    from nirantar.ledger import keys

    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config.save(
        data_dir, config.NodeConfig(node=HUB, hospital="AIIMS (synthetic)", database=database)
    )
    config.create_secret_key(data_dir)
    keys.save_private(data_dir / "node.key", node_key(seed, HUB))
    keys.save_private(data_dir / "authority.key", node_key(seed, "authority"))


def ingest_file(path: Path, skip: int = 0, upto: int | None = None) -> dict[str, Any]:
    """Ingest the log into this process's node as sync delivers it: NDJSON batches, each
    parsed and passed to ``sync.ingest_remote`` (what the /sync/push endpoint does)."""
    from nirantar.ledger import models, sync
    from nirantar.ledger.writer import node

    store = node().store
    total = sum(1 for _ in path.open("rb")) - skip if upto is None else upto
    bar = Progress("ingesting", total)
    accepted = held = 0
    rejected: list[Any] = []
    started = time.perf_counter()
    for batch in read_batches(path, skip, upto):
        events = sync.from_ndjson(b"".join(batch))
        report = sync.ingest_remote(store, events, source=None)
        accepted += len(report.accepted)
        held += report.held
        rejected += report.rejected
        bar.add(len(batch))
    seconds = time.perf_counter() - started
    bar.close()
    alarms = list(models.Alarm.objects.values_list("kind", "detail")[:5])
    return {
        "events": total,
        "accepted": accepted,
        "held": held,
        "rejected": rejected[:5],
        "alarms": alarms,
        "seconds": seconds,
    }


def build(seed: int, days: int, scale: float) -> Path:
    """The cached log and source node for these arguments (made if missing)."""
    out = cache_dir(seed, days, scale)
    if (out / "meta.json").exists():
        return out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    # Generation and the source node run in a process configured for the source node.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NIRANTAR_"))}
    env["NIRANTAR_LOG_LEVEL"] = "WARNING"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.hospital",
            "--make",
            str(out),
            "--seed",
            str(seed),
            "--days",
            str(days),
            "--scale",
            str(scale),
        ],
        env=env,
        check=True,
        # Its summary line is for a person: on stderr, so the stdout of whoever called
        # build (bench.hub prints its result as JSON there) stays one JSON document.
        stdout=sys.stderr,
    )
    return out


def _make(out: Path, seed: int, days: int, scale: float) -> None:
    source = out / "source"
    setup_node(source, seed)
    os.environ["NIRANTAR_DATA_DIR"] = str(source)
    os.environ["DJANGO_SETTINGS_MODULE"] = "nirantar.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    meta = generate(seed, days, scale, out)
    result = ingest_file(out / "hospital.ndjson")
    if (
        result["accepted"] != meta["events"]
        or result["held"]
        or result["rejected"]
        or result["alarms"]
    ):
        raise SystemExit(f"the source node did not take the log cleanly: {result}")
    meta["source_ingest_seconds"] = round(result["seconds"], 1)
    (out / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    print(json.dumps({k: meta[k] for k in ("events", "parts", "patients", "admissions")}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.01, help="fraction of a day of AIIMS")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        _make(args.make, args.seed, args.days, args.scale)
        return
    started = time.perf_counter()
    out = build(args.seed, args.days, args.scale)
    meta = json.loads((out / "meta.json").read_text())
    meta["path"] = str(out)
    meta["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
