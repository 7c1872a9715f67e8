"""Admitting nodes to a hospital: join requests, approval, refusal, revocation (on the hub)."""

from __future__ import annotations

from datetime import UTC, datetime

from nirantar.ledger import bootstrap, models
from nirantar.ledger.events import Event
from nirantar.ledger.writer import LocalNode, writing


class EnrolmentError(ValueError):
    """The request can't be carried out; the message says why."""


def pending() -> list[models.JoinRequest]:
    return list(models.JoinRequest.objects.filter(decision="").order_by("requested_at"))


def _request(code: str) -> models.JoinRequest:
    row = models.JoinRequest.objects.filter(code=code.strip().upper()).first()
    if row is None:
        raise EnrolmentError(f"no join request with code {code}")
    if row.decision:
        raise EnrolmentError(f"the request {row.code} from {row.node} was already {row.decision}")
    return row


def approve(local: LocalNode, code: str, number: int, actor: str) -> Event:
    """Enrol the node that asked with ``code`` under ``number``: a signed authority event."""
    with writing(local):  # the enrolment and the request's decision commit together
        row = _request(code)
        try:
            event = bootstrap.enrol(
                local, node=row.node, number=number, public_key=row.public_key, actor=actor
            )
        except ValueError as exc:
            raise EnrolmentError(str(exc)) from exc
        row.decision, row.decided_at = "approved", datetime.now(UTC)
        row.save(update_fields=["decision", "decided_at"])
        if row.url and not models.Peer.objects.filter(url=row.url).exists():
            models.Peer.objects.create(url=row.url, name=row.node, added_at=datetime.now(UTC))
    return event


def refuse(code: str) -> None:
    row = _request(code)
    row.decision, row.decided_at = "refused", datetime.now(UTC)
    row.save(update_fields=["decision", "decided_at"])


def revoke(local: LocalNode, name: str, actor: str, reason: str = "") -> Event:
    try:
        return bootstrap.revoke(local, node=name, actor=actor, reason=reason or "revoked")
    except ValueError as exc:
        raise EnrolmentError(str(exc)) from exc
