"""Hybrid logical clock: wall-clock milliseconds plus a counter.

Timestamps are totally ordered as (wall, counter) and then by origin name. A
node's next timestamp is always greater than every timestamp it has seen, so
"last writer wins" follows causality even when wall clocks disagree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, order=True)
class HLC:
    wall: int  # milliseconds since the Unix epoch, UTC
    counter: int = 0

    def as_list(self) -> list[int]:
        return [self.wall, self.counter]

    @classmethod
    def from_list(cls, value: object) -> HLC:
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or value[0] < 0
            or value[1] < 0
        ):
            raise ValueError(
                f"an HLC is [wall_ms, counter] of two non-negative integers: {value!r}"
            )
        return cls(value[0], value[1])

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.wall / 1000, tz=UTC)

    def __str__(self) -> str:
        return f"{self.wall}.{self.counter}"


ZERO = HLC(0, 0)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def tick(last: HLC, now_ms: int) -> HLC:
    """The next timestamp for a local event, after everything in ``last``."""
    if now_ms > last.wall:
        return HLC(now_ms, 0)
    return HLC(last.wall, last.counter + 1)
