from typing import Any

from django import template

register = template.Library()


@register.filter
def is_number(value: Any) -> bool:
    """Numbers are right-aligned in the dashboard's tables."""
    return isinstance(value, int | float) and not isinstance(value, bool)
