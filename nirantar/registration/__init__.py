"""Patients, UHIDs, OPD visits, tokens and slips."""
