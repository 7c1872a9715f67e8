import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nirantar.ledger.canonical import MAX_SAFE_INTEGER, NotCanonical, canonical

ascii_keys = st.text(alphabet=st.characters(max_codepoint=127), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ascii_keys, children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_decoding_and_re_encoding_gives_the_same_bytes(value):
    encoded = canonical(value)
    assert canonical(json.loads(encoded)) == encoded


@given(st.dictionaries(ascii_keys, st.integers(0, 100), min_size=2))
def test_key_order_does_not_change_the_bytes(value):
    reversed_order = dict(reversed(list(value.items())))
    assert canonical(value) == canonical(reversed_order)


def test_it_writes_hindi_as_itself_with_no_whitespace():
    assert canonical({"name": "राम", "a": [1, 2]}) == '{"a":[1,2],"name":"राम"}'.encode()


@pytest.mark.parametrize(
    "value",
    [1.5, {"x": float("nan")}, {"नाम": 1}, {1: "a"}, 2**53, {"s": "\ud800"}, {"b": b"x"}],
)
def test_it_refuses_what_other_languages_would_encode_differently(value):
    with pytest.raises(NotCanonical):
        canonical(value)


@pytest.mark.parametrize(
    "text", ['{"a": 1.5}', '{"a": 9007199254740993}', '{"नाम": 1}', '{"a": NaN}', "[1e3]"]
)
def test_parsing_refuses_what_encoding_would_refuse(text):
    from nirantar.ledger.canonical import loads_canonical

    with pytest.raises(NotCanonical):
        loads_canonical(text)


@given(json_values)
def test_what_parses_canonically_encodes_to_the_same_bytes(value):
    from nirantar.ledger.canonical import loads_canonical

    encoded = canonical(value)
    assert canonical(loads_canonical(encoded), checked=True) == encoded
