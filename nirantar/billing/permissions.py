"""Billing's permissions, declared beside the code they guard.

Cashiers (role ``billing``) take payments, print receipts, request refunds and close
their counter's day. Billing supervisors (role ``accounts``) do all that and decide
refunds - never one they requested - cancel charges and clear billing conflicts.
Nurses and doctors may charge a procedure they did.
"""

from nirantar.accounts.permissions import define

CASHIER = {"billing", "accounts"}

READ_ACCOUNT = define(
    "billing.account",
    "See a patient's charges, payments and receipts",
    CASHIER,
)
TAKE_PAYMENT = define("billing.pay", "Take payments and print receipts", CASHIER)
REQUEST_REFUND = define("billing.refund", "Request refunds of payments", CASHIER)
DECIDE_REFUND = define("billing.approve", "Approve or reject refunds", {"accounts"})
CHARGE_PROCEDURE = define(
    "billing.procedure",
    "Charge a procedure done to a patient",
    {"billing", "accounts", "nurse", "doctor"},
)
CANCEL_CHARGE = define("billing.cancel", "Cancel a charge made in error", {"accounts"})
CLOSE_DAY = define("billing.close", "Close a counter's day with a cash count", CASHIER)
READ_COLLECTIONS = define(
    "billing.collections",
    "See the collections report and billing conflicts",
    {"accounts", "auditor"},
)
