"""Read models of duplicate detection. Only projections.py writes them."""

from __future__ import annotations

from django.db import models


class BlockingKey(models.Model):
    """A patient filed under one of its blocking keys (``matching.blocking_keys``).

    Finding the candidates for a record is one indexed lookup per key, so it stays a
    few small buckets at millions of patients.
    """

    # Keyed by itself: on SQLite the table is stored in key order, WITHOUT ROWID
    # (migration 0002). Filing 2M keys took 5.5 s with a row id and an index on
    # (key, uhid) beside it, 3.7 s so; the end of a 1M restore 12-13.5 s, now 10-10.6 s.
    pk = models.CompositePrimaryKey("key", "uhid")
    key = models.CharField(max_length=80)
    uhid = models.CharField(max_length=20)

    class Meta:
        db_table = "dedupe_blocking_key"
        indexes = [models.Index(fields=["uhid"], name="blocking_uhid")]

    def __str__(self) -> str:
        return f"{self.key} {self.uhid}"


class DuplicatePair(models.Model):
    """Two registered patients who are likely one person, for the records team.

    One row per unordered pair (``uhid_a`` < ``uhid_b``), scored on both records as they
    stand now: a function of the events, whatever order they arrived in.
    """

    pair = models.CharField(max_length=41, primary_key=True)  # "uhid_a|uhid_b"
    uhid_a = models.CharField(max_length=20)
    uhid_b = models.CharField(max_length=20)
    score = models.FloatField()
    evidence = models.JSONField(default=list)  # [{field, agreement, detail, weight}]
    # When the later of the two records took the form that was scored (HLC wall, ms):
    # the same on every node, unlike the moment a node happened to compare them.
    found_at_ms = models.BigIntegerField()

    class Meta:
        db_table = "dedupe_pair"
        indexes = [
            models.Index(fields=["-score", "pair"], name="pair_score"),
            models.Index(fields=["uhid_a"], name="pair_uhid_a"),
            models.Index(fields=["uhid_b"], name="pair_uhid_b"),
        ]

    def __str__(self) -> str:
        return f"{self.pair} {self.score:.2f}"


class PairReview(models.Model):
    """The records team's verdict on a pair: dismissed (not one person) or reopened.

    Kept apart from the pair's row, which comes and goes with the records' scores: a
    dismissal holds for the two people, whatever is corrected later. Last-writer-wins.
    """

    pair = models.CharField(max_length=41, primary_key=True)  # "uhid_a|uhid_b"
    uhid_a = models.CharField(max_length=20)
    uhid_b = models.CharField(max_length=20)
    dismissed = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=150)
    at_ms = models.BigIntegerField()
    node = models.CharField(max_length=40)
    stamp = models.JSONField(default=list)  # [wall, counter, origin] of the verdict in force

    class Meta:
        db_table = "dedupe_pair_review"

    def __str__(self) -> str:
        return f"{self.pair} {'dismissed' if self.dismissed else 'open'}"
