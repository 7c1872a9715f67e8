"""Tables of the ledger.

``Event`` and ``Head`` are the log itself; ``Held``, ``Alarm`` and
``Quarantine`` are this node's local ingest state. ``Origin`` and
``NumberSequence`` are projections (rebuilt from the log like any other).
"""

from __future__ import annotations

from django.db import models


class Event(models.Model):
    """One stored event. Rows are inserted by ingest and never updated or deleted."""

    id = models.CharField(max_length=36, primary_key=True)
    origin = models.CharField(max_length=40)
    seq = models.BigIntegerField()
    hlc_wall = models.BigIntegerField()
    hlc_count = models.IntegerField()
    actor = models.CharField(max_length=150)
    type = models.CharField(max_length=100)
    stream = models.CharField(max_length=200)
    # The canonical JSON text of the body, byte for byte what was hashed, so that
    # `verify` re-hashes exactly what is stored (a JSON column could re-encode it).
    body = models.TextField()
    prev = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sig = models.CharField(max_length=100)
    received_at = models.DateTimeField()

    class Meta:
        db_table = "ledger_event"
        constraints = [
            models.UniqueConstraint(fields=["origin", "seq"], name="ledger_event_origin_seq")
        ]
        indexes = [
            models.Index(fields=["stream"], name="ledger_event_stream"),
            models.Index(fields=["hlc_wall", "hlc_count"], name="ledger_event_hlc"),
            models.Index(fields=["type"], name="ledger_event_type"),
        ]

    def __str__(self) -> str:
        return f"{self.origin}#{self.seq} {self.type}"


class Head(models.Model):
    """For each origin, the highest seq held with no gap, and that event's hash."""

    origin = models.CharField(max_length=40, primary_key=True)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "ledger_head"

    def __str__(self) -> str:
        return f"{self.origin}@{self.seq}"


class Held(models.Model):
    """An event that can't be applied yet: its predecessor or its origin's enrolment is missing."""

    id = models.CharField(max_length=36, primary_key=True)
    origin = models.CharField(max_length=40)
    seq = models.BigIntegerField()
    wire = models.TextField()
    reason = models.CharField(max_length=200)
    received_at = models.DateTimeField()

    class Meta:
        db_table = "ledger_held"
        indexes = [models.Index(fields=["origin", "seq"], name="ledger_held_origin_seq")]

    def __str__(self) -> str:
        return f"held {self.origin}#{self.seq}"


class Alarm(models.Model):
    """Something an administrator must look at: equivocation, forgery, a revoked node talking."""

    kind = models.CharField(max_length=40)
    origin = models.CharField(max_length=40, blank=True)
    event_id = models.CharField(max_length=36, blank=True)
    detail = models.TextField()
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True)
    resolved_by = models.CharField(max_length=150, blank=True)

    class Meta:
        db_table = "ledger_alarm"

    def __str__(self) -> str:
        return f"{self.kind} {self.origin}"


class Quarantine(models.Model):
    """An origin this node refuses events from until an administrator acts."""

    origin = models.CharField(max_length=40, primary_key=True)
    reason = models.TextField()
    since = models.DateTimeField()

    class Meta:
        db_table = "ledger_quarantine"

    def __str__(self) -> str:
        return f"quarantined {self.origin}"


class Origin(models.Model):
    """Projection of the authority chain: who may write events, with which key and number."""

    AUTHORITY = "authority"
    NODE = "node"

    name = models.CharField(max_length=40, primary_key=True)
    kind = models.CharField(max_length=20)
    public_key = models.CharField(max_length=60)
    number = models.IntegerField(null=True, unique=True)
    enrolment_hash = models.CharField(max_length=64)
    enrolled_at_ms = models.BigIntegerField()
    revoked_after_seq = models.BigIntegerField(null=True)
    hospital = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "ledger_origin"

    def __str__(self) -> str:
        return self.name


class NumberSequence(models.Model):
    """Projection: the highest number of each kind seen in each scope (see numbering.py)."""

    kind = models.CharField(max_length=30)
    scope = models.CharField(max_length=80)
    last = models.BigIntegerField()

    class Meta:
        db_table = "ledger_number_sequence"
        constraints = [
            models.UniqueConstraint(fields=["kind", "scope"], name="ledger_number_kind_scope")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.scope}={self.last}"
