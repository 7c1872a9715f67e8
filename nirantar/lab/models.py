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
