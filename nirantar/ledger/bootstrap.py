"""The first events of a hospital: its genesis, and the enrolment of its first node."""

from __future__ import annotations

from nirantar.ledger import keys
from nirantar.ledger.events import AUTHORITY, Event
from nirantar.ledger.models import Origin
from nirantar.ledger.roster import GENESIS, NODE_ENROLLED, NODE_REVOKED
from nirantar.ledger.writer import LocalNode, NotEnrolled, writing

MAX_NODE_NUMBER = 999


def found_hospital(local: LocalNode, *, hospital: str, number: int, actor: str) -> Event:
    """Write the genesis (naming the authority key) and enrol this node under ``number``."""
    if local.authority_key is None:
        raise NotEnrolled("founding a hospital needs its authority key on this node")
    with writing(local) as w:
        if local.store.head(AUTHORITY)[0]:
            raise ValueError("this node already belongs to a hospital")
        genesis = w.emit(
            GENESIS,
            "hospital",
            {"hospital": hospital, "authority_key": keys.public_text(local.authority_key)},
            actor=actor,
            origin=AUTHORITY,
        )
        enrol(local, node=local.name, number=number, public_key=local.public_key, actor=actor)
    return genesis


def enrol(local: LocalNode, *, node: str, number: int, public_key: str, actor: str) -> Event:
    if not 1 <= number <= MAX_NODE_NUMBER:
        raise ValueError(f"a node number is 1-{MAX_NODE_NUMBER}")
    with writing(local) as w:
        origins = Origin.objects.using(local.store.db)
        if origins.filter(number=number).exists():
            raise ValueError(f"node number {number} is already taken (numbers are never reused)")
        if origins.filter(name=node).exists():
            raise ValueError(f"a node named {node!r} is already enrolled")
        return w.emit(
            NODE_ENROLLED,
            f"node:{node}",
            {"node": node, "number": number, "public_key": public_key},
            actor=actor,
            origin=AUTHORITY,
        )


def revoke(local: LocalNode, *, node: str, actor: str, reason: str) -> Event:
    with writing(local) as w:
        if not Origin.objects.using(local.store.db).filter(name=node, kind=Origin.NODE).exists():
            raise ValueError(f"no enrolled node named {node!r}")
        after_seq, _ = local.store.head(node)
        return w.emit(
            NODE_REVOKED,
            f"node:{node}",
            {"node": node, "after_seq": after_seq, "reason": reason},
            actor=actor,
            origin=AUTHORITY,
        )
