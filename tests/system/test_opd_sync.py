"""Outpatient care across nodes: queue steps and clinical entries made at one department
node reach the others and the hub, keep working with the hub down, and two calls of one
token made apart converge on one caller."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.system.cluster import Cluster, wait_for
from tests.system.node import NodeProcess, Staff, add_user, staff_at

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # One hospital for the module: starting one costs 20-30 s. Each test uses its own
    # patients and staff and leaves every node running and every link healed.
    hospital = Cluster(tmp_path_factory.mktemp("opd"), edges=2).start()
    yield hospital
    hospital.stop()


# -- acting as a member of staff ---------------------------------------------------


# -- the desk and the queue ----------------------------------------------------------


def register_visit(node: NodeProcess, name: str) -> dict[str, Any]:
    """The node's clerk registers a patient and a Medicine visit; returns the visit."""
    status, patient = node.json(
        "POST", "/api/v1/patients", {"name_en": name, "sex": "M", "age_years": 52}
    )
    assert status == 201, patient
    status, visit = node.json(
        "POST", "/api/v1/visits", {"uhid": patient["uhid"], "department": "Medicine"}
    )
    assert status == 201, visit
    assert visit["department"] == "MED"
    return dict(visit)


def queued(node: NodeProcess, reader: Staff, visit: dict[str, Any]) -> dict[str, Any] | None:
    """The visit's row in the node's Medicine queue of today, or None if not there (yet)."""
    status, queue = reader.json(node, "GET", "/api/v1/queues/MED")
    assert status == 200, (node.name, queue)
    assert queue["department"] == "MED"
    rows = [t for t in queue["tokens"] if t["visit"] == visit["visit"]]
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def in_state(
    node: NodeProcess, reader: Staff, visit: dict[str, Any], state: str
) -> dict[str, Any] | None:
    row = queued(node, reader, visit)
    return row if row is not None and row["state"] == state else None


def digests(cluster: Cluster) -> set[str]:
    return {s["digest"] for s in cluster.wait_converged()}


# -- the tests -------------------------------------------------------------------------


def test_a_consultation_at_one_department_node_reaches_the_other_and_the_hub(
    cluster: Cluster,
) -> None:
    hub, (a, b) = cluster.hub, cluster.edges
    add_user(hub, "dr-mehta", "doctor")
    add_user(hub, "lab-1", "lab")
    doctor = staff_at(a, "dr-mehta")  # issued at edge-1: it has learnt the user
    lab_at_b = staff_at(b, "lab-1")
    lab_at_hub = staff_at(hub, "lab-1")

    visit = register_visit(a, "Ramesh Yadav")
    number, uhid = visit["visit"], visit["uhid"]
    status, called = doctor.json(a, "POST", f"/api/v1/visits/{number}/call", {"room": "Room 102"})
    assert status == 200, called
    assert (called["state"], called["by"], called["room"]) == ("called", "dr-mehta", "Room 102")
    status, started = doctor.json(a, "POST", f"/api/v1/visits/{number}/start")
    assert status == 200 and started["state"] == "consulting", started
    steps = [
        ("vitals", {"bp_systolic": 138, "bp_diastolic": 88, "pulse": 80, "weight_kg": 72.5}),
        ("diagnoses", {"code": "E11.9", "status": "provisional"}),
        (
            "prescriptions",
            {
                "items": [
                    {
                        "drug": "MET500",
                        "dose": "1 tablet",
                        "frequency": "BD",
                        "duration_days": 30,
                        "instructions": "after food",
                    }
                ]
            },
        ),
    ]
    entries = {}
    for path, body in steps:
        status, entry = doctor.json(a, "POST", f"/api/v1/visits/{number}/{path}", body)
        assert status == 201, (path, entry)
        entries[entry["kind"]] = entry["entry"]
    assert set(entries) == {"vitals", "diagnosis", "prescription"}
    status, order = doctor.json(
        a, "POST", f"/api/v1/visits/{number}/lab-orders", {"tests": ["CBC"]}
    )
    assert status == 201, order
    assert (order["uhid"], order["visit"], order["tests"]) == (uhid, number, ["CBC"])
    status, closed = doctor.json(a, "POST", f"/api/v1/visits/{number}/close")
    assert status == 200 and closed["state"] == "done", closed

    assert len(digests(cluster)) == 1, "projections differ after the consultation synced"

    for node in (b, hub):
        row = queued(node, doctor, visit)
        assert row is not None, f"{node.name} has no token {visit['token']} in MED's queue"
        assert (row["token"], row["state"], row["by"]) == (visit["token"], "done", "dr-mehta"), (
            node.name,
            row,
        )

        status, record = doctor.json(node, "GET", f"/api/v1/visits/{number}/record")
        assert status == 200, (node.name, record)
        assert record["state"] == "done" and record["token"] == visit["token"]
        by_kind = {e["kind"]: e for e in record["entries"]}
        assert {k: by_kind[k]["entry"] for k in entries if k in by_kind} == entries, (
            node.name,
            record["entries"],
        )
        for entry in by_kind.values():
            assert (entry["by"], entry["node"], entry["current"]) == ("dr-mehta", a.name, True)
        assert by_kind["vitals"]["data"]["vitals"]["bp_systolic"] == 138
        assert by_kind["diagnosis"]["data"]["code"] == "E11.9"
        [item] = by_kind["prescription"]["data"]["items"]
        assert (item["drug_code"], item["frequency"], item["duration_days"]) == ("MET500", "BD", 30)
        assert [o["order"] for o in record["lab_orders"]] == [order["order"]]

        status, timeline = doctor.json(node, "GET", f"/api/v1/patients/{uhid}/timeline")
        assert status == 200, (node.name, timeline)
        assert [v["visit"] for v in timeline["visits"]] == [number]

    for node, lab in ((hub, lab_at_hub), (b, lab_at_b)):
        status, orders = lab.json(node, "GET", "/api/v1/lab/orders")
        assert status == 200, (node.name, orders)
        mine = [o for o in orders if o["uhid"] == uhid]
        assert len(mine) == 1, (node.name, orders)
        assert (mine[0]["order"], mine[0]["tests"], mine[0]["visit"]) == (
            order["order"],
            ["CBC"],
            number,
        )
        assert (mine[0]["by"], mine[0]["node"], mine[0]["department"]) == (
            "dr-mehta",
            a.name,
            "MED",
        )

    # The reads above were audited at each node; once that has synced, all still agree.
    assert len(digests(cluster)) == 1


def test_the_department_keeps_calling_with_the_hub_down(cluster: Cluster) -> None:
    hub, (a, b) = cluster.hub, cluster.edges
    add_user(hub, "nurse-asha", "nurse")
    nurse_at_hub = staff_at(hub, "nurse-asha")
    nurse = staff_at(b, "nurse-asha")  # known at edge-2 (and, through the hub, at edge-1)
    cluster.wait_converged()
    hub.stop()

    visit = register_visit(a, "Sunita Devi")
    wait_for(
        lambda: in_state(b, nurse, visit, "waiting"),
        what=f"edge-2 to see token {visit['token']} waiting, from edge-1 with the hub down",
    )
    status, called = nurse.json(b, "POST", f"/api/v1/visits/{visit['visit']}/call", {})
    assert status == 200, called
    assert (called["state"], called["by"]) == ("called", "nurse-asha")

    row = wait_for(
        lambda: in_state(a, nurse, visit, "called"),
        what="edge-1 to see the call made at edge-2",
    )
    assert row["by"] == "nurse-asha" and row["token"] == visit["token"]

    hub.start(sync_interval=0.5)
    assert len(digests(cluster)) == 1, "projections differ once the hub is back"
    row = in_state(hub, nurse_at_hub, visit, "called")
    assert row is not None and row["by"] == "nurse-asha", queued(hub, nurse_at_hub, visit)


def test_two_calls_of_one_token_made_apart_converge_on_one_caller(cluster: Cluster) -> None:
    hub, (a, b) = cluster.hub, cluster.edges
    add_user(hub, "dr-rao", "doctor")
    add_user(hub, "nurse-bela", "nurse")
    doctor = staff_at(a, "dr-rao")
    nurse = staff_at(b, "nurse-bela")
    visit = register_visit(a, "Kamla Bai")
    cluster.wait_converged()  # the visit, the users and their tokens are everywhere
    assert in_state(b, nurse, visit, "waiting")

    hub.stop()  # nothing to relay through
    cluster.isolate(a)  # and edge-1 and edge-2 cannot reach each other, either way
    path = f"/api/v1/visits/{visit['visit']}/call"
    status, first = doctor.json(a, "POST", path, {"room": "Room 101"})
    assert status == 200 and first["by"] == "dr-rao", first
    time.sleep(0.05)  # the nurse's call is the later one, by the clock too
    status, second = nurse.json(b, "POST", path, {"room": "Room 103"})
    assert status == 200 and second["by"] == "nurse-bela", second
    assert (in_state(a, doctor, visit, "called") or {}).get("by") == "dr-rao"
    assert (in_state(b, nurse, visit, "called") or {}).get("by") == "nurse-bela"

    hub.start(sync_interval=0.5)
    cluster.heal()
    assert len(digests(cluster)) == 1, "projections differ after the two calls met"

    readers = ((a, doctor), (b, nurse), (hub, doctor))
    rows = {node.name: in_state(node, reader, visit, "called") for node, reader in readers}
    assert all(rows.values()), rows
    callers = {(r["by"], r["room"]) for r in rows.values() if r}
    # One caller everywhere: the earlier call (the doctor's, in Room 101) wins.
    assert callers == {("dr-rao", "Room 101")}, rows

    # The loser, calling again, is told the token is someone else's.
    status, refused = nurse.json(b, "POST", path, {})
    assert status == 409, refused
    for node, reader in readers:
        status, record = reader.json(node, "GET", f"/api/v1/visits/{visit['visit']}/record")
        assert status == 200 and record["state"] == "called", (node.name, record)
