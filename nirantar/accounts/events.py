"""Event types of the accounts module (past-tense facts; bodies carry "v")."""

USER_ADDED = "accounts.user_added"
TOKEN_ISSUED = "accounts.token_issued"
RECORD_ACCESSED = "accounts.record_accessed"
RECORDS_SEARCHED = "accounts.records_searched"
