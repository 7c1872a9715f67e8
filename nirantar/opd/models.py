"""Read models of outpatient care. Only projections.py writes them."""

from __future__ import annotations

from django.db import models


class QueueState(models.Model):
    """Where one visit stands in its queue. A visit with no row is still waiting."""

    # Keyed by visit *and* patient: an event that names another patient's visit (a buggy
    # or hostile peer) makes a row of its own that no read of the real visit ever sees.
    id = models.BigAutoField(primary_key=True)
    visit_no = models.CharField(max_length=24)
    uhid = models.CharField(max_length=20)
    department = models.CharField(max_length=10)
    local_date = models.DateField()
    round = models.IntegerField(default=0)  # 0 at registration; +1 each time sent to a room
    step = models.CharField(max_length=12)  # waiting | called | consulting | done | no_show
    room_en = models.CharField(max_length=60, blank=True)  # blank: the room given at the counter
    room_hi = models.CharField(max_length=60, blank=True)
    by = models.CharField(max_length=150)  # who took the visit to this step (the first to)
    at_ms = models.BigIntegerField()
    last_called_ms = models.BigIntegerField(null=True)  # latest call of this round
    calls = models.JSONField(default=dict)  # round -> latest call's wall time, every round
    stamp = models.JSONField(default=list)  # [wall, counter, origin] of the winning event

    class Meta:
        db_table = "opd_queue_state"
        constraints = [models.UniqueConstraint(fields=["visit_no", "uhid"], name="opd_queue_visit")]
        indexes = [models.Index(fields=["local_date", "department"], name="opd_queue_day")]

    def __str__(self) -> str:
        return f"{self.visit_no} {self.step}"


class Entry(models.Model):
    """One clinical entry: append-only. A correction is another entry naming this one."""

    entry_id = models.CharField(max_length=60, primary_key=True)  # ORIGIN:SEQ of its event
    visit = models.CharField(max_length=24, blank=True)
    uhid = models.CharField(max_length=20)
    kind = models.CharField(max_length=12)
    data = models.JSONField(default=dict)
    corrects = models.CharField(max_length=60, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    at_ms = models.BigIntegerField()
    actor = models.CharField(max_length=150)
    node = models.CharField(max_length=40)

    class Meta:
        db_table = "opd_entry"
        indexes = [
            models.Index(fields=["uhid", "at_ms"], name="opd_entry_uhid"),
            models.Index(fields=["visit", "at_ms"], name="opd_entry_visit"),
            models.Index(fields=["kind", "at_ms"], name="opd_entry_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.kind}"
