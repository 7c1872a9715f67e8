"""Event.from_line - the fast parse restore and sync use - must agree with the careful one.

Whatever line it is given, it must give the same event (fields, content hash, stored
body text) as ``Event.from_wire(loads_canonical(line))``, or refuse it as that does.
"""

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nirantar.ledger import events, keys
from nirantar.ledger.canonical import MAX_SAFE_INTEGER, canonical, loads_canonical
from nirantar.ledger.events import Event
from nirantar.ledger.hlc import HLC

KEY = keys.generate()

# Anything JSON can hold, including what canonical JSON refuses: floats, integers past
# 2**53, non-ASCII keys, lone surrogates.
keys_ = st.text(max_size=6)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys_, children, max_size=3),
    max_leaves=12,
)


def careful(line: bytes) -> Event | str:
    try:
        return Event.from_wire(loads_canonical(line), parsed_canonically=True)
    except ValueError as exc:
        return type(exc).__name__


def fast(line: bytes) -> Event | str:
    try:
        return Event.from_line(line)
    except ValueError as exc:
        return "refused" if isinstance(exc, events.MalformedEvent) else f"leaked {exc!r}"


def agree(line: bytes) -> None:
    expected, got = careful(line), fast(line)
    if isinstance(expected, str):
        assert got == "refused", (line, expected, got)
        return
    assert isinstance(got, Event), (line, got)
    assert got == expected
    assert got.content_hash == expected.content_hash
    assert got.body_text == expected.body_text
    assert got.checked


def signed(body: dict) -> dict:
    return events.build(
        KEY,
        origin="ward-7",
        seq=3,
        hlc=HLC(1_790_000_000_000, 2),
        actor="nurse.रीता",
        type="test.noted",
        stream="patient:101-0000001-8",
        body=body,
        prev="ab" * 32,
    ).to_wire()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys_, values, max_size=5), st.sampled_from(["canonical", "loose"]))
def test_any_body_is_parsed_or_refused_as_the_careful_way_does(body, layout):
    # The wire form with an arbitrary body, written the way a peer might (sorted and
    # compact, as a backup is, or not): the two parses must agree on every one.
    data = {**signed({"v": 1}), "body": body}
    try:
        if layout == "canonical":
            line = json.dumps(
                data, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8", "surrogatepass")
        else:
            line = json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except ValueError:
        return
    agree(line)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["id", "origin", "seq", "hlc", "actor", "type", "stream", "prev", "hash"]),
    values,
)
def test_any_header_field_is_checked_as_the_careful_way_does(name, value):
    data = {**signed({"v": 1, "a": "कक्ष"}), name: value}
    try:
        line = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        )
    except ValueError:
        return
    agree(line)


@pytest.mark.parametrize(
    "body",
    [
        {"v": 1, "amount": 1.5},
        {"v": 1, "amount": 1.0},
        {"v": 1, "n": MAX_SAFE_INTEGER + 1},
        {"v": 1, "n": -MAX_SAFE_INTEGER - 1},
        {"v": 1, "n": 2**64},
        {"v": 1, "नाम": "x"},
        {"v": 1, "deep": [{"x": [1, 2, {"é": 1}]}]},
    ],
)
def test_what_canonical_json_refuses_is_refused(body):
    line = json.dumps({**signed({"v": 1}), "body": body}, sort_keys=True, separators=(",", ":"))
    assert fast(line.encode()) == "refused"


def test_a_signed_event_reads_back_whole_and_hashes_as_it_was_signed():
    wire = signed({"v": 1, "name_hi": "सीता देवी", "n": MAX_SAFE_INTEGER, "list": [None, True]})
    event = Event.from_line(canonical(wire))
    assert event.to_wire() == wire
    assert event.compute_hash() == wire["hash"]
    assert event.signature_valid(keys.public_text(KEY))


@pytest.mark.parametrize(
    "line",
    [
        b'{"a":1,"a":2}',  # duplicate keys
        b"[1,2]",
        b"",
        b"nonsense",
        b'"\\ud800"',
    ],
)
def test_lines_that_are_not_events_are_refused(line):
    assert fast(line) == "refused"


def test_a_duplicated_key_in_an_event_goes_the_careful_way():
    # orjson and the careful parser both keep the last of two equal keys; the line is
    # then not the canonical encoding of what was parsed, so the careful way decides.
    text = canonical(signed({"v": 1})).decode()
    line = text.replace('"actor":', '"actor":"x","actor":', 1).encode()
    agree(line)


def test_every_character_is_encoded_as_canonical_json_encodes_it():
    # from_line trusts orjson's encoding to be canonical's: check it for every code point.
    differ = [
        hex(cp)
        for cp in range(0x110000)
        if not 0xD800 <= cp <= 0xDFFF and orjson.dumps(chr(cp)) != canonical(chr(cp))
    ]
    assert differ == []


def test_an_ordinary_event_takes_the_fast_way():
    # Not a behaviour a user sees, but restore's speed rests on it (bench/restore.py).
    line = canonical(signed({"v": 1, "name_hi": "सीता", "address": {"pin": "110029"}}))
    assert events._fast(Event, line) == Event.from_line(line)
    assert events._fast(Event, line.replace(b'"v":1', b'"v":1.0')) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(keys_, values, max_size=5), min_size=1, max_size=4))
def test_a_restore_reads_each_body_only_when_asked_and_gets_the_same_event(bodies):
    from nirantar import backup

    lines = []
    for body in bodies:
        try:
            lines.append(canonical(signed(body)))
        except ValueError:  # not canonical JSON (a float, say): never in a backup
            continue
    checked = [events.check_line(line) for line in lines]
    found = [None if c is None else c[1:] for c in checked]
    got = backup._segment_events("segments/x.seg", b"\n".join(lines), found)
    for line, event in zip(lines, got, strict=True):
        expected = Event.from_line(line)
        assert "body" not in vars(event)  # not parsed yet
        assert event == expected  # reads the body: parsed now, once
        assert vars(event)["body"] == expected.body
        assert event.to_wire() == expected.to_wire()
        assert event.compute_hash() == expected.hash
        assert event.signature_valid(keys.public_text(KEY))


def test_an_event_read_without_its_body_pickles_and_copies_whole():
    import copy
    import pickle

    from nirantar import backup

    line = canonical(signed({"v": 1, "name_hi": "सीता देवी"}))
    _, content_hash, start, end = events.check_line(line)
    for way in (pickle.loads, copy.deepcopy):
        [event] = backup._segment_events("segments/x.seg", line, [(content_hash, start, end)])
        again = way(pickle.dumps(event)) if way is pickle.loads else way(event)
        assert again == Event.from_line(line) and again.body["name_hi"] == "सीता देवी"
    with pytest.raises(AttributeError):
        event.no_such_field  # noqa: B018 - only a missing body is made on demand
