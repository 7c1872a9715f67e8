import dataclasses

import pytest

from nirantar.ledger import events, keys
from nirantar.ledger.events import Event, MalformedEvent
from nirantar.ledger.hlc import HLC


def wire(**change):
    event = events.build(
        keys.generate(),
        origin="ward-7",
        seq=1,
        hlc=HLC(1, 0),
        actor="a",
        type="test.noted",
        stream="s",
        body={"v": 1},
        prev="0" * 64,
    )
    return {**event.to_wire(), **change}


def test_a_well_formed_event_round_trips():
    data = wire()
    assert Event.from_wire(data).to_wire() == data


@pytest.mark.parametrize(
    "change",
    [
        {"type": "a." + "b" * 100},
        {"hlc": [1, 2**31]},
        {"hlc": [1.5, 0]},
        {"seq": 0},
        {"origin": "Ward 7"},
        {"prev": "xyz"},
        {"body": [1]},
        {"body": {"x": 1.5}},
        {"extra": 1},
    ],
)
def test_a_field_a_database_column_could_not_hold_is_refused(change):
    with pytest.raises(MalformedEvent):
        Event.from_wire(wire(**change))


def test_the_hash_computed_on_arrival_is_the_hash_of_the_content():
    event = Event.from_wire(wire(body={"v": 1, "name": "राम", "n": [1, {"z": None}]}))
    assert event.content_hash == dataclasses.replace(event, content_hash="").compute_hash()
    assert event.body_text == '{"n":[1,{"z":null}],"name":"राम","v":1}'
