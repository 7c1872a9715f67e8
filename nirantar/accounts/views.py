"""Screens for administrators (users) and auditors (who saw what)."""

from __future__ import annotations

import time
from datetime import datetime
from datetime import time as clock_time
from typing import Any

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods

from nirantar import timeutil
from nirantar.accounts import actions, queries, signin
from nirantar.accounts.auth import client_address
from nirantar.accounts.models import User
from nirantar.accounts.permissions import MANAGE_USERS, READ_AUDIT, public
from nirantar.accounts.signin import SIGNED_IN_AT
from nirantar.errors import ActionError
from nirantar.ledger.numbering import InvalidNumber
from nirantar.printing.renderer import A4, RendererUnavailable, render_pdf
from nirantar.registration import queries as registration_queries
from nirantar.registration.events import UHID
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters
from nirantar.web.screens import screen


def _day(value: str, end: bool = False) -> datetime | None:
    try:
        day = datetime.fromisoformat(value).date()
    except ValueError:
        return None
    moment = datetime.combine(
        day, clock_time.max if end else clock_time.min, tzinfo=timeutil.hospital_zone()
    )
    return moment


def _filters(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any], str]:
    raw = {k: request.GET.get(k, "").strip() for k in ("patient", "actor", "since", "until")}
    raw["emergency"] = request.GET.get("emergency", "")
    error = ""
    patient = ""
    if raw["patient"]:
        try:
            patient = UHID.normalise(raw["patient"])
        except InvalidNumber as exc:
            error = str(exc)
    if has_control_characters(raw["actor"]):
        error = "the user name " + CONTROL_MESSAGE
    query = {
        "patient": patient,
        "actor": raw["actor"],
        "since": _day(raw["since"]) if raw["since"] else None,
        "until": _day(raw["until"], end=True) if raw["until"] else None,
        "break_glass_only": bool(raw["emergency"]),
    }
    return raw, query, error


@require_GET
@screen(READ_AUDIT.name)
def audit(request: HttpRequest) -> HttpResponse:
    raw, query, error = _filters(request)
    entries = [] if error else queries.audit_entries(**query)
    return render(
        request,
        "accounts/audit.html",
        {
            "filters": raw,
            "error": error,
            "entries": entries,
            "reviews": queries.reviews_of(entries),
            "pending": queries.unreviewed_emergencies(),
            "denied": queries.denied_attempts(50),
        },
    )


@require_http_methods(["POST"])
@screen(READ_AUDIT.name)
def review(request: HttpRequest) -> HttpResponse:
    try:
        actions.do_review_access(
            request.user.username, request.POST.get("event", ""), request.POST.get("note", "")
        )
        messages.success(request, "Review recorded.")
    except ActionError as exc:
        messages.error(request, exc.message)
    return redirect("audit")


@require_GET
@screen(READ_AUDIT.name)
def seen_report(request: HttpRequest, uhid: str) -> HttpResponse:
    """ "Who has seen my record": the report a patient's DPDP request is answered with."""
    try:
        patient = UHID.normalise(uhid)
    except InvalidNumber as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    viewers = queries.seen_by(patient)
    if not viewers and registration_queries.get_patient(patient) is None:
        # Not registered here and never read anywhere this node has heard of.
        return HttpResponse(
            f"no patient with UHID {patient}", status=404, content_type="text/plain"
        )
    # Preparing the report is itself recorded against the patient.
    actions.do_record_access(
        request.user, patient, "audit.report", via="pdf", address=client_address(request)
    )
    html = render_to_string(
        "accounts/seen_report.html",
        {
            "uhid": patient,
            "viewers": viewers,
            "prepared_by": request.user,
            # Formatted here: the template's date filter would turn it back into UTC.
            "prepared_at": timeutil.local(timeutil.now()).strftime("%d-%m-%Y %H:%M"),
        },
    )
    try:
        pdf = render_pdf(html, A4)
    except RendererUnavailable as exc:
        return HttpResponse(
            f"The report can't be printed right now: {exc}", status=503, content_type="text/plain"
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="seen-by-{patient}.pdf"'
    return response


@require_http_methods(["GET", "POST"])
@screen(MANAGE_USERS.name)
def users(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        action = request.POST.get("action", "")
        username = request.POST.get("username", "")
        actor = request.user.username
        try:
            if action == "add":
                actions.do_add_user(
                    actor,
                    username,
                    request.POST.get("role", ""),
                    request.POST.get("password", ""),
                    request.POST.get("full_name", ""),
                )
                messages.success(request, _("Added %(user)s.") % {"user": username})
            elif action in ("disable", "enable"):
                if username == actor and action == "disable":
                    raise ActionError("you can't disable yourself", {"username": "yourself"})
                actions.do_change_user(actor, username, active=action == "enable")
                done = _("%(user)s disabled.") if action == "disable" else _("%(user)s enabled.")
                messages.success(request, done % {"user": username})
            elif action == "role":
                role = request.POST.get("role", "")
                if username == actor:
                    # Another administrator must do it: no one demotes the last admin by a slip.
                    raise ActionError("you can't change your own role", {"username": "yourself"})
                actions.do_change_user(actor, username, role=role)
                messages.success(
                    request, _("%(user)s is now %(role)s.") % {"user": username, "role": role}
                )
            elif action == "password":
                changed = actions.do_change_user(
                    actor, username, password=request.POST.get("password", "")
                )
                if username == actor:
                    update_session_auth_hash(request, changed)  # stay signed in here
                messages.success(request, _("Password of %(user)s changed.") % {"user": username})
            elif action == "unlock":
                signin.unlock(username)
                messages.success(request, _("%(user)s unlocked at this node.") % {"user": username})
        except ActionError as exc:
            details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
            messages.error(request, f"{exc.message}{': ' + details if details else ''}")
        return redirect("users")
    people = list(queries.users())
    locked = signin.locked_usernames()
    return render(
        request, "accounts/users.html", {"users": people, "roles": User.ROLES, "locked": locked}
    )


# -- signing in ----------------------------------------------------------------
PENDING_SECONDS = 300  # how long the code step waits after the password step


def locked_message(minutes: int) -> str:
    return ngettext(
        "Too many failed sign-ins. Try again in %(minutes)s minute, "
        "or ask an administrator to unlock the account.",
        "Too many failed sign-ins. Try again in %(minutes)s minutes, "
        "or ask an administrator to unlock the account.",
        minutes,
    ) % {"minutes": minutes}


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": gettext_lazy("Wrong user name or password, or the account is disabled."),
    }

    def clean_username(self) -> str:
        return str(self.cleaned_data.get("username", "")).strip().lower()

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username", "")
        attempt = signin.begin(username, client_address(self.request))
        if isinstance(attempt, signin.Lock):
            # Refused before the password is checked: guessing on gets nowhere.
            raise ValidationError(locked_message(attempt.minutes), code="locked")
        cleaned = super().clean()  # a wrong password leaves the attempt counted as failed
        self.attempt = attempt
        return cleaned


def _signed_in(request: HttpRequest, user: User) -> None:
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SIGNED_IN_AT] = time.time()


@method_decorator(public, name="dispatch")
class SignIn(auth_views.LoginView):
    """User name and password; then, for users with a second factor, the code."""

    form_class = SignInForm
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if user.totp_secret:
            signin.forget(form.attempt)
            # A new session key for the half-signed-in session, as auth_login gives the
            # signed-in one: a session cookie planted earlier is worth nothing here.
            self.request.session.cycle_key()
            self.request.session.update(
                {
                    "pending_user": user.username,
                    "pending_at": time.time(),
                    "pending_next": self.get_success_url(),
                }
            )
            return redirect("login-code")
        signin.succeed(form.attempt)
        _signed_in(self.request, user)
        return HttpResponseRedirect(self.get_success_url())


login = SignIn.as_view()
login.nirantar_permission = None  # type: ignore[attr-defined]


@public
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step for users with TOTP: a six-digit code, good once."""
    session = request.session
    username = session.get("pending_user", "")
    fresh = time.time() - float(session.get("pending_at", 0)) < PENDING_SECONDS
    user = User.objects.filter(username=username, is_active=True).first() if fresh else None
    if user is None or not user.totp_secret:
        for key in ("pending_user", "pending_at", "pending_next"):
            session.pop(key, None)
        if username:
            messages.error(request, _("The code was not given in time. Please sign in again."))
        return redirect("login")
    error = ""
    if request.method == "POST":
        attempt = signin.begin(username, client_address(request))
        if isinstance(attempt, signin.Lock):
            error = locked_message(attempt.minutes)
        else:
            step = signin.check_code(user, request.POST.get("code", ""))
            # A wrong or replayed code leaves the attempt counted as failed.
            if step is None or not signin.succeed(attempt, step):
                error = _("That code is not right, or it has been used already.")
            else:
                next_url = session.pop("pending_next", "") or "/"
                for key in ("pending_user", "pending_at"):
                    session.pop(key, None)
                _signed_in(request, user)
                if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                    next_url = "/"
                return HttpResponseRedirect(next_url)
    return render(request, "web/login_code.html", {"error": error}, status=400 if error else 200)


logout = public(auth_views.LogoutView.as_view())
