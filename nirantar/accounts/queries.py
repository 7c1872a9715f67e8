"""Reads of accounts data for screens and APIs."""

from __future__ import annotations

from django.db.models import QuerySet

from nirantar.accounts.models import AuditEntry, User


def active_user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def audit_for_patient(patient: str, limit: int = 500) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(patient=patient).order_by("-at_ms")[:limit]
