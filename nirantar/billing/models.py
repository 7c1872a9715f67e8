"""Read models of billing. Only projections.py writes them. Money is integer paise."""

from __future__ import annotations

from django.db import models


class Payment(models.Model):
    """Money taken at a counter, under a receipt number its node minted: a create."""

    receipt = models.CharField(max_length=24, primary_key=True)
    uhid = models.CharField(max_length=20)
    amount = models.BigIntegerField()  # paise
    mode = models.CharField(max_length=4)  # cash | upi | card
    reference = models.CharField(max_length=40, blank=True)  # UPI UTR, card approval code
    counter = models.CharField(max_length=2)
    day = models.DateField()  # the counter's business day
    charges = models.JSONField(default=list)  # the charge ids it settles
    at_ms = models.BigIntegerField()
    clerk = models.CharField(max_length=150)
    node = models.CharField(max_length=40)

    class Meta:
        db_table = "billing_payment"
        indexes = [
            models.Index(fields=["uhid", "at_ms"], name="billing_payment_uhid"),
            models.Index(fields=["day", "counter"], name="billing_payment_day"),
        ]

    def __str__(self) -> str:
        return f"{self.receipt} {self.amount}"


class Refund(models.Model):
    """A refund of (part of) a payment: requested by a cashier, decided by a supervisor.

    The request and the decisions may arrive in either order (``is_requested`` is False
    while only a decision is here). Every decision is kept in ``decisions``; the one
    that stands is the earliest by (hlc, origin), copied to the columns below it.
    """

    refund = models.CharField(max_length=24, primary_key=True)
    receipt = models.CharField(max_length=24)
    uhid = models.CharField(max_length=20)
    is_requested = models.BooleanField(default=False)
    amount = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=200, blank=True)
    counter = models.CharField(max_length=2, blank=True)
    requested_by = models.CharField(max_length=150, blank=True)
    requested_ms = models.BigIntegerField(null=True)
    node = models.CharField(max_length=40, blank=True)
    # The decision that stands: requested while none, else approved | rejected.
    status = models.CharField(max_length=10, default="requested")
    decided_by = models.CharField(max_length=150, blank=True)
    decided_ms = models.BigIntegerField(null=True)
    decision_note = models.CharField(max_length=200, blank=True)
    # What an approval pays out, as the approval says: mode, counter and business day.
    paid_amount = models.BigIntegerField(default=0)
    paid_mode = models.CharField(max_length=4, blank=True)
    paid_counter = models.CharField(max_length=2, blank=True)
    paid_day = models.DateField(null=True)
    decisions = models.JSONField(default=list)  # every decision, in stamp order

    class Meta:
        db_table = "billing_refund"
        indexes = [
            models.Index(fields=["receipt"], name="billing_refund_receipt"),
            models.Index(fields=["status", "paid_day"], name="billing_refund_status"),
            models.Index(fields=["uhid"], name="billing_refund_uhid"),
        ]

    def __str__(self) -> str:
        return f"{self.refund} {self.status}"


class ProcedureCharge(models.Model):
    """A procedure charged to a patient by staff: append-only, keyed by its event."""

    charge = models.CharField(max_length=60, primary_key=True)  # PR:ORIGIN:SEQ
    uhid = models.CharField(max_length=20)
    code = models.CharField(max_length=20)
    admission = models.CharField(max_length=24, blank=True)
    note = models.CharField(max_length=200, blank=True)
    at_ms = models.BigIntegerField()
    actor = models.CharField(max_length=150)
    node = models.CharField(max_length=40)

    class Meta:
        db_table = "billing_procedure_charge"
        indexes = [models.Index(fields=["uhid"], name="billing_procedure_uhid")]

    def __str__(self) -> str:
        return self.charge


class ChargeCancellation(models.Model):
    """A charge cancelled (a test not done, a charge made in error): append-only."""

    cancellation = models.CharField(max_length=60, primary_key=True)  # ORIGIN:SEQ
    charge = models.CharField(max_length=80)
    uhid = models.CharField(max_length=20)
    reason = models.CharField(max_length=200)
    at_ms = models.BigIntegerField()
    actor = models.CharField(max_length=150)

    class Meta:
        db_table = "billing_charge_cancellation"
        indexes = [models.Index(fields=["uhid"], name="billing_cancel_uhid")]

    def __str__(self) -> str:
        return f"{self.charge} cancelled"


class Closing(models.Model):
    """One counter's day closed: every closing event is a row; the standing one of a
    counter-day is the earliest by ``stamp`` (hlc wall, hlc counter, origin)."""

    closing = models.CharField(max_length=60, primary_key=True)  # ORIGIN:SEQ
    counter = models.CharField(max_length=2)
    day = models.DateField()
    denominations = models.JSONField(default=dict)  # rupees (as text) -> count
    counted = models.BigIntegerField()  # paise of cash counted
    expected_cash = models.BigIntegerField()
    cash = models.BigIntegerField()
    upi = models.BigIntegerField()
    card = models.BigIntegerField()
    refunds = models.BigIntegerField()
    total = models.BigIntegerField()
    variance = models.BigIntegerField()  # counted - expected_cash
    stamp = models.JSONField(default=list)
    at_ms = models.BigIntegerField()
    closed_by = models.CharField(max_length=150)
    node = models.CharField(max_length=40)

    class Meta:
        db_table = "billing_closing"
        indexes = [models.Index(fields=["day", "counter"], name="billing_closing_day")]

    def __str__(self) -> str:
        return f"{self.counter} {self.day}"


class ConflictResolution(models.Model):
    """A person's note that a billing conflict is dealt with: append-only."""

    resolution = models.CharField(max_length=60, primary_key=True)  # ORIGIN:SEQ
    conflict = models.CharField(max_length=100)
    note = models.CharField(max_length=200)
    at_ms = models.BigIntegerField()
    actor = models.CharField(max_length=150)

    class Meta:
        db_table = "billing_conflict_resolution"
        indexes = [models.Index(fields=["conflict"], name="billing_resolution_conflict")]

    def __str__(self) -> str:
        return self.conflict


class ConflictFlag(models.Model):
    """A billing conflict as it stands now, kept by the projections as payments, refund
    decisions and closings arrive, so the worklist reads a handful of rows instead of
    rechecking every closing ever made. A row is removed when its condition no longer
    holds (an earlier decision arriving may move a refund to another counter-day)."""

    key = models.CharField(max_length=100, primary_key=True)  # KIND:SUBJECT
    kind = models.CharField(max_length=20)
    subject = models.CharField(max_length=60)
    detail = models.CharField(max_length=300)
    records = models.JSONField(default=list)
    uhid = models.CharField(max_length=20, blank=True)  # the patient, where there is one

    class Meta:
        db_table = "billing_conflict_flag"

    def __str__(self) -> str:
        return self.key
