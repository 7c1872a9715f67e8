from hypothesis import given
from hypothesis import strategies as st

from nirantar.ledger.hlc import HLC, tick


@given(st.lists(st.integers(0, 2**40), min_size=1, max_size=50))
def test_local_timestamps_always_increase_even_when_the_wall_clock_goes_back(walls):
    last = HLC(0, 0)
    for wall in walls:
        stamp = tick(last, wall)
        assert stamp > last
        last = stamp


def test_it_follows_the_wall_clock_when_the_clock_is_ahead():
    assert tick(HLC(1000, 5), 2000) == HLC(2000, 0)
    assert tick(HLC(1000, 5), 999) == HLC(1000, 6)
