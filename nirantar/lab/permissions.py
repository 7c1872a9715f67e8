"""The laboratory's permissions, declared beside the code they guard."""

from nirantar.accounts.permissions import ROLES, define

# Nurses collect samples on the wards and at the OPD, so they see what is to collect.
READ_ORDERS = define(
    "lab.orders", "See the tests ordered for the laboratory", {"lab", "pathologist", "nurse"}
)
COLLECT = define(
    "lab.collect", "Collect samples and print their labels", {"lab", "pathologist", "nurse"}
)
BENCH = define(
    "lab.bench",
    "Receive and reject samples, enter results, see the worklist and the error queue",
    {"lab", "pathologist"},
)
VERIFY = define("lab.verify", "Verify and amend results, and issue reports", {"pathologist"})
READ_REPORT = define(
    "lab.report",
    "Read and print laboratory results and reports",
    {"lab", "pathologist", "doctor", "nurse", "records"},
)
CHECK_REPORT = define(
    "lab.check", "Check whether a laboratory report is genuine", set(ROLES) - {"display"}
)
