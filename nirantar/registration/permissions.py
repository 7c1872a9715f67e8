"""Registration's permissions, declared beside the code they guard."""

from nirantar.accounts.permissions import define

REGISTER = define("registration.register", "Register patients and OPD visits", {"clerk", "records"})
CORRECT = define("registration.correct", "Correct patient details", {"clerk", "records"})
READ_PATIENT = define(
    "registration.read",
    "Read patient records",
    {"clerk", "doctor", "nurse", "lab", "pathologist", "records", "billing"},
)
PRINT_SLIP = define("registration.slip", "Print OPD slips", {"clerk", "records", "nurse"})
