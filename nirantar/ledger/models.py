"""Tables of the ledger.

``Event`` and ``Head`` are the log itself; ``Held``, ``Alarm`` and
``Quarantine`` are this node's local ingest state. ``Origin`` and
``NumberSequence`` are projections (rebuilt from the log like any other).
"""

from __future__ import annotations

from django.db import models


class Event(models.Model):
    """One stored event. Rows are inserted by ingest and never updated or deleted.

    An event is identified by (origin, seq) and by its hash. Its UUID is kept as
    written but not trusted to be unique: a dishonest node could reuse another's,
    and must not thereby lock the honest event out.
    """

    row = models.BigAutoField(primary_key=True)
    id = models.CharField(max_length=36)
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
        # Every index here is paid for on each of millions of inserts: keep only those
        # a query uses. (origin, seq) is the identity and the sync order; the HLC orders
        # rebuilds and the clock; the stream gives one record's history; the actor,
        # everything one person did (an investigation, and the work a disabled user
        # did while the news was travelling). (A hash is unique by construction: it
        # covers origin and seq.)
        constraints = [
            models.UniqueConstraint(fields=["origin", "seq"], name="ledger_event_origin_seq"),
        ]
        indexes = [
            models.Index(fields=["stream"], name="ledger_event_stream"),
            models.Index(fields=["hlc_wall", "hlc_count"], name="ledger_event_hlc"),
            models.Index(fields=["actor", "hlc_wall", "hlc_count"], name="ledger_event_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.origin}#{self.seq} {self.type}"


class Head(models.Model):
    """For each origin, the highest seq held with no gap, and that event's hash."""

    origin = models.CharField(max_length=40, primary_key=True)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    # The head event's HLC: an origin's clock only moves forward along its chain.
    hlc_wall = models.BigIntegerField(default=0)
    hlc_count = models.IntegerField(default=0)

    class Meta:
        db_table = "ledger_head"

    def __str__(self) -> str:
        return f"{self.origin}@{self.seq}"


class Held(models.Model):
    """An event that can't be applied yet: its predecessor or its origin's enrolment is missing."""

    hash = models.CharField(max_length=64, primary_key=True)
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
    event_id = models.CharField(max_length=80, blank=True)  # "origin#seq" of the event
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


class Peer(models.Model):
    """A node this node syncs with (local settings and health, not replicated)."""

    url = models.CharField(max_length=300, unique=True)
    name = models.CharField(max_length=40, blank=True)  # learnt on first contact
    added_at = models.DateTimeField()
    last_contact = models.DateTimeField(null=True)
    last_attempt = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)
    failures = models.IntegerField(default=0)
    next_attempt = models.DateTimeField(null=True)
    their_vector = models.JSONField(default=dict)
    clock_offset_ms = models.BigIntegerField(null=True)

    class Meta:
        db_table = "ledger_peer"

    def __str__(self) -> str:
        return self.name or self.url


class JoinRequest(models.Model):
    """On the hub: a node that asked to join and waits for an administrator."""

    code = models.CharField(max_length=20, primary_key=True)
    node = models.CharField(max_length=40)
    public_key = models.CharField(max_length=60)
    url = models.CharField(max_length=300, blank=True)  # where the node can be reached
    address = models.CharField(max_length=60, blank=True)
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True)
    decision = models.CharField(max_length=20, blank=True)  # approved | refused

    class Meta:
        db_table = "ledger_join_request"

    def __str__(self) -> str:
        return f"{self.node} ({self.code})"
