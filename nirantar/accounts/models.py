"""Read models for people: all written by projections, never by views."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import check_password
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username=username)


class User(AbstractBaseUser):
    """A member of staff. Users replicate through the ledger, so they can sign in at any node."""

    CLERK = "clerk"
    DOCTOR = "doctor"
    NURSE = "nurse"
    LAB = "lab"
    PATHOLOGIST = "pathologist"
    RECORDS = "records"
    BILLING = "billing"
    ACCOUNTS = "accounts"
    ADMIN = "admin"
    AUDITOR = "auditor"
    DISPLAY = "display"
    MANAGEMENT = "management"
    ROLES = [
        (CLERK, _("Registration clerk")),
        (DOCTOR, _("Doctor")),
        (NURSE, _("Nurse")),
        (LAB, _("Lab technician")),
        (PATHOLOGIST, _("Pathologist")),
        (RECORDS, _("Medical records")),
        (BILLING, _("Billing")),
        (ACCOUNTS, _("Billing supervisor")),
        (ADMIN, _("Administrator")),
        (AUDITOR, _("Auditor")),
        # A waiting hall's token screen: may show token numbers and nothing else.
        (DISPLAY, _("Token display")),
        # Hospital management: the MIS dashboards (aggregates, no patient is named).
        (MANAGEMENT, _("Management (MIS)")),
    ]

    # The username is the key, so sessions survive a `rebuild` of the projections.
    username = models.CharField(max_length=150, primary_key=True)
    full_name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=ROLES)
    is_active = models.BooleanField(default=True)
    # Base32 TOTP secret when the user signs in with a second factor (blank: none).
    totp_secret = models.CharField(max_length=64, blank=True)
    # A doctor's medical council registration number, printed on prescriptions.
    registration_no = models.CharField(max_length=40, blank=True)
    created_at_ms = models.BigIntegerField()
    created_by = models.CharField(max_length=150)
    field_stamps = models.JSONField(default=dict)
    # Sign-ins are not recorded on the user row: projections are its only writer.
    last_login = None

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["full_name", "role"]

    class Meta:
        db_table = "accounts_user"

    def __str__(self) -> str:
        return self.username

    def check_password(self, raw_password: str) -> bool:
        # Django's version re-hashes and saves on upgrade; here only events change users.
        return check_password(raw_password, self.password)


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its SHA-256 is kept."""

    token_id = models.CharField(max_length=16, primary_key=True)
    username = models.CharField(max_length=150)
    token_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=100, blank=True)
    issued_at_ms = models.BigIntegerField()
    expires_at_ms = models.BigIntegerField(null=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        db_table = "accounts_api_token"

    def __str__(self) -> str:
        return f"token {self.token_id} of {self.username}"


class AuditEntry(models.Model):
    """One read of one patient's record, from the signed log (append-only)."""

    event = models.CharField(max_length=64)  # the event's hash
    patient = models.CharField(max_length=20)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=60)
    via = models.CharField(max_length=20)
    node = models.CharField(max_length=40)
    address = models.CharField(max_length=60, blank=True)
    reason = models.TextField(blank=True)
    at_ms = models.BigIntegerField()
    # Opened by someone without the usual right, giving a reason: flagged for review.
    break_glass = models.BooleanField(default=False)

    class Meta:
        db_table = "accounts_audit_entry"
        constraints = [
            models.UniqueConstraint(fields=["event", "patient"], name="audit_event_patient")
        ]
        indexes = [models.Index(fields=["patient", "at_ms"], name="audit_patient_at")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.patient}"


class DeniedAttempt(models.Model):
    """Someone signed in tried something their role may not do (append-only)."""

    event = models.CharField(max_length=64, primary_key=True)  # the event's hash
    actor = models.CharField(max_length=150)
    permission = models.CharField(max_length=60)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    node = models.CharField(max_length=40)
    address = models.CharField(max_length=60, blank=True)
    at_ms = models.BigIntegerField()

    class Meta:
        db_table = "accounts_denied_attempt"
        indexes = [models.Index(fields=["at_ms"], name="denied_at")]

    def __str__(self) -> str:
        return f"{self.actor} denied {self.permission}"


class LoginAttempt(models.Model):
    """Sign-in attempts at this node, for throttling and lockout (local, not replicated)."""

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=60)
    at = models.DateTimeField()
    succeeded = models.BooleanField()
    # The TOTP time step a successful sign-in used: each code works once.
    totp_step = models.BigIntegerField(null=True)

    class Meta:
        db_table = "accounts_login_attempt"
        indexes = [
            models.Index(fields=["username", "at"], name="login_user_at"),
            models.Index(fields=["address", "at"], name="login_address_at"),
        ]
        constraints = [
            # Two sign-ins racing with the same code: the database lets only one through.
            models.UniqueConstraint(
                fields=["username", "totp_step"],
                condition=models.Q(totp_step__isnull=False),
                name="login_code_used_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.username} {'ok' if self.succeeded else 'failed'}"


class AccessReview(models.Model):
    """An auditor's review of an emergency access (append-only; kept apart from the entry
    so that a review and the access it reviews may arrive in either order)."""

    event = models.CharField(max_length=64, primary_key=True)  # the review event's hash
    access = models.CharField(max_length=64)  # the reviewed access event's hash
    patient = models.CharField(max_length=20)
    reviewer = models.CharField(max_length=150)
    note = models.TextField()
    at_ms = models.BigIntegerField()

    class Meta:
        db_table = "accounts_access_review"
        indexes = [models.Index(fields=["access"], name="review_access")]

    def __str__(self) -> str:
        return f"review of {self.access[:12]} by {self.reviewer}"
