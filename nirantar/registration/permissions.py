"""Registration's permissions, declared beside the code they guard."""

from nirantar.accounts.permissions import define

REGISTER = define("registration.register", "Register patients and OPD visits", {"clerk", "records"})
CORRECT = define("registration.correct", "Correct patient details", {"clerk", "records"})
READ_PATIENT = define(
    "registration.read", "Read patient records", {"clerk", "doctor", "nurse", "records"}
)
# Break the glass: roles without the usual right may open a record in an emergency,
# giving a reason; the access is flagged for an auditor's review.
BREAK_GLASS = define(
    "registration.emergency",
    "Open a patient's record in an emergency, giving a reason",
    {"lab", "pathologist", "billing", "admin"},
)
PRINT_SLIP = define("registration.slip", "Print OPD slips", {"clerk", "records", "nurse"})
# Only medical records staff merge one person's two records, or undo a wrong merge.
MERGE = define("registration.merge", "Merge duplicate patient records and undo merges", {"records"})
