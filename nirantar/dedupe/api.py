"""Duplicate detection's part of the JSON API: the records team's worklist."""
# No `from __future__ import annotations` here: django-ninja reads these type hints at
# import time, through the permission decorator, so they must be real objects.

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from nirantar import timeutil
from nirantar.accounts.auth import needs
from nirantar.dedupe import actions, queries
from nirantar.dedupe.permissions import REVIEW
from nirantar.schemas import ERRORS

router = Router(tags=["duplicates"])

MAX_PAGE = 200


class EvidenceOut(Schema):
    field: str = Field(
        ..., description="name | guardian | relative | sex | birth | mobile | district"
    )
    agreement: str = Field(
        ..., description="how it agreed: same, close, similar, differs, missing ..."
    )
    detail: str
    weight: float = Field(..., description="log-odds this field added to the score")


class ReviewOut(Schema):
    dismissed: bool
    reason: str
    actor: str
    at: str
    node: str


class PairOut(Schema):
    uhid_a: str = Field(..., description="the lower UHID of the pair")
    uhid_b: str
    score: float = Field(..., description="0..1; pairs at 0.6 or above are listed")
    status: Literal["open", "dismissed", "merged"]
    found_at: str = Field(..., description="when the later of the two records took the form scored")
    evidence: list[EvidenceOut]
    review: ReviewOut | None = Field(
        None, description="the latest verdict on the pair (dismissed or reopened), if any"
    )


class VerdictIn(Schema):
    model_config = ConfigDict(extra="forbid")
    uhid_a: str = Field(..., max_length=20, examples=["101-0000001-3"])
    uhid_b: str = Field(..., max_length=20, examples=["102-0000004-7"])
    reason: str = Field(..., max_length=200, examples=["twins: different birth order"])


class PairPage(Schema):
    count: int = Field(..., description="pairs with this status in all")
    offset: int
    limit: int
    results: list[PairOut]


def pair_out(view: queries.PairView) -> dict[str, Any]:
    pair = view.pair
    return {
        "uhid_a": pair.uhid_a,
        "uhid_b": pair.uhid_b,
        "score": pair.score,
        "status": view.status,
        "found_at": timeutil.from_ms(pair.found_at_ms).isoformat(),
        "evidence": pair.evidence,
        "review": (
            {
                "dismissed": view.review.dismissed,
                "reason": view.review.reason,
                "actor": view.review.actor,
                "at": timeutil.from_ms(view.review.at_ms).isoformat(),
                "node": view.review.node,
            }
            if view.review is not None
            else None
        ),
    }


@router.get(
    "/duplicates",
    response={200: PairPage, **ERRORS},
    summary="Likely duplicate patients, best score first, with the evidence (records team)",
    auth=needs(REVIEW),
)
def list_duplicates(
    request: HttpRequest,
    status: Literal["open", "dismissed", "merged"] = Query(
        "open", description="merged: both UHIDs show under one record now"
    ),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    views, total = queries.pairs_page(
        request.user, status=status, offset=offset, limit=limit, via="api", request=request
    )
    return {
        "count": total,
        "offset": offset,
        "limit": limit,
        "results": [pair_out(v) for v in views],
    }


@router.post(
    "/duplicates/dismiss",
    response={200: PairOut, **ERRORS},
    summary="Not the same person: take a listed pair off the open worklist (records team)",
    auth=needs(REVIEW),
)
def dismiss_pair(request: HttpRequest, payload: VerdictIn) -> dict[str, Any]:
    review = actions.do_dismiss_pair(
        request.user.username, payload.uhid_a, payload.uhid_b, payload.reason
    )
    return pair_out(
        queries.pair_view(request.user, review.uhid_a, review.uhid_b, via="api", request=request)
    )


@router.post(
    "/duplicates/reopen",
    response={200: PairOut, **ERRORS},
    summary="Undo a dismissal: the pair is open again (records team)",
    auth=needs(REVIEW),
)
def reopen_pair(request: HttpRequest, payload: VerdictIn) -> dict[str, Any]:
    review = actions.do_reopen_pair(
        request.user.username, payload.uhid_a, payload.uhid_b, payload.reason
    )
    return pair_out(
        queries.pair_view(request.user, review.uhid_a, review.uhid_b, via="api", request=request)
    )
