"""Who may do what. Each module declares its permissions next to the code they
guard (``define`` in the module, ``@requires`` on the view); this registry
collects them in one place so a test can walk every route against them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied

ROLES = ("clerk", "doctor", "nurse", "lab", "pathologist", "records", "billing", "admin", "auditor")
CLINICAL = frozenset({"clerk", "doctor", "nurse", "lab", "pathologist", "records"})


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


def require(user: Any, name: str) -> None:
    if not allowed(user, name):
        raise PermissionDenied(f"your role may not {REGISTRY[name].description.lower()}")


F = TypeVar("F", bound=Callable[..., Any])


def requires(name: str) -> Callable[[F], F]:
    """Guard a view: the request's user must hold ``name``. Records the rule on the view."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            require(request.user, name)
            return view(request, *args, **kwargs)

        wrapper.nirantar_permission = name  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view that anyone may open (the login page, static assets)."""
    view.nirantar_permission = None  # type: ignore[attr-defined]
    return view


SIGN_IN = define("session.use", "Use the screens of this node", set(ROLES))
MANAGE_USERS = define("users.manage", "Add users and issue tokens", {"admin"})
READ_AUDIT = define("audit.read", "Read the audit trail", {"auditor"})
READ_STATUS = define("status.read", "See this node's status and its peers", set(ROLES))
MANAGE_NODES = define("nodes.manage", "Enrol and revoke nodes", {"admin"})
