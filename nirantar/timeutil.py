"""Hospital time: everything is stored in UTC; "today" is the hospital's local day."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def hospital_zone() -> ZoneInfo:
    return _zone(settings.HOSPITAL_TIME_ZONE)


def now() -> datetime:
    return timezone.now()


def today() -> date:
    """The hospital's local date (tokens, census and daily closing follow it)."""
    return timezone.localdate(timezone.now(), timezone=hospital_zone())


def local(moment: datetime) -> datetime:
    return moment.astimezone(hospital_zone())


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo("UTC"))
