"""Read models of the wards. Only projections.py writes them."""

from __future__ import annotations

from django.db import models


class Ward(models.Model):
    code = models.CharField(max_length=10, primary_key=True)
    name_en = models.CharField(max_length=80)
    name_hi = models.CharField(max_length=80)
    kind = models.CharField(max_length=12)
    sex = models.CharField(max_length=3)  # M, F or any
    department = models.CharField(max_length=10, blank=True)
    stamp = models.JSONField(default=list)  # the definition that stands

    class Meta:
        db_table = "wards_ward"

    def __str__(self) -> str:
        return self.code


class Bed(models.Model):
    """A bed and what is known of it now. ``state`` and ``occupants`` are worked out again
    from every placement, discharge, cleaning and reservation whenever one of them changes,
    so they are the same whatever order the events arrived in."""

    bed = models.CharField(max_length=16, primary_key=True)
    ward = models.CharField(max_length=10)
    room = models.CharField(max_length=40, blank=True)
    order = models.IntegerField(default=0)  # its place in the ward's list
    listed = models.BooleanField(default=True)  # still in the ward's newest definition
    in_service = models.BooleanField(default=True)
    service_reason = models.CharField(max_length=200, blank=True)
    reserved_for = models.CharField(max_length=20, blank=True)  # a UHID
    reservation_note = models.CharField(max_length=200, blank=True)
    stamps = models.JSONField(default=dict)  # in_service, reservation, cleaned
    state = models.CharField(max_length=16, default="vacant")
    occupants = models.JSONField(default=list)  # admission numbers, in admission order

    class Meta:
        db_table = "wards_bed"
        indexes = [models.Index(fields=["ward", "order"], name="wards_bed_ward")]

    def __str__(self) -> str:
        return self.bed


class Admission(models.Model):
    admission_no = models.CharField(max_length=24, primary_key=True)
    uhid = models.CharField(max_length=20)
    # False while only later events have arrived (events can meet out of order).
    is_admitted = models.BooleanField(default=False)
    source = models.CharField(max_length=10, blank=True)
    visit = models.CharField(max_length=24, blank=True)
    attending = models.CharField(max_length=150, blank=True)
    diagnosis = models.CharField(max_length=300, blank=True)
    note = models.CharField(max_length=300, blank=True)
    admitted_ms = models.BigIntegerField(null=True)
    admitted_by = models.CharField(max_length=150, blank=True)
    node = models.CharField(max_length=40, blank=True)
    ward = models.CharField(max_length=10, blank=True)  # where its latest placement put it
    bed = models.CharField(max_length=16, blank=True)
    placed_stamp = models.JSONField(default=list)
    # The discharge that stands (the one confirmed, else the earliest event), and every
    # discharge made: {discharge (event id), stamp, type, at, by, ...summary}.
    discharged = models.BooleanField(default=False)
    discharge = models.JSONField(default=dict)
    discharge_stamp = models.JSONField(default=list)
    discharged_ms = models.BigIntegerField(null=True)  # the time the discharge gives
    discharge_event_ms = models.BigIntegerField(null=True)
    discharge_versions = models.JSONField(default=list)
    discharge_confirmed = models.JSONField(default=dict)  # {discharge, stamp, by, note}

    class Meta:
        db_table = "wards_admission"
        indexes = [
            models.Index(fields=["uhid", "discharged"], name="wards_admission_uhid"),
            models.Index(fields=["discharged", "ward"], name="wards_admission_open"),
        ]

    def __str__(self) -> str:
        return self.admission_no


class Placement(models.Model):
    """An admission put in a bed (admitted or transferred): append-only."""

    placement_id = models.CharField(max_length=60, primary_key=True)  # ORIGIN:SEQ
    admission_no = models.CharField(max_length=24)
    uhid = models.CharField(max_length=20)
    ward = models.CharField(max_length=10)
    bed = models.CharField(max_length=16)
    kind = models.CharField(max_length=12)  # admitted | transferred
    reason = models.CharField(max_length=200, blank=True)
    stamp = models.JSONField(default=list)
    at_ms = models.BigIntegerField()
    actor = models.CharField(max_length=150)

    class Meta:
        db_table = "wards_placement"
        indexes = [
            models.Index(fields=["admission_no", "at_ms"], name="wards_placement_admission"),
            models.Index(fields=["bed"], name="wards_placement_bed"),
            models.Index(fields=["ward", "at_ms"], name="wards_placement_ward"),
        ]

    def __str__(self) -> str:
        return self.placement_id


class WardEntry(models.Model):
    """A nursing or doctor's entry during a stay: append-only, keyed by its event."""

    entry_id = models.CharField(max_length=60, primary_key=True)  # ORIGIN:SEQ
    admission_no = models.CharField(max_length=24)
    uhid = models.CharField(max_length=20)
    kind = models.CharField(max_length=16)
    data = models.JSONField(default=dict)
    corrects = models.CharField(max_length=60, blank=True)
    at_ms = models.BigIntegerField()  # when it happened (the nurse's time)
    recorded_ms = models.BigIntegerField()
    actor = models.CharField(max_length=150)
    node = models.CharField(max_length=40)

    class Meta:
        db_table = "wards_entry"
        indexes = [models.Index(fields=["admission_no", "at_ms"], name="wards_entry_admission")]

    def __str__(self) -> str:
        return self.entry_id


class Conflict(models.Model):
    """A rule the hospital could not enforce while split, found when the events met: on the
    in-charge's worklist while ``is_open``, kept afterwards. Derived from the events alone
    (a function of what is known, not of the order it came in)."""

    key = models.CharField(max_length=140, primary_key=True)  # KIND:SUBJECT:WHEN
    kind = models.CharField(max_length=30)
    subject = models.CharField(max_length=40)  # the bed, the patient, the admission
    ward = models.CharField(max_length=10, blank=True)
    records = models.JSONField(default=list)  # the admission numbers involved
    detail = models.CharField(max_length=300)
    is_open = models.BooleanField(default=True)
    detected_ms = models.BigIntegerField()  # when the second of the clashing events was made
    resolved_ms = models.BigIntegerField(null=True)

    class Meta:
        db_table = "wards_conflict"
        indexes = [
            models.Index(fields=["is_open", "detected_ms"], name="wards_conflict_open"),
            # The projection reads and replaces a bed's, patient's or admission's conflicts
            # after every placement and discharge.
            models.Index(fields=["subject", "kind"], name="wards_conflict_subject"),
        ]

    def __str__(self) -> str:
        return self.key
