"""The laboratory's permissions, declared beside the code they guard."""

from nirantar.accounts.permissions import define

READ_ORDERS = define(
    "lab.orders", "See the tests ordered for the laboratory", {"lab", "pathologist"}
)
