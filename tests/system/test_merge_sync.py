"""One person registered twice on two nodes cut off from each other: after sync, records
staff find the pair on every node's duplicates worklist and merge the two at one node, and
every node then shows one record with both visits; an unmerge made at another node gives
back two records everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.system.cluster import Cluster
from tests.system.node import NodeProcess, Staff, add_user, staff_at

pytestmark = pytest.mark.system

PERSON = {"name_en": "Sukhdev Singh Virk", "sex": "M", "age_years": 61, "mobile": "9812345670"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    hospital = Cluster(tmp_path_factory.mktemp("merge"), edges=2).start()
    yield hospital
    hospital.stop()


def register_with_visit(node: NodeProcess) -> tuple[str, str]:
    """The node's clerk registers the person and a Medicine visit: (UHID, visit)."""
    status, patient = node.json("POST", "/api/v1/patients", PERSON)
    assert status == 201, patient
    status, visit = node.json(
        "POST", "/api/v1/visits", {"uhid": patient["uhid"], "department": "Medicine"}
    )
    assert status == 201, visit
    return patient["uhid"], visit["visit"]


def seen_at(node: NodeProcess, doctor: Staff, uhid: str) -> dict[str, Any]:
    """What ``node`` shows for ``uhid``: the record, its visits, and the counter's search."""
    status, record = node.json("GET", f"/api/v1/patients/{uhid}")
    assert status == 200, (node.name, record)
    status, timeline = doctor.json(node, "GET", f"/api/v1/patients/{uhid}/timeline")
    assert status == 200, (node.name, timeline)
    status, found = node.json("GET", "/api/v1/patients?q=9812345670")
    assert status == 200, (node.name, found)
    return {
        "uhid": record["uhid"],
        "merged_from": record["merged_from"],
        "merged_uhids": record["merged_uhids"],
        "visits": sorted(v["visit"] for v in timeline["visits"]),
        "search": sorted(p["uhid"] for p in found["results"]),
    }


def on_worklist(node: NodeProcess, records: Staff, status: str) -> list[tuple[str, str, float]]:
    """The pairs ``node``'s duplicates worklist holds with ``status``: (UHID, UHID, score)."""
    code, page = records.json(node, "GET", f"/api/v1/duplicates?status={status}")
    assert code == 200, (node.name, page)
    return [(p["uhid_a"], p["uhid_b"], p["score"]) for p in page["results"]]


def test_a_duplicate_made_apart_is_merged_everywhere_and_unmerged_everywhere(
    cluster: Cluster,
) -> None:
    hub, (a, b) = cluster.hub, cluster.edges
    add_user(hub, "records-1", "records")
    add_user(hub, "dr-kaur", "doctor")
    cluster.wait_converged()
    records = {n.name: staff_at(n, "records-1") for n in cluster.nodes}
    doctor = staff_at(hub, "dr-kaur")
    cluster.wait_converged()

    # The counters at a and b are cut off from everyone: each registers the person anew.
    cluster.isolate(a)
    cluster.isolate(b)
    survivor, first_visit = register_with_visit(a)
    duplicate, second_visit = register_with_visit(b)
    assert survivor != duplicate
    cluster.heal()
    cluster.wait_converged()
    for node in cluster.nodes:
        for uhid, visit in ((survivor, first_visit), (duplicate, second_visit)):
            seen = seen_at(node, doctor, uhid)
            assert (seen["uhid"], seen["visits"]) == (uhid, [visit]), (node.name, seen)
            assert seen["search"] == sorted([survivor, duplicate]), (node.name, seen)
    # Found by itself, on every node, as the other node's registration arrived by sync.
    pair = tuple(sorted([survivor, duplicate]))
    for node in cluster.nodes:
        [(uhid_a, uhid_b, score)] = on_worklist(node, records[node.name], "open")
        assert (uhid_a, uhid_b) == pair and score >= 0.6, node.name

    reason = "same person: same mobile, father's name and village"
    body = {"survivor": survivor, "duplicate": duplicate, "reason": reason}
    status, merged = records[a.name].json(a, "POST", "/api/v1/patients/merge", body)
    assert status == 200, merged
    assert merged["group"] == [survivor, duplicate]
    statuses = cluster.wait_converged()
    assert len({s["digest"] for s in statuses}) == 1, "projections differ after the merge"
    both = sorted([first_visit, second_visit])
    for node in cluster.nodes:
        assert seen_at(node, doctor, survivor) == {
            "uhid": survivor,
            "merged_from": None,
            "merged_uhids": [duplicate],
            "visits": both,
            "search": [survivor],
        }, node.name
        assert seen_at(node, doctor, duplicate)["merged_from"] == duplicate, node.name
        assert seen_at(node, doctor, duplicate)["uhid"] == survivor, node.name
        assert [p[:2] for p in on_worklist(node, records[node.name], "merged")] == [pair]
        assert on_worklist(node, records[node.name], "open") == [], node.name

    # The unmerge is made at the other edge: everyone goes back to two records.
    status, unmerged = records[b.name].json(b, "POST", "/api/v1/patients/unmerge", body)
    assert status == 200, unmerged
    assert unmerged["merged"] is False
    statuses = cluster.wait_converged()
    assert len({s["digest"] for s in statuses}) == 1, "projections differ after the unmerge"
    for node in cluster.nodes:
        for uhid, visit in ((survivor, first_visit), (duplicate, second_visit)):
            assert seen_at(node, doctor, uhid) == {
                "uhid": uhid,
                "merged_from": None,
                "merged_uhids": [],
                "visits": [visit],
                "search": sorted([survivor, duplicate]),
            }, node.name
        assert [p[:2] for p in on_worklist(node, records[node.name], "open")] == [pair]
