"""Money on screens: paise shown as rupees with the Indian grouping."""

from __future__ import annotations

from django import template

from nirantar.billing.queries import format_rupees

register = template.Library()


@register.filter
def rupees(paise: int) -> str:
    return format_rupees(int(paise or 0))
