"""Event types of the accounts module (past-tense facts; bodies carry "v")."""

USER_ADDED = "accounts.user_added"
TOKEN_ISSUED = "accounts.token_issued"  # noqa: S105 - an event type
RECORD_ACCESSED = "accounts.record_accessed"
RECORDS_SEARCHED = "accounts.records_searched"
