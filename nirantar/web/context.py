from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def node(request: HttpRequest) -> dict[str, Any]:
    return {
        "NODE_NAME": settings.NODE.node,
        "HOSPITAL": settings.NODE.hospital,
        "HOSPITAL_HI": settings.NODE.hospital_hi,
        "COUNTER_LETTER": settings.NODE.counter_letter,
    }
