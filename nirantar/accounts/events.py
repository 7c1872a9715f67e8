"""Event types of the accounts module (past-tense facts; bodies carry "v").

accounts.user_added         {username, full_name, role, password_hash, active}   user:NAME
accounts.user_changed       {username, and any of: full_name, role, password_hash,
                             active, totp_secret, registration_no}                 user:NAME
accounts.token_issued       {token_id, username, token_hash, label, expires_at_ms} user:NAME
accounts.token_revoked      {token_id, username}                                   user:NAME
accounts.record_accessed    {patient, action, via, address, reason, break_glass}   audit:UHID
accounts.records_searched   {query, patients, via, address}                        audit:search
accounts.access_reviewed    {event, patient, note}                                 audit:UHID
accounts.access_denied      {permission, method, path, address}                    audit:denied
"""

USER_ADDED = "accounts.user_added"
USER_CHANGED = "accounts.user_changed"
TOKEN_ISSUED = "accounts.token_issued"  # noqa: S105 - an event type
TOKEN_REVOKED = "accounts.token_revoked"  # noqa: S105 - an event type
RECORD_ACCESSED = "accounts.record_accessed"
RECORDS_SEARCHED = "accounts.records_searched"
ACCESS_REVIEWED = "accounts.access_reviewed"
ACCESS_DENIED = "accounts.access_denied"
