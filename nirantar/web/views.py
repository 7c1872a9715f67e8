from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from nirantar import operations
from nirantar.accounts.permissions import (
    MANAGE_NODES,
    MANAGE_USERS,
    READ_AUDIT,
    READ_STATUS,
    SIGN_IN,
    allowed,
    public,
)
from nirantar.billing.permissions import READ_ACCOUNT as BILLING_COUNTER
from nirantar.lab.permissions import COLLECT
from nirantar.ledger import enrolment as enrolment_ops
from nirantar.ledger.models import Origin
from nirantar.ledger.writer import NotEnrolled, node
from nirantar.mis.permissions import READ as MIS_READ
from nirantar.opd.permissions import DISPLAY, QUEUE
from nirantar.registration.permissions import REGISTER
from nirantar.wards.permissions import BOARD
from nirantar.web.screens import screen


@screen(SIGN_IN.name)
def home(request: HttpRequest) -> HttpResponse:
    for permission, where in (
        (REGISTER, "counter"),
        (QUEUE, "desk"),
        (COLLECT, "lab-bench"),
        (READ_AUDIT, "audit"),
        (MANAGE_NODES, "status"),
        (DISPLAY, "displays"),
        (BOARD, "wards-board"),
        (BILLING_COUNTER, "billing-cashier"),
        (MIS_READ, "mis"),
    ):
        if allowed(request.user, permission.name):
            return redirect(where)
    return render(request, "web/home.html")


@public
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and the demo script; reveals nothing about patients."""
    return JsonResponse({"status": "ok"})


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/403.html", {"message": str(exception or "")}, status=403)


@screen(READ_STATUS.name)
def status(request: HttpRequest) -> HttpResponse:
    info = operations.status()
    if not allowed(request.user, MANAGE_USERS.name):
        info["after_disable"] = []
    return render(
        request,
        "web/status.html",
        {"info": info, "may_manage": allowed(request.user, MANAGE_NODES.name)},
    )


@require_http_methods(["GET", "POST"])
@screen(MANAGE_NODES.name)
def enrolment(request: HttpRequest) -> HttpResponse:
    """The hub's enrolment desk: approve or refuse join requests, revoke nodes."""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "approve":
                number = int(request.POST.get("number", "0"))
                event = enrolment_ops.approve(
                    node(), request.POST.get("code", ""), number, actor=request.user.username
                )
                messages.success(request, f"Enrolled {event.body['node']} as number {number}.")
            elif action == "refuse":
                enrolment_ops.refuse(request.POST.get("code", ""))
                messages.success(request, "Refused.")
            elif action == "revoke":
                name = request.POST.get("node", "")
                enrolment_ops.revoke(
                    node(), name, actor=request.user.username, reason=request.POST.get("reason", "")
                )
                messages.success(request, f"Revoked {name}.")
        except (ValueError, NotEnrolled) as exc:
            messages.error(request, str(exc))
        return redirect("enrolment")
    return render(
        request,
        "web/enrolment.html",
        {
            "pending": enrolment_ops.pending(),
            "nodes": Origin.objects.filter(kind=Origin.NODE).order_by("number"),
            "holds_authority": node().authority_key is not None,
        },
    )
