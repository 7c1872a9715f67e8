"""A bulk load (a restore) pauses the cyclic garbage collector, and always gives it back:
a serving process left without it would keep every cycle it ever made."""

from __future__ import annotations

import gc

import pytest

from nirantar.ledger import projection


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_paused_while_loading_and_back_on_after(hospital, collector_on):
    with projection.bulk_loading():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_load_that_fails_still_gives_the_collector_back(hospital, collector_on):
    with pytest.raises(RuntimeError), projection.bulk_loading():
        raise RuntimeError("a segment could not be read")
    assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused(hospital, collector_on):
    gc.disable()
    with projection.bulk_loading():
        pass
    assert not gc.isenabled()
