"""Who may see the MIS dashboards: hospital management, and the records and IT
administrators who answer management's questions. The reports are counts - no patient is
named or numbered - so the right is not a right to read anyone's record."""

from nirantar.accounts.permissions import define

READ = define(
    "mis.read",
    "See the management dashboards (MIS) and export them",
    {"management", "records", "admin"},
)
