"""FHIR R4 structure checks with fhirclient 4.4.0's 4.0.1 models, and OperationOutcome.

fhirclient checks element names, JSON types, cardinality, required elements and
date syntax. It does not check codes, ``id`` patterns, invariants or profiles,
so the codes we rely on are checked where they are read (resources.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# fhirclient (its models, and the requests library it brings) is imported on the first
# check, not with the module: ~15 MB that a node serving no FHIR writes never needs.

# fhirclient's messages hold Python reprs (<fhirclient.models.x.Y object at 0x...>).
_REPR = re.compile(r"<(?:class ')?(?:fhirclient\.models\.\w+\.)?(\w+)(?:'| object at 0x[0-9a-f]+)>")
_INDEX = re.compile(r"\.(\d+)(?=\.|$)")  # name.0.given -> name[0].given

# OperationOutcome.issue.code values we use (a required binding fhirclient doesn't check).
ISSUE_CODES = {
    "invalid",
    "structure",
    "required",
    "value",
    "business-rule",
    "not-supported",
    "not-found",
    "login",
    "forbidden",
    "conflict",
    "exception",
    "too-costly",
    "processing",
    "informational",
}


class Invalid(Exception):
    """A request the FHIR API refuses, carrying its HTTP status and OperationOutcome issues."""

    def __init__(self, status: int, issues: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(i.get("diagnostics", "")) for i in issues))
        self.status = status
        self.issues = issues


def issue(
    code: str, diagnostics: str, expression: str | None = None, severity: str = "error"
) -> dict[str, Any]:
    if code not in ISSUE_CODES:
        raise ValueError(f"unknown issue code {code}")
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = [expression]
    return out


def outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


def _flatten(error: BaseException, path: str) -> Iterator[tuple[str, str]]:
    from fhirclient.models.fhirabstractbase import FHIRValidationError

    if isinstance(error, FHIRValidationError):
        here = path if error.path is None else (f"{path}.{error.path}" if path else error.path)
        for sub in error.errors:
            yield from _flatten(sub, here)
        return
    message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    yield path, _REPR.sub(r"\1", str(message))


def problems(resource_type: str, data: Any) -> list[dict[str, Any]]:
    """The structural problems of ``data`` as a ``resource_type``; [] when it is valid R4."""
    if not isinstance(data, dict):
        return [issue("structure", "the body must be a JSON object (a FHIR resource)")]
    given = data.get("resourceType")
    if given != resource_type:
        # fhirclient raises a bare Exception on a mismatch; say it plainly instead.
        return [
            issue(
                "invalid",
                f"expected resourceType {resource_type}, got {given!r}",
                f"{resource_type}.resourceType",
            )
        ]
    from fhirclient.models import fhirelementfactory
    from fhirclient.models.fhirabstractbase import FHIRValidationError

    try:
        fhirelementfactory.FHIRElementFactory.instantiate(resource_type, data)
    except FHIRValidationError as exc:
        found = []
        for location, message in _flatten(exc, ""):
            where = resource_type + ("." + _INDEX.sub(r"[\1]", location) if location else "")
            found.append(issue("structure", f"{where}: {message}", where))
        return found or [issue("structure", str(exc))]
    except RecursionError:
        return [issue("structure", "the resource is nested too deeply")]
    except Exception as exc:  # fhirclient's bare Exception, e.g. a contained resource's type
        return [issue("structure", _REPR.sub(r"\1", str(exc)))]
    return []
