"""Outpatient care's permissions, declared beside the code they guard."""

from nirantar.accounts.permissions import define

QUEUE = define(
    "opd.queue", "Call tokens and move patients through the OPD queue", {"doctor", "nurse"}
)
VITALS = define("opd.vitals", "Record vitals, complaints and allergies", {"doctor", "nurse"})
CONSULT = define(
    "opd.consult",
    "Record diagnoses, prescriptions, orders, referrals and advice",
    {"doctor"},
)
READ_CLINICAL = define(
    "opd.read", "Read a patient's clinical record and timeline", {"doctor", "nurse", "records"}
)
PRINT_PRESCRIPTION = define(
    "opd.prescription", "Print prescriptions", {"doctor", "nurse", "records"}
)
DISPLAY = define(
    "opd.display",
    "Show the token display of a waiting hall",
    {"display", "clerk", "doctor", "nurse", "records"},
)
