"""Nodes that work apart and converge together: real processes, real partitions."""

from __future__ import annotations

import pytest

from tests.system.cluster import Cluster, wait_for

pytestmark = pytest.mark.system


@pytest.fixture
def cluster(tmp_path):
    hospital = Cluster(tmp_path, edges=3).start()
    yield hospital
    hospital.stop()


def register(node, name):
    status, patient = node.json(
        "POST", "/api/v1/patients", {"name_en": name, "sex": "F", "age_years": 30}
    )
    assert status == 201, patient
    status, visit = node.json(
        "POST", "/api/v1/visits", {"uhid": patient["uhid"], "department": "Medicine"}
    )
    assert status == 201, visit
    return patient["uhid"], name


def test_edges_keep_working_apart_and_converge_when_healed(cluster):
    hub, a, b, c = cluster.hub, *cluster.edges
    hub.stop()  # the hub is gone
    cluster.isolate(c)  # and one edge is cut off from everyone
    acknowledged = {}
    for first in ("Asha", "Bina", "Chanda"):
        for edge, last in ((a, "Ahuja"), (b, "Bajaj"), (c, "Chawla")):
            uhid, name = register(edge, f"{first} {last}")
            acknowledged[uhid] = name
    # While apart, a and b still see each other's work; c sees only its own.
    wait_for(
        lambda: a.status()["vector"].get("edge-2") == b.status()["vector"]["edge-2"],
        what="edges a and b to replicate without the hub",
    )
    assert (
        "edge-3" not in a.status()["vector"]
        or a.status()["vector"]["edge-3"] < c.status()["vector"]["edge-3"]
    )

    hub.start(sync_interval=0.5)
    cluster.heal()
    statuses = cluster.wait_converged()
    assert len({s["digest"] for s in statuses}) == 1, "projections differ after healing"

    for node in cluster.nodes:
        for uhid, name in acknowledged.items():
            status, patient = node.json("GET", f"/api/v1/patients/{uhid}")
            assert status == 200 and patient["name_en"] == name, (node.name, uhid)
    # No UHID belongs to two patients: every acknowledged UHID is distinct and names one person.
    assert len(acknowledged) == 9
    assert len({u.split("-")[0] for u in acknowledged}) == 3  # minted in three number spaces


def test_a_node_killed_mid_sync_resumes_with_nothing_twice_or_skipped(tmp_path):
    # Small batches over a slow link: catching up takes tens of seconds, so the edge is
    # caught part-way however slowly a loaded machine answers its status reads. (Timing
    # alone was not enough: twice a busy run saw it either not started or already done.)
    hospital = Cluster(tmp_path, edges=1, env={"NIRANTAR_SYNC_BATCH": "5"}).start()
    try:
        hub, edge = hospital.hub, hospital.edges[0]
        edge.stop()
        for i in range(100):  # the edge misses 100 patients and their visits
            register(hub, "Backlog Patient " + "abcdefghij"[i % 10] * (1 + i // 10))
        total = hub.status()["vector"]["hub"]
        links = (hospital.link(edge, hub), hospital.link(hub, edge))
        for link in links:
            link.slow(0.2)
        edge.start(sync_interval=0.5)
        wait_for(
            lambda: 0 < edge.status()["vector"].get("hub", 0) < total,
            timeout=90,
            what="the edge to be part-way through catching up",
        )
        edge.kill()  # kill -9, mid-sync
        for link in links:
            link.slow(0)
        edge.start(sync_interval=0.5)
        statuses = hospital.wait_converged()
        assert statuses[0]["digest"] == statuses[1]["digest"]
        assert edge.run("verify").returncode == 0  # gapless chains: nothing skipped
        assert "alarms" in statuses[1] and not statuses[1]["alarms"]
    finally:
        hospital.stop()


def test_the_same_patient_corrected_apart_has_one_winner_and_keeps_the_loser(cluster):
    hub, a, b, _ = cluster.hub, *cluster.edges
    uhid, _ = register(hub, "Meena Kumari")
    cluster.wait_converged()
    cluster.isolate(a)
    cluster.isolate(b)
    a.add_user("rec-a", "records")  # each corrects as a records clerk of its own node
    b.add_user("rec-b", "records")
    assert a.json("PATCH", f"/api/v1/patients/{uhid}", {"mobile": "9111111111"})[0] == 200
    assert b.json("PATCH", f"/api/v1/patients/{uhid}", {"mobile": "9222222222"})[0] == 200
    cluster.heal()
    statuses = cluster.wait_converged()
    assert len({s["digest"] for s in statuses}) == 1
    winners = {n.json("GET", f"/api/v1/patients/{uhid}")[1]["mobile"] for n in (a, b, hub)}
    assert len(winners) == 1 and winners <= {"9111111111", "9222222222"}
    history = a.json("GET", f"/api/v1/patients/{uhid}/history")[1]["changes"]
    mobiles = {(c["value"], c["current"]) for c in history if c["field"] == "mobile"}
    loser = ({"9111111111", "9222222222"} - winners).pop()
    assert (loser, False) in mobiles and (winners.pop(), True) in mobiles


def test_a_revoked_nodes_new_events_are_refused_everywhere(cluster):
    hub, a, b, c = cluster.hub, *cluster.edges
    register(c, "Before Revocation")
    cluster.wait_converged()
    kept = hub.status()["vector"]["edge-3"]
    cluster.isolate(c)  # edge-3 is away (or stolen) when it is revoked
    hub.run("enrol", "revoke", "edge-3", "--reason", "stolen laptop")
    authority = hub.status()["vector"]["authority"]
    wait_for(
        lambda: all(n.status()["vector"]["authority"] == authority for n in (a, b)),
        what="the revocation to reach every edge",
    )
    register(c, "After Revocation")  # edge-3 doesn't know yet, and keeps writing
    assert c.status()["vector"]["edge-3"] > kept
    cluster.heal()
    # Whichever happens first - edge-3 pushing its new events (refused: revoked_origin),
    # asking to sync (refused: revoked_peer), or learning of its revocation from a
    # peer - every node ends with edge-3 counted only up to the cut.
    statuses = cluster.wait_converged()
    for status in statuses:
        assert status["vector"]["edge-3"] == kept, status["node"]
    assert c.status()["revoked"] is True
    # edge-3 has learnt it was revoked, and now refuses to register anyone.
    assert (
        c.json("POST", "/api/v1/patients", {"name_en": "Later", "sex": "F", "age_years": 3})[0]
        == 503
    )
