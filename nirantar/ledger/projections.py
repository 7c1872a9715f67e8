"""The ledger's own projections: the roster of origins from the authority chain."""

from __future__ import annotations

from nirantar.ledger.events import AUTHORITY, Event
from nirantar.ledger.models import NumberSequence, Origin
from nirantar.ledger.projection import event_version, handles, register_models

GENESIS = "ledger.genesis"
NODE_ENROLLED = "ledger.node_enrolled"
NODE_REVOKED = "ledger.node_revoked"
AUTHORITY_TYPES = frozenset({GENESIS, NODE_ENROLLED, NODE_REVOKED})

for _type in AUTHORITY_TYPES:
    event_version(_type, 1)

register_models(Origin, NumberSequence)


@handles(GENESIS)
def on_genesis(event: Event) -> None:
    Origin.objects.get_or_create(
        name=AUTHORITY,
        defaults={
            "kind": Origin.AUTHORITY,
            "public_key": event.body["authority_key"],
            "number": None,
            "enrolment_hash": event.hash,
            "enrolled_at_ms": event.hlc.wall,
            "hospital": event.body.get("hospital", ""),
        },
    )


@handles(NODE_ENROLLED)
def on_node_enrolled(event: Event) -> None:
    # Ingest refuses a second enrolment of a name or a number, so this is a create.
    Origin.objects.get_or_create(
        name=event.body["node"],
        defaults={
            "kind": Origin.NODE,
            "public_key": event.body["public_key"],
            "number": event.body["number"],
            "enrolment_hash": event.hash,
            "enrolled_at_ms": event.hlc.wall,
        },
    )


@handles(NODE_REVOKED)
def on_node_revoked(event: Event) -> None:
    # Monotone: the earliest cut-off named by any revocation wins.
    after = event.body["after_seq"]
    origin = Origin.objects.filter(name=event.body["node"]).first()
    if origin and (origin.revoked_after_seq is None or after < origin.revoked_after_seq):
        origin.revoked_after_seq = after
        origin.save(update_fields=["revoked_after_seq"])
