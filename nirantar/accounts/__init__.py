"""Users, roles and permissions, API tokens, and the audit of every patient-record read."""
