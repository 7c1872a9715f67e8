"""Who reviews likely duplicate patients: the records team (medical records department)."""

from nirantar.accounts.permissions import define

REVIEW = define(
    "duplicates.review", "Review likely duplicate patients and their evidence", {"records"}
)
