"""Read models of registration. Only projections.py writes them."""

from __future__ import annotations

from datetime import date

from django.db import models

from nirantar.registration.rules import format_abha_number


class Department(models.Model):
    code = models.CharField(max_length=10, primary_key=True)
    name_en = models.CharField(max_length=100)
    name_hi = models.CharField(max_length=100)
    rooms = models.JSONField(default=list)  # [{"en": "Room 101", "hi": "कक्ष 101"}, ...]
    active = models.BooleanField(default=True)
    field_stamps = models.JSONField(default=dict)

    class Meta:
        db_table = "registration_department"
        ordering = ["name_en"]

    def __str__(self) -> str:
        return self.name_en


class Patient(models.Model):
    """The current view of a patient: each field is the last writer's value."""

    # An integer key is kept for SQLite's full-text index (content_rowid); it is
    # local to this database and never leaves it. The UHID is the identity.
    id = models.BigAutoField(primary_key=True)
    uhid = models.CharField(max_length=20, unique=True)
    # False while only a correction has arrived (events can meet out of order).
    is_registered = models.BooleanField(default=False)
    name_hi = models.CharField(max_length=100, blank=True)
    name_en = models.CharField(max_length=100, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    date_of_birth = models.DateField(null=True)
    dob_estimated = models.BooleanField(default=False)
    guardian_relation = models.CharField(max_length=3, blank=True)
    guardian_name = models.CharField(max_length=100, blank=True)
    mobile = models.CharField(max_length=10, blank=True)
    abha_number = models.CharField(max_length=14, blank=True)
    abha_address = models.CharField(max_length=40, blank=True)  # lower-cased, name@abdm
    category = models.CharField(max_length=20, blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    district = models.CharField(max_length=60, blank=True)
    state = models.CharField(max_length=60, blank=True)
    pin = models.CharField(max_length=6, blank=True)
    registered_at_ms = models.BigIntegerField(null=True)
    registered_by = models.CharField(max_length=150, blank=True)
    registered_node = models.CharField(max_length=40, blank=True)
    # Lower-cased names in both scripts and the guardian, for substring search.
    search_text = models.CharField(max_length=400, blank=True)
    field_stamps = models.JSONField(default=dict)

    class Meta:
        db_table = "registration_patient"
        indexes = [
            models.Index(fields=["mobile"], name="patient_mobile"),
            models.Index(fields=["abha_number"], name="patient_abha"),
            models.Index(fields=["abha_address"], name="patient_abha_address"),
        ]

    # Not a column: the UHID asked for, when it was merged away into this record
    # (set by ``queries.access_patient``, which answers with the survivor).
    merged_from = ""

    def __str__(self) -> str:
        return f"{self.uhid} {self.display_name}"

    @property
    def display_name(self) -> str:
        return self.name_en or self.name_hi

    @property
    def abha_number_display(self) -> str:
        """XX-XXXX-XXXX-XXXX, as on the patient's ABHA card."""
        return format_abha_number(self.abha_number)

    def age_on(self, day: date) -> tuple[int, str]:
        """Age as (number, unit) with unit Y, M or D - how Indian OPD slips write it."""
        return age_on(self.date_of_birth, day)


def age_on(dob: date | None, day: date) -> tuple[int, str]:
    """Age on ``day`` of someone born on ``dob``, as (number, unit) with unit Y, M or D."""
    if dob is None:
        return (0, "")
    years = day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
    if years >= 1:
        return (years, "Y")
    months = (day.year - dob.year) * 12 + day.month - dob.month - (day.day < dob.day)
    if months >= 1:
        return (months, "M")
    return ((day - dob).days, "D")


class Visit(models.Model):
    visit_no = models.CharField(max_length=20, primary_key=True)
    uhid = models.CharField(max_length=20)
    department = models.CharField(max_length=10)
    room_en = models.CharField(max_length=60)
    room_hi = models.CharField(max_length=60)
    token = models.CharField(max_length=10)
    token_no = models.IntegerField()
    counter = models.CharField(max_length=2)
    local_date = models.DateField()
    at_ms = models.BigIntegerField()
    registered_by = models.CharField(max_length=150)
    node = models.CharField(max_length=40)

    class Meta:
        db_table = "registration_visit"
        indexes = [
            models.Index(fields=["uhid", "at_ms"], name="visit_uhid"),
            models.Index(fields=["local_date", "department"], name="visit_day_department"),
        ]

    def __str__(self) -> str:
        return f"{self.visit_no} {self.token}"


class PatientMerge(models.Model):
    """One (duplicate, survivor) pair as the records team last left it: merged or not.

    Last-writer-wins by the (hlc, origin) stamp of the merge and unmerge events of the
    pair. ``overridden`` says why a merged pair is not followed (a conflict for the
    records team: merged into two records, or a cycle made apart); "" when it is.
    """

    duplicate = models.CharField(max_length=20)
    survivor = models.CharField(max_length=20)
    merged = models.BooleanField()
    reason = models.CharField(max_length=200)
    actor = models.CharField(max_length=150)
    at_ms = models.BigIntegerField()
    node = models.CharField(max_length=40)
    stamp = models.JSONField()
    overridden = models.CharField(max_length=300, blank=True)

    class Meta:
        db_table = "registration_patient_merge"
        constraints = [
            models.UniqueConstraint(fields=["duplicate", "survivor"], name="merge_pair_unique")
        ]
        indexes = [models.Index(fields=["survivor"], name="merge_survivor")]

    def __str__(self) -> str:
        return f"{self.duplicate} -> {self.survivor} ({'merged' if self.merged else 'unmerged'})"


class MergedPatient(models.Model):
    """A UHID merged away, and the record it now shows under (followed transitively)."""

    uhid = models.CharField(max_length=20, primary_key=True)
    survivor = models.CharField(max_length=20)

    class Meta:
        db_table = "registration_merged_patient"
        indexes = [models.Index(fields=["survivor"], name="merged_survivor")]

    def __str__(self) -> str:
        return f"{self.uhid} -> {self.survivor}"
