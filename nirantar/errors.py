"""Errors that actions raise and every interface (API, screens, CLI) reports the same way."""

from __future__ import annotations


class ActionError(Exception):
    """A request that can't be carried out. Nothing has been written when this is raised."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def as_json(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationFailed(ActionError):
    code = "validation_failed"


class NotFound(ActionError):
    status = 404
    code = "not_found"


class Conflict(ActionError):
    status = 409
    code = "conflict"


class Unavailable(ActionError):
    status = 503
    code = "unavailable"
