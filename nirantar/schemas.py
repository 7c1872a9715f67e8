"""Schemas every part of the JSON API shares."""
# No `from __future__ import annotations`: django-ninja reads these hints at import time.

from typing import Any

from ninja import Schema


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    error: ErrorBody


ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    503: ErrorOut,
}
