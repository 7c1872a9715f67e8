"""The wards' permissions, declared beside the code they guard."""

from nirantar.accounts.permissions import define

# The admission desk (clerks), doctors and nurses must see which beds are free. The board
# names its patients, so the IT administrator (who sees no patient) is not among them.
BOARD = define(
    "wards.board",
    "See the bed board and the census",
    {"clerk", "doctor", "nurse", "records"},
)
ADMIT = define(
    "wards.admit", "Admit patients, transfer them and reserve beds", {"clerk", "doctor", "nurse"}
)
BEDS = define(
    "wards.beds", "Mark beds cleaned, out of service or back in service", {"nurse", "admin"}
)
CHART = define(
    "wards.chart",
    "Record vitals, intake and output, nursing notes and medicines given",
    {"nurse", "doctor"},
)
PROGRESS = define(
    "wards.progress", "Write progress notes, order tests and discharge patients", {"doctor"}
)
READ_CHART = define(
    "wards.read", "Read a stay's chart and discharge summary", {"doctor", "nurse", "records"}
)
CONFLICTS = define(
    "wards.conflicts",
    "See the conflict worklist (double-booked beds, double admissions)",
    {"nurse", "doctor", "records"},
)
LAYOUT = define("wards.layout", "Define wards and their beds", {"admin"})
