"""Read models of the laboratory. Only projections.py writes them."""

from __future__ import annotations

from django.db import models


class LabOrder(models.Model):
    """Tests ordered for a patient, from the doctor's desk, a ward or the lab counter."""

    order_no = models.CharField(max_length=24, primary_key=True)
    uhid = models.CharField(max_length=20)
    visit = models.CharField(max_length=24, blank=True)  # the OPD visit it came from, if any
    tests = models.JSONField(default=list)  # catalogue codes
    source = models.CharField(max_length=10)  # opd | ward | lab
    department = models.CharField(max_length=10, blank=True)
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, default="ordered")
    at_ms = models.BigIntegerField()
    ordered_by = models.CharField(max_length=150)
    node = models.CharField(max_length=40)

    class Meta:
        db_table = "lab_order"
        indexes = [
            models.Index(fields=["uhid", "at_ms"], name="lab_order_uhid"),
            models.Index(fields=["status", "at_ms"], name="lab_order_status"),
            models.Index(fields=["visit"], name="lab_order_visit"),
        ]

    def __str__(self) -> str:
        return self.order_no


class Sample(models.Model):
    """A labelled container of a patient's specimen. Its status only moves forward."""

    accession = models.CharField(max_length=24, primary_key=True)
    uhid = models.CharField(max_length=20)
    # False while only later events have arrived (events can meet out of order).
    is_collected = models.BooleanField(default=False)
    orders = models.JSONField(default=list)
    tests = models.JSONField(default=list)
    specimen = models.CharField(max_length=60, blank=True)
    container = models.CharField(max_length=60, blank=True)
    section = models.CharField(max_length=30, blank=True)
    replaces = models.CharField(max_length=24, blank=True)  # a rejected sample recollected
    collected_at_ms = models.BigIntegerField(null=True)
    collected_by = models.CharField(max_length=150, blank=True)
    node = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=12, default="collected")
    received_at_ms = models.BigIntegerField(null=True)
    rejected_reason = models.CharField(max_length=20, blank=True)
    # The latest verification (last-writer-wins): who, when, and which results it covered.
    verified_at_ms = models.BigIntegerField(null=True)
    verified_by = models.CharField(max_length=150, blank=True)
    verified_results = models.JSONField(default=list)
    verified_stamp = models.JSONField(default=list)
    reported_at_ms = models.BigIntegerField(null=True)
    report_hash = models.CharField(max_length=64, blank=True)
    report_signature = models.CharField(max_length=200, blank=True)
    report_node = models.CharField(max_length=40, blank=True)
    report_stamp = models.JSONField(default=list)
    stamps = models.JSONField(default=dict)  # status -> earliest [wall, counter, origin]

    class Meta:
        db_table = "lab_sample"
        indexes = [
            models.Index(fields=["status", "section"], name="lab_sample_worklist"),
            models.Index(fields=["uhid"], name="lab_sample_uhid"),
            # Turnaround by section over a range of collection times (the lab's screen,
            # the MIS dashboard): each section's samples of the range, without a scan.
            models.Index(fields=["section", "collected_at_ms"], name="lab_sample_section_time"),
        ]

    def __str__(self) -> str:
        return self.accession


class Result(models.Model):
    """One analyte's value for one sample: append-only; an amendment is another row."""

    result_id = models.CharField(max_length=60, primary_key=True)  # ORIGIN:SEQ
    accession = models.CharField(max_length=24)
    uhid = models.CharField(max_length=20)
    analyte = models.CharField(max_length=12)
    value = models.CharField(max_length=200)
    unit = models.CharField(max_length=20, blank=True)
    flag = models.CharField(max_length=2, blank=True)  # L, H, LL, HH (critical), A (abnormal)
    low = models.CharField(max_length=20, blank=True)
    high = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=10)  # manual | analyser
    instrument = models.CharField(max_length=40, blank=True)
    control_id = models.CharField(max_length=60, blank=True)
    amends = models.CharField(max_length=60, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    at_ms = models.BigIntegerField()
    actor = models.CharField(max_length=150)
    node = models.CharField(max_length=40)

    class Meta:
        db_table = "lab_result"
        indexes = [
            models.Index(fields=["accession", "at_ms"], name="lab_result_sample"),
            models.Index(fields=["instrument", "control_id"], name="lab_result_message"),
            models.Index(fields=["uhid"], name="lab_result_uhid"),
        ]

    def __str__(self) -> str:
        return f"{self.accession} {self.analyte}={self.value}"


class MessageFailure(models.Model):
    """An analyser message that could not be stored as results: kept for a person."""

    failure_id = models.CharField(max_length=60, primary_key=True)  # ORIGIN:SEQ
    instrument = models.CharField(max_length=40, blank=True)
    control_id = models.CharField(max_length=60, blank=True)
    ack = models.CharField(max_length=2)  # AE or AR, as answered
    reason = models.CharField(max_length=300)
    message = models.TextField()
    at_ms = models.BigIntegerField()
    node = models.CharField(max_length=40)
    resolved = models.BooleanField(default=False)
    resolved_note = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "lab_message_failure"

    def __str__(self) -> str:
        return f"{self.failure_id} {self.ack} {self.reason}"
