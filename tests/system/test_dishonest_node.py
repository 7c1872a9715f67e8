"""A node that forges, rewrites its past or equivocates is refused by every peer,
named in their status, and quarantined - and the honest data is untouched."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

from nirantar.ledger import events, keys, sync, transport
from nirantar.ledger.hlc import HLC, wall_ms
from tests.system.cluster import Cluster, wait_for
from tests.system.test_partitions import register

pytestmark = pytest.mark.system


class Compromised:
    """Whoever holds edge-3's key: crafts events and pushes them, signed as edge-3."""

    def __init__(self, node):
        self.node = node
        self.key = keys.load_private(node.data_dir / "node.key")
        self.db = node.data_dir / "nirantar.sqlite3"

    def head(self):
        with sqlite3.connect(self.db) as db:
            return db.execute(
                "SELECT seq, hash, hlc_wall, hlc_count FROM ledger_head WHERE origin = 'edge-3'"
            ).fetchone()

    def stored(self, seq):
        with sqlite3.connect(self.db) as db:
            row = db.execute(
                "SELECT id, hlc_wall, hlc_count, actor, type, stream, body, prev "
                "FROM ledger_event WHERE origin = 'edge-3' AND seq = ?",
                (seq,),
            ).fetchone()
        return row

    def next_event(self, body, key=None, seq=None, prev=None, hlc=None):
        head_seq, head_hash, wall, count = self.head()
        return events.build(
            key or self.key,
            origin="edge-3",
            seq=seq or head_seq + 1,
            hlc=hlc or HLC(max(wall + 1, wall_ms()), 0),
            actor="intruder",
            type="registration.patient_corrected",
            stream="patient:x",
            body={"v": 1, **body},
            prev=prev or head_hash,
        )

    def push(self, target, event):
        body = b"".join(sync.to_ndjson([event]))
        headers = transport.sign(self.key, "edge-3", "POST", "/sync/push", body, target.name)
        headers["Content-Type"] = "application/x-ndjson"
        return target.request("POST", "/sync/push", raw=body, headers=headers)


@pytest.fixture
def hospital(tmp_path):
    cluster = Cluster(tmp_path, edges=3).start()
    yield cluster
    cluster.stop()


def quarantined_everywhere(nodes, name="edge-3"):
    return all(any(q["origin"] == name for q in n.status()["quarantined"]) for n in nodes)


def lift(nodes):
    for node in nodes:
        node.run("quarantine", "lift", "edge-3", check=False)


def honest_view(nodes):
    """What the honest nodes hold of each other: equal vectors for honest origins."""
    vectors = [{o: s for o, s in n.status()["vector"].items() if o != "edge-3"} for n in nodes]
    return all(v == vectors[0] for v in vectors)


def test_forgery_rewriting_and_equivocation_are_each_refused_everywhere(hospital):
    hub, a, b, c = hospital.hub, *hospital.edges
    honest = [hub, a, b]
    honest_uhids = [register(a, "Asha Ahuja")[0], register(b, "Bina Bajaj")[0]]
    register(c, "Chanda Chawla")
    hospital.wait_converged()
    c.stop()  # edge-3 is now in an intruder's hands
    intruder = Compromised(c)

    # 1. A forged signature: refused, edge-3 named and quarantined by each honest node.
    forged = intruder.next_event({"uhid": "x", "changes": {}}, key=keys.generate())
    for node in honest:
        status, _, answer = intruder.push(node, forged)
        assert status == 200 and json.loads(answer)["rejected"], node.name
    assert quarantined_everywhere(honest)
    for node in honest:
        kinds = {(al["kind"], al["origin"]) for al in node.status()["alarms"]}
        assert ("forged", "edge-3") in kinds and ("bad_presenter", "edge-3") in kinds
    # While quarantined, even its honest-looking requests are refused.
    status, _, _ = intruder.push(hub, intruder.next_event({"uhid": "x", "changes": {}}))
    assert status == 403
    lift(honest)

    # 2. A rewritten past event, validly signed: equivocation, refused, quarantined.
    event_id, wall, count, actor, type_, stream, body, prev = intruder.stored(1)
    original = events.build(
        intruder.key,
        origin="edge-3",
        seq=1,
        hlc=HLC(wall, count),
        actor=actor,
        type=type_,
        stream=stream,
        body=json.loads(body),
        prev=prev,
        id=event_id,
    )
    rewritten = dataclasses.replace(original, body={**original.body, "label": "rewritten"})
    rewritten = events.build(
        intruder.key,
        origin="edge-3",
        seq=1,
        hlc=rewritten.hlc,
        actor=actor,
        type=type_,
        stream=stream,
        body=rewritten.body,
        prev=prev,
    )
    for node in honest:
        intruder.push(node, rewritten)
    assert quarantined_everywhere(honest)
    assert all(any(al["kind"] == "equivocation" for al in n.status()["alarms"]) for n in honest)
    lift(honest)

    # 3. Two different events with the same seq, shown to different nodes: when those
    #    nodes meet, each sees the other and quarantines edge-3.
    one = intruder.next_event({"uhid": "x", "changes": {}, "reason": "one"})
    two = intruder.next_event({"uhid": "x", "changes": {}, "reason": "two"})
    assert one.seq == two.seq and one.hash != two.hash
    assert intruder.push(a, one)[0] == 200
    assert intruder.push(b, two)[0] == 200
    wait_for(
        lambda: quarantined_everywhere(honest),
        timeout=60,
        what="every honest node to see both versions and quarantine edge-3",
    )

    # The honest data is untouched and still agreed on.
    wait_for(lambda: honest_view(honest), what="honest nodes to agree")
    for node in honest:
        for uhid in honest_uhids:
            assert node.json("GET", f"/api/v1/patients/{uhid}")[0] == 200
        assert node.run("verify").returncode == 0
