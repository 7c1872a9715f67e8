from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: Any, key: str) -> Any:
    """``{{ errors|get:"address_pin" }}`` - dictionary lookup by a computed key."""
    if mapping is None:
        return ""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def initial(value: Any, default: str = "") -> Any:
    return value if value not in (None, "") else default


@register.filter
def ms_time(value: Any) -> str:
    """Milliseconds since the epoch (UTC) as the hospital's local date and time."""
    from nirantar import timeutil

    try:
        return timeutil.local(timeutil.from_ms(int(value))).strftime("%d-%m-%Y %H:%M")
    except (TypeError, ValueError):
        return ""


@register.filter
def may(user: Any, permission: str) -> bool:
    """``{% if user|may:"opd.queue" %}`` - the permission registry's answer, not a role list."""
    from nirantar.accounts.permissions import allowed

    return allowed(user, permission)
