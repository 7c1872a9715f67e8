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
