"""The sync API under /sync/, authenticated by node signatures (see transport.py and sync.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from nirantar.ledger import models, sync, transport
from nirantar.ledger.events import AUTHORITY, ORIGIN_RE, MalformedEvent
from nirantar.ledger.ingest import raise_alarm
from nirantar.ledger.writer import node

MAX_PUSH_BYTES = 20 * 1024 * 1024

NodeView = Callable[..., HttpResponse | StreamingHttpResponse]


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def _headers(request: HttpRequest) -> dict[str, str]:
    return {
        name: request.headers.get(name, "")
        for name in (transport.NODE, transport.TO, transport.TIME, transport.SIGNATURE)
    }


def enrolled_key(name: str) -> str | None:
    row = models.Origin.objects.filter(name=name, kind=models.Origin.NODE).first()
    return row.public_key if row else None


def signed_by_node(view: NodeView) -> NodeView:
    """Only an enrolled, unrevoked, unquarantined node may call this view, in a request
    addressed to this node."""
    return _node_guard(view, addressed=True)


def signed_by_any_node(view: NodeView) -> NodeView:
    """As ``signed_by_node``, but the request need not name this node (``hello``, which
    is how the asking node learns the name)."""
    return _node_guard(view, addressed=False)


def _node_guard(view: NodeView, addressed: bool) -> NodeView:

    @csrf_exempt
    @wraps(view)
    def wrapper(
        request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse | StreamingHttpResponse:
        try:
            sender = transport.verify(
                _headers(request),
                request.method or "GET",
                request.get_full_path(),
                request.body,
                enrolled_key,
                to=node().name if addressed else None,
            )
        except transport.Unauthenticated as exc:
            return _error(401, "unauthenticated", str(exc))
        origin = models.Origin.objects.get(name=sender)
        if origin.revoked_after_seq is not None:
            if not models.Alarm.objects.filter(
                kind="revoked_peer", origin=sender, resolved_at=None
            ).exists():
                raise_alarm(
                    "revoked_peer", f"{sender} was revoked but is still asking to sync", sender
                )
            return _error(403, "revoked", f"{sender} has been revoked")
        if models.Quarantine.objects.filter(origin=sender).exists():
            return _error(403, "quarantined", f"{sender} is quarantined on this node")
        request.sync_node = sender  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    wrapper.nirantar_permission = "node"  # type: ignore[attr-defined]
    return wrapper


@require_GET
@signed_by_any_node
def hello(request: HttpRequest) -> JsonResponse:
    local = node()
    return JsonResponse(
        {
            "node": local.name,
            "number": local.number() if local.enrolled() else None,
            "hospital": sync.hospital_id(local.store),
            "vector": local.store.vector(),
            # The hash at each head lets a peer notice two versions of one event even when
            # both sides hold the same number of events from that origin.
            "heads": {o: list(h) for o, h in local.store.heads().items()},
            "time_ms": int(datetime.now(UTC).timestamp() * 1000),
        }
    )


@require_POST
@signed_by_node
def pull(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    try:
        body = json.loads(request.body)
        vector = {str(k): int(v) for k, v in dict(body.get("vector") or {}).items()}
        limit = max(1, min(int(body.get("limit", sync.PULL_BATCH)), 5 * sync.PULL_BATCH))
    except (ValueError, TypeError, AttributeError):
        return _error(400, "invalid", 'a pull is {"vector": {origin: seq}, "limit": n}')
    lines = b"".join(node().store.wire_after(vector, limit=limit))
    return HttpResponse(lines, content_type="application/x-ndjson")


@require_POST
@signed_by_node
def push(request: HttpRequest) -> JsonResponse:
    if len(request.body) > MAX_PUSH_BYTES:
        return _error(413, "too_large", "push at most 20 MB at a time")
    try:
        events = sync.from_ndjson(request.body)
    except MalformedEvent as exc:
        return _error(400, "malformed", str(exc))
    store = node().store
    report = sync.ingest_remote(store, events, source=request.sync_node)  # type: ignore[attr-defined]
    return JsonResponse(sync.report_json(report, store))


def _not_signed_by(request: HttpRequest, name: str, public_key: str) -> JsonResponse | None:
    """Refuse a join request not signed by the key it presents (None if it is)."""
    try:
        transport.verify(
            _headers(request),
            "POST",
            request.get_full_path(),
            request.body,
            lambda sender: public_key if sender == name else None,
        )
    except transport.Unauthenticated as exc:
        return _error(401, "unauthenticated", str(exc))
    return None


def signed_by_presented_key(view: NodeView) -> NodeView:
    """Marks a view any node may call, proving it holds the key it presents (joining)."""
    view.nirantar_permission = "node-key"  # type: ignore[attr-defined]
    return view


@signed_by_presented_key
@csrf_exempt
@require_POST
def join(request: HttpRequest) -> JsonResponse:
    """A node asks to be enrolled; it proves it holds the key it presents."""
    try:
        body = json.loads(request.body)
        name, public_key = str(body["node"]), str(body["public_key"])
        url = str(body.get("url", ""))[:300]
    except (ValueError, KeyError, TypeError):
        return _error(400, "invalid", 'a join is {"node", "public_key", "url"}')
    refused = _not_signed_by(request, name, public_key)
    if refused is not None:
        return refused
    if not ORIGIN_RE.match(name) or name == AUTHORITY:
        return _error(400, "invalid", "a node name is lower-case letters, digits and dashes")
    code = transport.join_code(public_key)
    enrolled = models.Origin.objects.filter(name=name).first()
    if enrolled is not None:
        if enrolled.public_key == public_key:
            return JsonResponse({"code": code, "status": "approved"})
        return _error(409, "name_taken", f"a node named {name} is already enrolled")
    request_row, _ = models.JoinRequest.objects.update_or_create(
        code=code,
        defaults={
            "node": name,
            "public_key": public_key,
            "url": url,
            "address": str(request.META.get("REMOTE_ADDR", ""))[:60],
            "requested_at": datetime.now(UTC),
        },
    )
    return JsonResponse({"code": code, "status": request_row.decision or "pending"})


@signed_by_presented_key
@csrf_exempt
@require_POST
def join_status(request: HttpRequest) -> JsonResponse:
    try:
        public_key = str(json.loads(request.body)["public_key"])
    except (ValueError, KeyError, TypeError):
        return _error(400, "invalid", 'ask with {"public_key"}')
    name = request.headers.get(transport.NODE, "")
    refused = _not_signed_by(request, name, public_key)
    if refused is not None:
        return refused
    store = node().store
    enrolled = models.Origin.objects.filter(name=name, public_key=public_key).exists()
    if enrolled:
        chain = store.origin_events(AUTHORITY)
        return JsonResponse({"status": "approved", "events": [e.to_wire() for e in chain]})
    row = models.JoinRequest.objects.filter(code=transport.join_code(public_key)).first()
    if row is None:
        return JsonResponse({"status": "unknown"})
    return JsonResponse({"status": row.decision or "pending", "code": row.code})
