"""Ward projections converge: stays admitted, moved and discharged on nodes that could not
talk to each other give, once the events meet, the same beds, stays and conflicts in any
order of arrival; a bed given twice and a patient admitted twice go to the conflict
worklist, the census counts everyone once; and rebuild gives what the node shows."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nirantar import operations, timeutil
from nirantar.accounts.models import AuditEntry
from nirantar.cli import main
from nirantar.ledger import bootstrap, keys, projection
from nirantar.ledger.events import Event
from nirantar.ledger.hlc import HLC
from nirantar.ledger.models import Alarm, Origin
from nirantar.ledger.sync import ingest_remote
from nirantar.ledger.writer import node
from nirantar.registration import actions as registration
from nirantar.wards import actions, catalogue, events
from nirantar.wards.models import Admission, Bed, Conflict, Placement, Ward, WardEntry
from nirantar.wards.projections import DISCHARGE_TEXTS
from tests.conftest import Api
from tests.ledger.factory import Chain

pytestmark = pytest.mark.django_db

WARD_MODELS = (Ward, Bed, Admission, Placement, WardEntry, Conflict)
# A day well before today, so that what the nodes did apart is history when the test acts.
DAY = timeutil.today() - timedelta(days=10)


def at(hour: int, minute: int = 0, day: Any = DAY) -> int:
    """Milliseconds of a hospital-time moment on ``day``."""
    moment = datetime.combine(day, time(hour, minute), tzinfo=timeutil.hospital_zone())
    return int(moment.timestamp() * 1000)


class Apart:
    """Two ward nodes of the suite's hospital, enrolled with their own keys and numbers,
    writing events as they would while cut off from each other and from this node."""

    NUMBERS = {"ward-7": 7, "ward-8": 8}

    def __init__(self) -> None:
        local = node()
        self.chains: dict[str, Chain] = {}
        self.minted = dict.fromkeys(self.NUMBERS, 0)
        for name, number in self.NUMBERS.items():
            key = keys.generate()
            bootstrap.enrol(
                local, node=name, number=number, public_key=keys.public_text(key), actor="test"
            )
            self.chains[name] = Chain(name, key, Origin.objects.get(name=name).enrolment_hash)

    def _next(self, origin: str, type: str, body: dict[str, Any], when: int, **kw: Any) -> Event:
        return self.chains[origin].next(type, body, hlc=HLC(when, 0), actor="kavita", **kw)

    def admit(self, origin: str, uhid: str, bed: str, when: int, diagnosis: str = "") -> Event:
        self.minted[origin] += 1
        number = events.ADMISSION.format(self.NUMBERS[origin], self.minted[origin])
        body = {
            "admission": number,
            "uhid": uhid,
            "ward": bed.split("-")[0],
            "bed": bed,
            "attending": "meera",
            "diagnosis": diagnosis,
            "source": "emergency",
            "visit": "",
            "note": "",
        }
        return self._next(origin, events.PATIENT_ADMITTED, body, when)

    def transfer(self, origin: str, admitted: Event, bed: str, when: int) -> Event:
        body = {
            "admission": admitted.body["admission"],
            "uhid": admitted.body["uhid"],
            "ward": bed.split("-")[0],
            "bed": bed,
            "reason": "moved",
        }
        return self._next(origin, events.PATIENT_TRANSFERRED, body, when)

    def discharge(
        self, origin: str, admitted: Event, when: int, type: str = "normal", **summary: str
    ) -> Event:
        body = {
            "admission": admitted.body["admission"],
            "uhid": admitted.body["uhid"],
            "type": type,
            "at": when,
            **{key: summary.get(key, "") for key in DISCHARGE_TEXTS},
        }
        return self._next(origin, events.PATIENT_DISCHARGED, body, when)

    def entry(
        self, origin: str, admitted: Event, kind: str, data: dict[str, Any], when: int
    ) -> Event:
        body = {
            "admission": admitted.body["admission"],
            "uhid": admitted.body["uhid"],
            "kind": kind,
            "at": when,
            "data": data,
            "corrects": "",
        }
        return self._next(origin, events.ENTRY_RECORDED, body, when)

    def cleaned(self, origin: str, bed: str, when: int) -> Event:
        ward = bed.split("-")[0]
        return self._next(origin, events.BED_CLEANED, {"bed": bed}, when, stream=f"ward:{ward}")


@pytest.fixture
def apart(clerk: Any, doctor: Any, nurse: Any) -> Apart:
    for ward in catalogue.demo_wards():
        actions.do_define_ward("admin", ward)
    return Apart()


@pytest.fixture
def person(clerk: Any) -> Any:
    """person(name, sex="M") -> the UHID of a newly registered patient."""

    def make(name: str, sex: str = "M") -> str:
        return registration.do_register_patient(
            clerk.username, {"name_en": name, "sex": sex, "age_years": 40}
        ).uhid

    return make


@pytest.fixture
def staff(api_as: Any, nurse: Any, doctor: Any) -> tuple[Api, Api]:
    return api_as(nurse), api_as(doctor)


def arrive(*batches: list[Event]) -> None:
    """Events reach this node in these batches, in this order; every one is accepted and
    projected."""
    local = node()
    for batch in batches:
        report = ingest_remote(local.store, batch)
        assert not report.rejected, report.rejected
    assert not Alarm.objects.filter(kind="projection_failed").exists()


def board(api: Api, query: str = "") -> dict[str, dict[str, Any]]:
    response = api.get(f"/api/v1/beds{query}")
    assert response.status_code == 200, response.content
    return {b["bed"]: b for b in response.json()["beds"]}


def worklist(api: Api, resolved: bool = False) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/conflicts{'?resolved=true' if resolved else ''}")
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def census(api: Api, day: Any = DAY) -> dict[str, Any]:
    response = api.get(f"/api/v1/census?date={day.isoformat()}")
    assert response.status_code == 200, response.content
    body = response.json()
    body["by_ward"] = {row["ward"]: row for row in body["wards"]}
    return body  # type: ignore[no-any-return]


def ward_dump() -> dict[str, Any]:
    return {k: v for k, v in projection.dump().items() if k.startswith("wards.")}


def replay_wards(ordered: list[Event]) -> dict[str, Any]:
    """Empty the ward tables and apply these (ward) events in this order."""
    for model in reversed(WARD_MODELS):
        model.objects.all().delete()
    for event in ordered:
        projection.apply(event)
    return ward_dump()


def layout_events(*except_wards: str) -> list[Event]:
    """The ward definitions this node holds, but for the named wards'."""
    return [
        e
        for e in node().store.in_causal_order()
        if e.type == events.WARD_DEFINED and e.body["code"] not in except_wards
    ]


def layout_of(*wards: str) -> list[Event]:
    return [
        e
        for e in node().store.in_causal_order()
        if e.type == events.WARD_DEFINED and e.body["code"] in wards
    ]


def local_stay_events(since: int) -> list[Event]:
    """Stay events this node wrote itself after ``since`` (its seq)."""
    local = node()
    return [
        e
        for e in local.store.in_causal_order()
        if e.origin == local.name and e.seq > since and e.type.startswith("wards.")
    ]


def assert_every_order_gives(expected: dict[str, Any], moving: list[Event], fixed: list[Event]):
    """Every permutation of ``moving`` (after ``fixed``) gives ``expected``."""
    for order in itertools.permutations(moving):
        got = replay_wards([*fixed, *order])
        assert got == expected, [f"{e.origin}#{e.seq} {e.type}" for e in order]


# -- a bed given twice -------------------------------------------------------------------
def test_two_nodes_apart_put_two_patients_in_one_bed_and_a_transfer_resolves_it(
    apart, person, staff
):
    ward_nurse, _ = staff
    ram, mohan = person("Ram Kumar"), person("Mohan Lal")
    # Each node saw MW1-01 vacant and gave it away.
    first = apart.admit("ward-7", ram, "MW1-01", at(10))
    second = apart.admit("ward-8", mohan, "MW1-01", at(10, 5))
    a, b = first.body["admission"], second.body["admission"]
    arrive([second], [first])  # the later admission arrives first

    bed = board(ward_nurse, "?ward=MW1")["MW1-01"]
    assert bed["state"] == "occupied" and bed["double_booked"] is True
    assert [o["admission"] for o in bed["occupants"]] == [a, b]  # both kept, in order
    assert [o["uhid"] for o in bed["occupants"]] == [ram, mohan]
    assert bed["occupant"]["admission"] == a
    counts = ward_nurse.get("/api/v1/beds?ward=MW1").json()["counts"]
    assert counts == {"occupied": 1, "vacant": 29, "double_booked": 1}

    [conflict] = worklist(ward_nurse)
    assert (conflict["kind"], conflict["subject"], conflict["ward"]) == (
        "double_booked",
        "MW1-01",
        "MW1",
    )
    assert conflict["open"] is True and conflict["resolved_at"] is None
    assert conflict["detected_at"] == timeutil.from_ms(at(10, 5)).isoformat()
    assert [r["admission"] for r in conflict["records"]] == [a, b]
    assert {(r["uhid"], r["node"], r["bed"]) for r in conflict["records"]} == {
        (ram, "ward-7", "MW1-01"),
        (mohan, "ward-8", "MW1-01"),
    }
    assert "MW1-01" in conflict["detail"]
    assert worklist(ward_nurse, resolved=True) == [conflict]
    assert ward_nurse.get("/api/v1/conflicts?ward=mw1").json() == [conflict]
    # The worklist names patients: reading it is a read of each of them.
    shown = AuditEntry.objects.filter(actor="kavita", action="patient.search_result")
    assert {ram, mohan} <= set(shown.values_list("patient", flat=True))
    assert ward_nurse.get("/api/v1/conflicts?ward=ICU").json() == []
    # The census counts both patients, each once.
    day = census(ward_nurse)
    assert day["by_ward"]["MW1"]["at_midnight"] == 2 and day["total"] == 2
    assert day["by_ward"]["MW1"]["admitted"] == 2

    # The in-charge resolves it: one of them moves.
    seq = node().store.head(node().name)[0]
    moved = ward_nurse.post(f"/api/v1/admissions/{b}/transfer", {"bed": "MW1-03"})
    assert moved.status_code == 200, moved.content
    assert worklist(ward_nurse) == []
    [settled] = worklist(ward_nurse, resolved=True)
    assert settled["conflict"] == conflict["conflict"]
    assert settled["open"] is False and settled["resolved_at"] is not None
    assert {r["admission"]: r["bed"] for r in settled["records"]} == {a: "MW1-01", b: "MW1-03"}
    beds = board(ward_nurse, "?ward=MW1")
    assert beds["MW1-01"]["double_booked"] is False
    assert [o["admission"] for o in beds["MW1-01"]["occupants"]] == [a]
    assert beds["MW1-03"]["occupant"]["admission"] == b
    for day in (DAY, timeutil.today()):
        counted = census(ward_nurse, day)
        assert counted["by_ward"]["MW1"]["at_midnight"] == 2 and counted["total"] == 2, day

    # Whatever order the three stay events (and the ward's layout) arrive in.
    live = ward_dump()
    [transfer] = local_stay_events(seq)
    fixed = layout_events("MW1")
    expected = replay_wards(
        [*fixed, *sorted([first, second, transfer, *layout_of("MW1")], key=lambda e: e.order_key)]
    )
    assert expected == live
    assert_every_order_gives(expected, [first, second, transfer, *layout_of("MW1")], fixed)


def test_a_discharge_also_ends_a_double_booking(apart, person, staff):
    ward_nurse, doc = staff
    first = apart.admit("ward-7", person("Ram Kumar"), "SW1-02", at(9))
    second = apart.admit("ward-8", person("Mohan Lal"), "SW1-02", at(9, 30))
    arrive([first, second])
    assert [c["kind"] for c in worklist(ward_nurse)] == ["double_booked"]
    done = doc.post(
        f"/api/v1/admissions/{first.body['admission']}/discharge",
        {"type": "normal", "diagnoses": "Hernia, repaired"},
    )
    assert done.status_code == 200, done.content
    assert worklist(ward_nurse) == []
    bed = board(ward_nurse, "?ward=SW1")["SW1-02"]
    # The other patient is still in it: occupied, not waiting for cleaning.
    assert bed["state"] == "occupied"
    assert [o["admission"] for o in bed["occupants"]] == [second.body["admission"]]


# -- a patient admitted twice ------------------------------------------------------------
def test_one_patient_admitted_at_two_nodes_is_counted_once_until_one_is_discharged(
    apart, person, staff, doctor
):
    ward_nurse, doc = staff
    ram = person("Ram Kumar")
    first = apart.admit("ward-7", ram, "MW1-01", at(10), diagnosis="Chest pain")
    second = apart.admit("ward-8", ram, "ICU-01", at(10, 5), diagnosis="Acute MI")
    a, b = first.body["admission"], second.body["admission"]
    arrive([second], [first])

    beds = board(ward_nurse)
    assert beds["MW1-01"]["occupant"]["admission"] == a
    assert beds["ICU-01"]["occupant"]["admission"] == b
    assert not beds["MW1-01"]["double_booked"] and not beds["ICU-01"]["double_booked"]
    [conflict] = worklist(ward_nurse)
    assert (conflict["kind"], conflict["subject"], conflict["open"]) == (
        "admitted_twice",
        ram,
        True,
    )
    # On the worklist of the ward that admitted first.
    assert conflict["ward"] == "MW1"
    assert [r["admission"] for r in conflict["records"]] == [a, b]
    assert {r["bed"] for r in conflict["records"]} == {"MW1-01", "ICU-01"}

    day = census(ward_nurse)
    assert day["total"] == 1
    assert (day["by_ward"]["MW1"]["at_midnight"], day["by_ward"]["ICU"]["at_midnight"]) == (1, 0)
    assert sum(r["at_midnight"] for r in day["wards"]) == 1

    # This node won't admit them a third time.
    again = ward_nurse.post(
        "/api/v1/admissions", {"uhid": ram, "bed": "MW1-02", "attending": doctor.username}
    )
    assert again.status_code == 409 and again.json()["error"]["fields"] == {
        "uhid": "already admitted"
    }

    # The duplicate stay is closed: the conflict is resolved and kept.
    seq = node().store.head(node().name)[0]
    done = doc.post(
        f"/api/v1/admissions/{b}/discharge",
        {"type": "normal", "diagnoses": "Acute MI (admitted twice; continued under " + a + ")"},
    )
    assert done.status_code == 200, done.content
    assert worklist(ward_nurse) == []
    [settled] = worklist(ward_nurse, resolved=True)
    assert settled["kind"] == "admitted_twice" and settled["open"] is False
    assert board(ward_nurse, "?ward=ICU")["ICU-01"]["state"] == "cleaning"
    for day in (DAY, timeutil.today()):
        counted = census(ward_nurse, day)
        assert counted["total"] == 1 and counted["by_ward"]["MW1"]["at_midnight"] == 1, day
        assert counted["by_ward"]["ICU"]["at_midnight"] == 0, day

    live = ward_dump()
    [discharge] = local_stay_events(seq)
    fixed = layout_events()
    expected = replay_wards(
        [*fixed, *sorted([first, second, discharge], key=lambda e: e.order_key)]
    )
    assert expected == live
    assert_every_order_gives(expected, [first, second, discharge], fixed)


# -- events that meet out of order -------------------------------------------------------
def test_a_transfer_that_arrives_before_its_admission_converges(apart, person, staff):
    ward_nurse, _ = staff
    gopal = person("Gopal Das")
    admitted = apart.admit("ward-7", gopal, "MW1-05", at(10))
    # ward-8 had the admission, then lost touch with this node, and moved the patient.
    moved = apart.transfer("ward-8", admitted, "ICU-05", at(11))
    number = admitted.body["admission"]

    arrive([moved])
    # Not known here as an admission yet: nobody can chart or discharge it...
    assert ward_nurse.get(f"/api/v1/admissions/{number}").status_code == 404
    # ...but the bed it was moved to is not offered to anyone else.
    assert board(ward_nurse, "?ward=ICU")["ICU-05"]["state"] == "occupied"

    arrive([admitted])
    detail = ward_nurse.get(f"/api/v1/admissions/{number}")
    assert detail.status_code == 200, detail.content
    body = detail.json()
    assert (body["ward"], body["bed"], body["uhid"], body["node"]) == (
        "ICU",
        "ICU-05",
        gopal,
        "ward-7",
    )
    assert [(p["bed"], p["kind"]) for p in body["placements"]] == [
        ("MW1-05", "admitted"),
        ("ICU-05", "transferred"),
    ]
    beds = board(ward_nurse)
    assert beds["MW1-05"]["state"] == "cleaning" and beds["ICU-05"]["state"] == "occupied"
    assert worklist(ward_nurse, resolved=True) == []
    day = census(ward_nurse)
    assert day["total"] == 1 and day["by_ward"]["ICU"]["at_midnight"] == 1
    assert (day["by_ward"]["MW1"]["transferred_out"], day["by_ward"]["ICU"]["transferred_in"]) == (
        1,
        1,
    )

    live = ward_dump()
    fixed = layout_events()
    assert replay_wards([*fixed, admitted, moved]) == live
    assert_every_order_gives(live, [admitted, moved], fixed)


def test_a_discharge_that_arrives_before_its_admission_converges(apart, person, staff):
    ward_nurse, _ = staff
    admitted = apart.admit("ward-7", person("Raju"), "SW1-03", at(10))
    # ward-8 had the admission and discharged the patient; its events reach this node
    # while ward-7 (which admitted them) is still cut off.
    left = apart.discharge("ward-8", admitted, at(15), type="referred", diagnoses="Head injury")
    number = admitted.body["admission"]
    arrive([left])  # projected, not failed: arrive() checks there is no projection alarm
    assert ward_nurse.get(f"/api/v1/admissions/{number}").status_code == 404
    assert board(ward_nurse, "?ward=SW1")["SW1-03"]["state"] == "vacant"

    arrive([admitted])
    body = ward_nurse.get(f"/api/v1/admissions/{number}").json()
    assert body["discharged"] is True and body["discharge"]["type"] == "referred"
    assert board(ward_nurse, "?ward=SW1")["SW1-03"]["state"] == "cleaning"
    assert ward_nurse.get("/api/v1/admissions").json() == []
    day = census(ward_nurse)
    assert day["total"] == 0 and day["by_ward"]["SW1"]["discharged"] == 1
    assert_every_order_gives(ward_dump(), [admitted, left], layout_events())


def test_a_discharge_that_arrives_before_a_transfer_made_apart_stands(apart, person, staff):
    ward_nurse, _ = staff
    hari = person("Hari Om")
    admitted = apart.admit("ward-7", hari, "MW1-06", at(10))
    arrive([admitted])
    # Apart: ward-7 discharges the patient at noon; ward-8, not knowing, moves them to the
    # ICU at one. The patient had left: the move never began.
    left = apart.discharge("ward-7", admitted, at(12), diagnoses="Viral fever")
    moved = apart.transfer("ward-8", admitted, "ICU-06", at(13))
    number = admitted.body["admission"]
    arrive([left], [moved])

    body = ward_nurse.get(f"/api/v1/admissions/{number}").json()
    assert body["discharged"] is True and body["discharge"]["diagnoses"] == "Viral fever"
    assert (body["ward"], body["bed"]) == ("MW1", "MW1-06")
    assert body["discharged_at"] == timeutil.from_ms(at(12)).isoformat()
    beds = board(ward_nurse)
    assert beds["MW1-06"]["state"] == "cleaning"
    assert beds["ICU-06"]["state"] == "vacant" and beds["ICU-06"]["occupants"] == []
    assert worklist(ward_nurse, resolved=True) == []
    assert ward_nurse.get("/api/v1/admissions").json() == []

    day = census(ward_nurse)
    assert day["total"] == 0
    mw1, icu = day["by_ward"]["MW1"], day["by_ward"]["ICU"]
    assert (mw1["admitted"], mw1["discharged"]) == (1, 1)
    # The move that never began is no transfer, and the discharge was from MW1.
    assert (mw1["transferred_out"], icu["transferred_in"], icu["discharged"]) == (0, 0, 0)

    live = ward_dump()
    fixed = layout_events()
    assert_every_order_gives(live, [admitted, left, moved], fixed)


def test_a_transfer_made_apart_before_the_discharge_time_counts(apart, person, staff):
    ward_nurse, _ = staff
    hari = person("Hari Om")
    admitted = apart.admit("ward-7", hari, "MW1-06", at(10))
    arrive([admitted])
    # ward-8 moved the patient at eleven; ward-7, not knowing, discharged them at noon.
    moved = apart.transfer("ward-8", admitted, "ICU-06", at(11))
    left = apart.discharge("ward-7", admitted, at(12), diagnoses="Viral fever")
    arrive([left], [moved])

    body = ward_nurse.get(f"/api/v1/admissions/{admitted.body['admission']}").json()
    assert body["discharged"] is True and body["bed"] == "ICU-06"
    beds = board(ward_nurse)
    assert beds["MW1-06"]["state"] == "cleaning" and beds["ICU-06"]["state"] == "cleaning"
    day = census(ward_nurse)
    assert day["total"] == 0 and day["by_ward"]["ICU"]["discharged"] == 1
    live = ward_dump()
    assert_every_order_gives(live, [admitted, left, moved], layout_events())


def test_two_discharges_made_apart_the_earliest_stands_everywhere(apart, person, staff):
    ward_nurse, doc = staff
    admitted = apart.admit("ward-7", person("Suresh"), "MW1-08", at(8))
    arrive([admitted])
    normal = apart.discharge("ward-7", admitted, at(15), diagnoses="Asthma")
    lama = apart.discharge("ward-8", admitted, at(14), type="lama")
    arrive([normal], [lama])
    number = admitted.body["admission"]
    row = Admission.objects.get(admission_no=number)
    assert row.discharge["type"] == "lama" and row.discharged_ms == at(14)
    assert len(row.discharge_versions) == 2  # both are kept
    assert doc.get(f"/api/v1/admissions/{number}/discharge-summary.pdf").status_code == 200
    assert board(ward_nurse, "?ward=MW1")["MW1-08"]["state"] == "cleaning"
    live = ward_dump()
    assert_every_order_gives(live, [admitted, normal, lama], layout_events())


def test_two_differing_discharges_made_apart_go_to_the_worklist_until_one_is_confirmed(
    apart, person, staff
):
    ward_nurse, doc = staff
    admitted = apart.admit("ward-7", person("Suresh"), "MW1-08", at(8))
    arrive([admitted])
    # One node records a death, the other, apart, that the patient left against advice.
    died = apart.discharge("ward-7", admitted, at(15), type="death", diagnoses="Cardiac arrest")
    left = apart.discharge("ward-8", admitted, at(14), type="lama")
    arrive([died], [left])
    number = admitted.body["admission"]
    [conflict] = worklist(ward_nurse)
    assert conflict["kind"] == "contradictory_discharge" and conflict["open"]
    assert [r["admission"] for r in conflict["records"]] == [number]
    live = ward_dump()
    assert_every_order_gives(live, [admitted, died, left], layout_events())
    # Until a doctor says which stands, the earliest made does (LAMA, made first).
    stay = doc.get(f"/api/v1/admissions/{number}").json()
    assert stay["discharge"]["type"] == "lama"
    assert {v["type"]: v["standing"] for v in stay["discharges"]} == {"death": False, "lama": True}
    death = next(v["discharge"] for v in stay["discharges"] if v["type"] == "death")
    refused = doc.post(
        f"/api/v1/admissions/{number}/discharge/confirm", {"discharge": "x:1", "note": "checked"}
    )
    assert refused.status_code == 404
    confirmed = doc.post(
        f"/api/v1/admissions/{number}/discharge/confirm",
        {"discharge": death, "note": "he was brought back and died on the ward"},
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["discharge"]["type"] == "death"
    assert Admission.objects.get(admission_no=number).discharged_ms == at(15)
    assert worklist(ward_nurse) == []
    [settled] = worklist(ward_nurse, resolved=True)
    assert settled["kind"] == "contradictory_discharge" and not settled["open"]
    assert ward_nurse.post(
        f"/api/v1/admissions/{number}/discharge/confirm", {"discharge": death, "note": "again"}
    ).status_code in (401, 403)  # a nurse may not say which discharge stands


def test_cleaning_a_bed_at_another_node_converges(apart, person, staff):
    ward_nurse, _ = staff
    admitted = apart.admit("ward-7", person("Ram Kumar"), "PW1-01", at(9))
    left = apart.discharge("ward-7", admitted, at(11), type="referred")
    # ward-8 had a cleaning of the bed on record from before this stay: it doesn't count.
    stale = apart.cleaned("ward-8", "PW1-01", at(8))
    cleaned = apart.cleaned("ward-8", "PW1-01", at(12))
    arrive([stale])
    assert board(ward_nurse, "?ward=PW1")["PW1-01"]["state"] == "vacant"
    arrive([admitted, left])
    assert board(ward_nurse, "?ward=PW1")["PW1-01"]["state"] == "cleaning"
    arrive([cleaned])
    assert board(ward_nurse, "?ward=PW1")["PW1-01"]["state"] == "vacant"
    live = ward_dump()
    assert_every_order_gives(live, [admitted, left, cleaned, stale], layout_events())


# -- everything at once, in any order ----------------------------------------------------
def _history(apart: Apart, person: Any, ward_nurse: Api, doc: Api) -> list[Event]:
    """A day and more on the wards with two nodes apart, then the conflicts resolved here."""
    ram, mohan, sita = person("Ram Kumar"), person("Mohan Lal"), person("Sita Devi", "F")
    gopal, hari, uma = person("Gopal Das"), person("Hari Om"), person("Uma Rani", "F")
    # Made in time order: each node's clock moves forward along its own chain.
    a_uma = apart.admit("ward-8", uma, "MAT-01", at(7))
    a_hari = apart.admit("ward-7", hari, "SW1-01", at(9))
    a_ram = apart.admit("ward-7", ram, "MW1-01", at(10), diagnosis="Pneumonia")
    a_mohan = apart.admit("ward-8", mohan, "MW1-01", at(10, 5))  # the same bed
    a_sita = apart.admit("ward-7", sita, "MW2-01", at(10, 10))
    a_sita_again = apart.admit("ward-8", sita, "ICU-02", at(10, 20))  # admitted twice
    remote = [
        a_uma,
        a_hari,
        a_ram,
        a_mohan,
        a_sita,
        a_sita_again,
        apart.entry("ward-7", a_ram, "vitals", {"pulse": 96, "spo2": 93}, at(10, 30)),
        apart.entry("ward-8", a_ram, "nursing_note", {"text": "Cough, febrile"}, at(10, 45)),
    ]
    a_gopal = apart.admit("ward-7", gopal, "MW1-05", at(11))
    remote += [
        a_gopal,
        apart.entry("ward-8", a_mohan, "io", {"intake_iv_ml": 500}, at(11, 15)),
        apart.transfer("ward-8", a_gopal, "ICU-05", at(12)),  # may arrive before its admission
        apart.discharge("ward-7", a_hari, at(13), diagnoses="Appendicitis, operated"),
        apart.transfer("ward-8", a_hari, "SW1-04", at(14)),  # made apart, after the discharge
        apart.discharge("ward-7", a_uma, at(16), diagnoses="Normal delivery"),
        apart.discharge("ward-8", a_uma, at(17), type="lama"),  # a second, differing discharge
        apart.cleaned("ward-8", "MAT-01", at(18)),
        apart.cleaned("ward-7", "SW1-01", at(19)),
    ]
    # Sync delivers each origin's events in its own order; here all of ward-8's come
    # first, so a transfer and a discharge arrive before the admissions they are about.
    arrive(
        [e for e in remote if e.origin == "ward-8"],
        [e for e in remote if e.origin == "ward-7"],
    )
    vector = node().store.vector()
    assert all(vector[name] == chain.seq for name, chain in apart.chains.items())

    # Back together: this node resolves the conflicts and carries on.
    url = "/api/v1/admissions"
    assert (
        ward_nurse.post(
            f"{url}/{a_mohan.body['admission']}/transfer", {"bed": "MW1-07"}
        ).status_code
        == 200
    )
    closed = doc.post(
        f"{url}/{a_sita_again.body['admission']}/discharge",
        {"type": "normal", "diagnoses": "Admitted twice at two nodes"},
    )
    assert closed.status_code == 200, closed.content
    uma_stay = doc.get(f"{url}/{a_uma.body['admission']}").json()
    delivered = next(v["discharge"] for v in uma_stay["discharges"] if v["type"] == "normal")
    confirmed = doc.post(
        f"{url}/{a_uma.body['admission']}/discharge/confirm",
        {"discharge": delivered, "note": "she went home after the delivery"},
    )
    assert confirmed.status_code == 200, confirmed.content
    assert ward_nurse.post("/api/v1/beds/ICU-02/cleaned").status_code == 200
    assert (
        ward_nurse.post(
            "/api/v1/beds/MW1-10/service", {"in_service": False, "reason": "broken"}
        ).status_code
        == 200
    )
    assert ward_nurse.post("/api/v1/beds/MW1-11/reservation", {"uhid": uma}).status_code == 200
    assert (
        ward_nurse.post(
            f"{url}/{a_ram.body['admission']}/entries",
            {
                "kind": "medication",
                "data": {"drug": "Amoxicillin", "dose": "500 mg", "route": "oral"},
            },
        ).status_code
        == 201
    )
    assert (
        doc.post(f"{url}/{a_ram.body['admission']}/lab-orders", {"tests": ["CBC"]}).status_code
        == 201
    )
    return list(node().store.in_causal_order())


def _replay(ordered: list[Event]) -> dict[str, Any]:
    projection.clear()
    for event in ordered:
        projection.apply(event)
    return projection.dump()


def test_any_order_of_the_same_ward_events_gives_the_same_tables(apart, person, staff):
    ward_nurse, doc = staff
    history = _history(apart, person, ward_nurse, doc)
    live = projection.dump()
    assert live["wards.Conflict"] and live["wards.WardEntry"] and live["wards.Placement"]
    conflicts = {(c.kind, c.is_open) for c in Conflict.objects.all()}
    assert conflicts == {
        ("double_booked", False),
        ("admitted_twice", False),
        ("contradictory_discharge", False),
    }
    expected = _replay(sorted(history, key=lambda e: e.order_key))
    assert expected == live  # the order a rebuild replays gives what the node showed

    @settings(
        max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.permutations(history))
    def any_order(shuffled: list[Event]) -> None:
        assert _replay(shuffled) == expected

    any_order()

    @settings(max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.permutations(history), st.integers(1, len(history)))
    def in_batches(shuffled: list[Event], size: int) -> None:
        projection.clear()
        for start in range(0, len(shuffled), size):
            assert projection.apply_many(shuffled[start : start + size]) == []
        assert projection.dump() == expected

    in_batches()


def test_a_bad_ward_event_in_a_batch_is_reported_alone_and_changes_nothing(apart, person, staff):
    # Ward events are applied a batch at once; one that can't be applied undoes the batch,
    # which is applied again event by event: that one is reported, the rest stand.
    ward_nurse, doc = staff
    history = _history(apart, person, ward_nurse, doc)
    expected = projection.dump()
    admitted = next(e for e in history if e.type == events.PATIENT_ADMITTED)
    bad = dataclasses.replace(
        admitted, id="bad", seq=10**6, body={**admitted.body, "source": "nowhere"}
    )
    projection.clear()
    half = len(history) // 2
    failures = projection.apply_many([*history[:half], bad, *history[half:]])
    assert [(e.seq, error.split(":")[0]) for e, error in failures] == [(10**6, "ValueError")]
    assert projection.dump() == expected


def test_rebuild_reproduces_the_ward_tables(apart, person, staff):
    ward_nurse, doc = staff
    _history(apart, person, ward_nurse, doc)
    live = projection.dump()
    count, differences = operations.rebuild(check=True)
    assert count > 0 and differences == []
    assert projection.dump() == live
    result = CliRunner().invoke(main, ["rebuild", "--check"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "reproduces every table" in result.output
    # And the check notices a bed edited behind the log's back.
    Bed.objects.filter(bed="MW1-01").update(state="vacant", occupants=[])
    result = CliRunner().invoke(main, ["rebuild", "--check"], catch_exceptions=False)
    assert result.exit_code == 1 and "wards.Bed" in result.output


def test_the_census_after_the_partition_counts_every_patient_once(apart, person, staff):
    ward_nurse, doc = staff
    _history(apart, person, ward_nurse, doc)
    day = census(ward_nurse)
    # In at the day's midnight: Ram and Mohan (one bed, two patients), Sita once (admitted
    # twice), Gopal (in the ICU); Hari and Uma went home.
    assert day["total"] == 4
    assert {w: r["at_midnight"] for w, r in day["by_ward"].items() if r["at_midnight"]} == {
        "MW1": 2,
        "MW2": 1,
        "ICU": 1,
    }
    assert day["by_ward"]["SW1"]["discharged"] == 1 and day["by_ward"]["MAT"]["discharged"] == 1
    today = census(ward_nurse, timeutil.today())
    assert today["total"] == 4
    assert today["by_ward"]["MW1"]["beds"] == 29  # MW1-10 is out of service


# -- found in review ---------------------------------------------------------------------
def _define(apart: Apart, origin: str, beds: list[str], when: int) -> Event:
    body = {
        "code": "ZZ1",
        "name_en": "Ward ZZ1",
        "name_hi": "वार्ड ZZ1",
        "kind": "general",
        "sex": "any",
        "department": "",
        "beds": [{"bed": f"ZZ1-{b}", "room": "1"} for b in beds],
    }
    return apart._next(origin, events.WARD_DEFINED, body, when, stream="ward:ZZ1")


def test_a_ward_redefined_at_two_nodes_gives_the_same_beds_in_any_order(apart, person):
    older = _define(apart, "ward-7", ["01", "02", "03"], at(9))
    admitted = apart.admit("ward-7", person("Ram Kumar"), "ZZ1-03", at(9, 30))
    newer = _define(apart, "ward-8", ["01"], at(10))
    arrive([older, admitted], [newer])
    live = ward_dump()
    beds = {b.bed: (b.listed, b.state) for b in Bed.objects.filter(ward="ZZ1")}
    # ZZ1-02 (no one ever in it) is gone; ZZ1-03 stays while its patient is in it.
    assert beds == {"ZZ1-01": (True, "vacant"), "ZZ1-03": (False, "occupied")}
    assert_every_order_gives(live, [older, admitted, newer], layout_events("ZZ1"))


def test_a_patient_in_a_bed_another_node_took_out_of_the_layout_stays_on_the_board(
    apart, person, staff
):
    ward_nurse, _ = staff
    ram = person("Ram Kumar")
    admitted = apart.admit("ward-7", ram, "MW1-30", at(9))
    fewer = dict(next(w for w in catalogue.demo_wards() if w["code"] == "MW1"))
    fewer["beds"] = fewer["beds"][:29]
    redefined = apart._next("ward-8", events.WARD_DEFINED, fewer, at(10), stream="ward:MW1")
    arrive([admitted], [redefined])
    shown = board(ward_nurse, "?ward=MW1")
    assert shown["MW1-30"]["state"] == "occupied"
    assert shown["MW1-30"]["occupant"]["uhid"] == ram
    assert census(ward_nurse)["by_ward"]["MW1"]["at_midnight"] == 1


def test_a_move_naming_the_stay_under_another_patient_counts_for_nothing_in_any_order(
    apart, person, staff
):
    ward_nurse, doc = staff
    ram, mohan = person("Ram Kumar"), person("Mohan Lal")
    admitted = apart.admit("ward-7", ram, "MW1-05", at(9))
    forged = apart._next(  # the same admission number, another patient's UHID
        "ward-8",
        events.PATIENT_TRANSFERRED,
        {
            "admission": admitted.body["admission"],
            "uhid": mohan,
            "ward": "MW1",
            "bed": "MW1-06",
            "reason": "moved",
        },
        at(10, 5),
        stream=f"patient:{mohan}",
    )
    arrive([forged], [admitted])
    number = admitted.body["admission"]
    row = Admission.objects.get(admission_no=number)
    assert (row.uhid, row.bed) == (ram, "MW1-05")
    assert board(ward_nurse, "?ward=MW1")["MW1-06"]["state"] == "vacant"
    assert [p["bed"] for p in doc.get(f"/api/v1/admissions/{number}").json()["placements"]] == [
        "MW1-05"
    ]
    live = ward_dump()
    assert_every_order_gives(live, [admitted, forged], layout_events())
