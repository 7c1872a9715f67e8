"""One bed given twice while the hospital was split: real node processes, a real partition.

Two ward nodes, cut off from each other and from the hub, each admit a patient to the
same vacant bed - as they must: neither can know of the other. When they can talk again
every node shows the bed double-booked, one conflict on the worklist naming both
admissions, and each patient counted once in the census; a transfer made at one node
ends the conflict everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nirantar.wards import catalogue
from tests.system.cluster import Cluster
from tests.system.node import NodeProcess, Staff, add_user, staff_at

pytestmark = pytest.mark.system

DOCTOR = "dr-sen"
BED, OTHER_BED = "MW1-07", "MW1-08"


@pytest.fixture
def hospital(tmp_path: Any) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, edges=2).start()
    yield cluster
    cluster.stop()


def register(node: NodeProcess, name: str) -> str:
    """The node's clerk registers a man (MW1 is a men's ward); returns his UHID."""
    status, patient = node.json(
        "POST", "/api/v1/patients", {"name_en": name, "sex": "M", "age_years": 61}
    )
    assert status == 201, patient
    return str(patient["uhid"])


def admit(node: NodeProcess, doctor: Staff, uhid: str, bed: str) -> str:
    status, admitted = doctor.json(
        node,
        "POST",
        "/api/v1/admissions",
        {
            "uhid": uhid,
            "bed": bed,
            "attending": DOCTOR,
            "diagnosis": "Community-acquired pneumonia",
        },
    )
    assert status == 201, (node.name, admitted)
    assert (admitted["uhid"], admitted["bed"], admitted["node"]) == (uhid, bed, node.name)
    return str(admitted["admission"])


def beds(node: NodeProcess, reader: Staff) -> dict[str, dict[str, Any]]:
    status, board = reader.json(node, "GET", "/api/v1/beds?ward=MW1")
    assert status == 200, (node.name, board)
    return {b["bed"]: b for b in board["beds"]}


def occupants(bed: dict[str, Any]) -> list[str]:
    return [o["admission"] for o in bed["occupants"]]


def conflicts(node: NodeProcess, reader: Staff, resolved: bool = False) -> list[dict[str, Any]]:
    path = "/api/v1/conflicts" + ("?resolved=true" if resolved else "")
    status, found = reader.json(node, "GET", path)
    assert status == 200, (node.name, found)
    return list(found)


def census(node: NodeProcess, reader: Staff, day: str) -> dict[str, Any]:
    status, found = reader.json(node, "GET", f"/api/v1/census?date={day}")
    assert status == 200, (node.name, found)
    return dict(found)


def today(node: NodeProcess, reader: Staff) -> str:
    """The hospital's today, as the node has it (the census's default date)."""
    status, found = reader.json(node, "GET", "/api/v1/census")
    assert status == 200, found
    return str(found["date"])


def converged(cluster: Cluster) -> None:
    statuses = cluster.wait_converged()
    assert len({s["digest"] for s in statuses}) == 1, "projections differ with the same events"


def test_one_bed_given_twice_apart_is_one_conflict_everywhere_until_a_transfer(
    hospital: Cluster,
) -> None:
    hub, (a, b) = hospital.hub, hospital.edges
    nodes = (hub, a, b)
    admin = Staff("admin", hub.admin_token)
    for ward in catalogue.demo_wards():
        status, defined = admin.json(hub, "PUT", f"/api/v1/wards/{ward['code']}", ward)
        assert status == 200, (ward["code"], defined)
    add_user(hub, DOCTOR, "doctor", "Dr. Meera Sen")
    doctor = staff_at(hub, DOCTOR)  # a token issued at the hub reaches every node
    first, second = register(hub, "Ram Prakash Tiwari"), register(hub, "Mohd. Salim Ansari")
    hospital.wait_converged()  # the wards, the patients, the doctor and the token everywhere
    for node in (a, b):
        assert beds(node, doctor)[BED]["state"] == "vacant", node.name

    # The two ward nodes lose each other and the hub; each admits to the bed it sees free.
    hospital.isolate(a)
    hospital.isolate(b)
    one = admit(a, doctor, first, BED)
    two = admit(b, doctor, second, BED)
    assert one.split("-")[1] != two.split("-")[1], "minted in two number spaces"
    assert occupants(beds(a, doctor)[BED]) == [one]
    assert occupants(beds(b, doctor)[BED]) == [two]
    assert conflicts(a, doctor) == [] and conflicts(b, doctor) == []

    hospital.heal()
    converged(hospital)

    day = today(hub, doctor)
    seen = []
    for node in nodes:
        bed = beds(node, doctor)[BED]
        assert bed["state"] == "occupied" and bed["double_booked"] is True, (node.name, bed)
        assert sorted(occupants(bed)) == sorted([one, two]), (node.name, bed)
        assert {o["uhid"] for o in bed["occupants"]} == {first, second}
        assert bed["occupant"]["admission"] in (one, two)
        assert beds(node, doctor)[OTHER_BED]["state"] == "vacant"

        worklist = conflicts(node, doctor)
        assert len(worklist) == 1, (node.name, worklist)
        [conflict] = worklist
        assert (conflict["kind"], conflict["subject"], conflict["ward"]) == (
            "double_booked",
            BED,
            "MW1",
        ), conflict
        assert conflict["open"] is True and conflict["resolved_at"] is None, conflict
        assert sorted(r["admission"] for r in conflict["records"]) == sorted([one, two])
        assert {r["node"] for r in conflict["records"]} == {a.name, b.name}
        seen.append(conflict)

        counted = census(node, doctor, day)
        mw1 = next(w for w in counted["wards"] if w["ward"] == "MW1")
        assert counted["total"] == 2, (node.name, counted)
        assert (mw1["at_midnight"], mw1["admitted"]) == (2, 2), (node.name, mw1)
    assert seen[0] == seen[1] == seen[2], "the worklist differs between nodes"

    # The in-charge, at ward node A, moves the patient admitted at B to the next bed.
    status, moved = doctor.json(a, "POST", f"/api/v1/admissions/{two}/transfer", {"bed": OTHER_BED})
    assert status == 200, moved
    assert (moved["admission"], moved["bed"]) == (two, OTHER_BED)
    converged(hospital)

    resolved = []
    for node in nodes:
        board = beds(node, doctor)
        assert occupants(board[BED]) == [one], (node.name, board[BED])
        assert occupants(board[OTHER_BED]) == [two], (node.name, board[OTHER_BED])
        assert not board[BED]["double_booked"] and not board[OTHER_BED]["double_booked"]
        assert board[BED]["state"] == board[OTHER_BED]["state"] == "occupied"

        assert conflicts(node, doctor) == [], node.name
        [conflict] = conflicts(node, doctor, resolved=True)
        assert conflict["conflict"] == seen[0]["conflict"], (node.name, conflict)
        assert conflict["open"] is False and conflict["resolved_at"], conflict
        assert {r["admission"]: r["bed"] for r in conflict["records"]} == {
            one: BED,
            two: OTHER_BED,
        }
        resolved.append(conflict)

        counted = census(node, doctor, day)
        mw1 = next(w for w in counted["wards"] if w["ward"] == "MW1")
        assert counted["total"] == 2 and mw1["at_midnight"] == 2, (node.name, counted)
    assert resolved[0] == resolved[1] == resolved[2], "the resolved worklist differs"
    converged(hospital)  # the reads above were audited; the nodes still agree
