"""Who may do what.

Each module declares its permissions next to the code they guard (``define`` in
the module's ``permissions.py``; ``@screen`` on its views, ``auth=needs(...)``
on its API operations). This registry collects them in one place, so the
permission-matrix test can walk every route and check every role against its
rule - a route that declares no rule fails the suite.

A refusal is recorded in the signed log (``accounts.access_denied``): who tried
what, from where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied

ROLES = (
    "clerk",
    "doctor",
    "nurse",
    "lab",
    "pathologist",
    "records",
    "billing",
    "accounts",
    "admin",
    "auditor",
    "display",
    "management",
)


@dataclass(frozen=True)
class Permission:
    name: str
    description: str
    roles: frozenset[str]


REGISTRY: dict[str, Permission] = {}


def define(name: str, description: str, roles: set[str] | frozenset[str]) -> Permission:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)} in permission {name}")
    permission = Permission(name, description, frozenset(roles))
    REGISTRY[name] = permission
    return permission


def allowed(user: Any, name: str) -> bool:
    if name not in REGISTRY:
        raise KeyError(f"permission {name!r} was never defined")
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and user.role in REGISTRY[name].roles
    )


def require(user: Any, name: str, request: Any = None) -> None:
    """Raise PermissionDenied (and record the attempt) unless ``user`` holds ``name``."""
    if allowed(user, name):
        return
    if getattr(user, "is_authenticated", False):
        from nirantar.accounts import actions

        actions.do_record_denied(user, name, request)
    raise PermissionDenied(f"your role may not {REGISTRY[name].description.lower()}")


F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view that anyone may open (the login page, the health check)."""
    view.nirantar_permission = None  # type: ignore[attr-defined]
    return view


SIGN_IN = define("session.use", "Use the screens of this node", set(ROLES))
MANAGE_USERS = define("users.manage", "Add, change and disable users", {"admin"})
READ_AUDIT = define("audit.read", "Read the audit trail", {"auditor"})
READ_STATUS = define("status.read", "See this node's status and its peers", set(ROLES))
MANAGE_NODES = define("nodes.manage", "Enrol and revoke nodes", {"admin"})
