"""The only write path of duplicate detection: a person's verdict on a listed pair."""

from __future__ import annotations

from typing import Any

from nirantar.dedupe import events
from nirantar.dedupe.models import DuplicatePair, PairReview
from nirantar.errors import Conflict, NotFound, ValidationFailed
from nirantar.ledger.writer import writing
from nirantar.registration import rules
from nirantar.registration.actions import parse_uhid
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters


def _pair(uhid_a: Any, uhid_b: Any) -> tuple[str, str]:
    one, other = parse_uhid(uhid_a, "uhid_a"), parse_uhid(uhid_b, "uhid_b")
    if one == other:
        raise ValidationFailed("a pair is two patients", {"uhid_b": "the same UHID twice"})
    a, b = sorted((one, other))
    return a, b


def _reason(reason: Any) -> str:
    text = rules.normalise_text(reason if isinstance(reason, str) else "")
    if has_control_characters(text):
        raise ValidationFailed("the reason " + CONTROL_MESSAGE, {"reason": CONTROL_MESSAGE})
    if not text:
        raise ValidationFailed("say why", {"reason": "a reason is required"})
    return text[:200]


def do_dismiss_pair(actor: str, uhid_a: Any, uhid_b: Any, reason: Any) -> PairReview:
    """Not the same person: the pair leaves the open worklist, on every node."""
    a, b = _pair(uhid_a, uhid_b)
    text = _reason(reason)
    with writing() as w:
        if not DuplicatePair.objects.filter(pair=f"{a}|{b}").exists():
            raise NotFound("no such pair on the worklist", {"uhid_b": "not a listed pair"})
        if PairReview.objects.filter(pair=f"{a}|{b}", dismissed=True).exists():
            raise Conflict("the pair is dismissed already", {"uhid_b": "dismissed already"})
        w.emit(
            events.PAIR_DISMISSED,
            events.pair_stream(a, b),
            {"uhid_a": a, "uhid_b": b, "reason": text},
            actor=actor,
        )
    return PairReview.objects.get(pair=f"{a}|{b}")


def do_reopen_pair(actor: str, uhid_a: Any, uhid_b: Any, reason: Any) -> PairReview:
    """Undo a dismissal: the pair is back on the open worklist (if it still scores)."""
    a, b = _pair(uhid_a, uhid_b)
    text = _reason(reason)
    with writing() as w:
        if not PairReview.objects.filter(pair=f"{a}|{b}", dismissed=True).exists():
            raise Conflict("the pair is not dismissed", {"uhid_b": "not dismissed"})
        w.emit(
            events.PAIR_REOPENED,
            events.pair_stream(a, b),
            {"uhid_a": a, "uhid_b": b, "reason": text},
            actor=actor,
        )
    return PairReview.objects.get(pair=f"{a}|{b}")
