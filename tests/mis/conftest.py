"""The MIS tests' fixtures live in hospital_days.py, so the browser test can use them too."""

from tests.mis.hospital_days import days, manager, mis_api  # noqa: F401
