"""Duplicate patients: the blocking table, the records team's worklist, counter suggestions."""
