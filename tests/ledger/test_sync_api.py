"""The sync API (/sync/), called as another node would: signed requests, NDJSON events."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from nirantar.ledger import bootstrap, keys, sync, transport
from nirantar.ledger.models import Alarm, JoinRequest, Quarantine
from nirantar.ledger.writer import node
from tests.ledger.factory import Chain


class Peer:
    """Another node of the suite's hospital, enrolled with its own key."""

    def __init__(self, name: str = "ward-7", number: int = 7, enrol: bool = True) -> None:
        self.name = name
        self.key = keys.generate()
        self.client = Client()
        if enrol:
            bootstrap.enrol(
                node(),
                node=name,
                number=number,
                public_key=keys.public_text(self.key),
                actor="test",
            )

    def call(self, method: str, path: str, body: bytes = b"", signer=None, name=None, to=None):
        to = node().name if to is None else to  # addressed to the node under test
        headers = transport.sign(signer or self.key, name or self.name, method, path, body, to)
        kwargs = {"headers": headers}
        if method == "POST":
            kwargs.update(data=body, content_type="application/json")
        return getattr(self.client, method.lower())(path, **kwargs)

    def chain(self) -> Chain:
        from nirantar.ledger.models import Origin

        return Chain(self.name, self.key, Origin.objects.get(name=self.name).enrolment_hash)


@pytest.fixture
def peer(hospital):
    return Peer()


def test_hello_tells_a_peer_this_nodes_vector_and_heads(peer):
    answer = peer.call("GET", "/sync/hello").json()
    assert answer["node"] == "test-counter"
    assert answer["vector"] == node().store.vector()
    assert answer["heads"]["test-counter"][0] == answer["vector"]["test-counter"]
    assert answer["hospital"] == sync.hospital_id(node().store)


def test_pull_sends_what_the_peer_lacks_as_ndjson(peer, registered):
    vector = dict(node().store.vector())
    vector["test-counter"] -= 2
    response = peer.call("POST", "/sync/pull", json.dumps({"vector": vector}).encode())
    assert response["Content-Type"] == "application/x-ndjson"
    pulled = sync.from_ndjson(response.content)
    assert [e.seq for e in pulled] == [vector["test-counter"] + 1, vector["test-counter"] + 2]


def test_push_ingests_a_peers_events_and_answers_with_the_new_vector(peer):
    chain = peer.chain()
    body = b"".join(sync.to_ndjson([chain.next(), chain.next()]))
    answer = peer.call("POST", "/sync/push", body).json()
    assert answer["accepted"] == 2 and answer["vector"]["ward-7"] == 2


@pytest.mark.parametrize("to", ["", "ward-9"])
def test_a_pull_meant_for_another_node_is_refused(peer, registered, to):
    # A signed pull captured on its way to one peer (or sent to a wrong URL) can't be
    # replayed here to read this node's log: the signature names the node it is for.
    body = json.dumps({"vector": {}}).encode()
    response = peer.call("POST", "/sync/pull", body, to=to)
    assert response.status_code == 401
    assert "addressed to" in response.json()["error"]["message"]
    # A request that claims this node but was signed for another fails the signature.
    headers = transport.sign(peer.key, peer.name, "POST", "/sync/pull", body, "ward-9")
    headers[transport.TO] = node().name
    forged = Client().post(
        "/sync/pull", data=body, content_type="application/json", headers=headers
    )
    assert forged.status_code == 401


@pytest.mark.parametrize("problem", ["unsigned", "wrong key", "not enrolled", "stale"])
def test_only_an_enrolled_node_signing_now_may_sync(hospital, problem):
    peer = Peer(enrol=problem != "not enrolled")
    if problem == "unsigned":
        response = Client().get("/sync/hello")
    elif problem == "wrong key":
        response = peer.call("GET", "/sync/hello", signer=keys.generate())
    elif problem == "stale":
        headers = transport.sign(peer.key, peer.name, "GET", "/sync/hello", b"")
        headers[transport.TIME] = str(int(headers[transport.TIME]) - 10 * 60 * 1000)
        response = Client().get("/sync/hello", headers=headers)
    else:
        response = peer.call("GET", "/sync/hello")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_revoked_node_is_refused_and_its_talking_raises_an_alarm(peer):
    bootstrap.revoke(node(), node="ward-7", actor="test", reason="lost")
    response = peer.call("GET", "/sync/hello")
    assert response.status_code == 403
    assert Alarm.objects.filter(kind="revoked_peer", origin="ward-7").exists()


def test_a_node_pushing_a_forged_event_is_quarantined(peer):
    chain = peer.chain()
    forged = chain.next()
    import dataclasses

    forged = dataclasses.replace(forged, sig=keys.sign(keys.generate(), bytes.fromhex(forged.hash)))
    answer = peer.call("POST", "/sync/push", b"".join(sync.to_ndjson([forged]))).json()
    assert answer["rejected"]
    assert Quarantine.objects.filter(origin="ward-7").exists()
    assert peer.call("GET", "/sync/hello").status_code == 403


def test_a_malformed_push_is_refused_whole(peer, snapshot):
    before = snapshot()
    response = peer.call("POST", "/sync/push", b'{"id": "nope"}\n')
    assert response.status_code == 400
    assert before.unchanged()


def test_a_node_asks_to_join_and_is_told_when_it_is_approved(hospital):
    joiner = Peer("lab-main", enrol=False)
    public = keys.public_text(joiner.key)
    body = json.dumps({"node": "lab-main", "public_key": public, "url": "http://lab:8000"})
    answer = joiner.call("POST", "/sync/join", body.encode()).json()
    assert answer == {"code": transport.join_code(public), "status": "pending"}
    status_body = json.dumps({"public_key": public}).encode()
    assert joiner.call("POST", "/sync/join/status", status_body).json()["status"] == "pending"

    from nirantar.ledger import enrolment

    enrolment.approve(node(), answer["code"], 42, actor="test")
    approved = joiner.call("POST", "/sync/join/status", status_body).json()
    assert approved["status"] == "approved"
    assert [e["type"] for e in approved["events"]][-1] == "ledger.node_enrolled"
    assert JoinRequest.objects.get(code=answer["code"]).decision == "approved"


def test_a_join_must_be_signed_by_the_key_it_presents(hospital):
    joiner = Peer("lab-main", enrol=False)
    body = json.dumps({"node": "lab-main", "public_key": keys.public_text(keys.generate())})
    assert joiner.call("POST", "/sync/join", body.encode()).status_code == 401
