import pytest
from hypothesis import given
from hypothesis import strategies as st

from nirantar.ledger.numbering import (
    InvalidNumber,
    NumberFormat,
    verhoeff_check_digit,
    verhoeff_valid,
)

UHID = NumberFormat("uhid", "", "UHID")
VISIT = NumberFormat("visit", "OP", "visit number")


def test_it_matches_the_published_verhoeff_example():
    assert verhoeff_check_digit("236") == "3"
    assert verhoeff_valid("2363")
    assert not verhoeff_valid("2364")


@given(
    st.text(alphabet="0123456789", min_size=10, max_size=10), st.integers(0, 9), st.integers(1, 9)
)
def test_every_single_mistyped_digit_is_caught(digits, position, delta):
    number = digits + verhoeff_check_digit(digits)
    wrong = list(number)
    wrong[position] = str((int(wrong[position]) + delta) % 10)
    assert not verhoeff_valid("".join(wrong))


@given(st.text(alphabet="0123456789", min_size=10, max_size=10), st.integers(0, 9))
def test_every_swap_of_neighbouring_digits_is_caught(digits, position):
    number = digits + verhoeff_check_digit(digits)
    swapped = list(number)
    swapped[position], swapped[position + 1] = swapped[position + 1], swapped[position]
    if swapped != list(number):
        assert not verhoeff_valid("".join(swapped))


def taken(written: str) -> bool:
    try:
        UHID.parse(written)
    except InvalidNumber:
        return False
    return True


@given(st.text(alphabet="0123456789", min_size=10, max_size=10), st.integers(-1, 9))
def test_a_number_written_as_format_writes_it_is_checked_as_its_digits_are(digits, position):
    # Written with dashes, a number is checked by a table a part (not a digit at a time):
    # it must take exactly the numbers the digit by digit check takes.
    number = list(digits + verhoeff_check_digit(digits))
    if position >= 0:  # a digit mistyped
        number[position] = str((int(number[position]) + 1 + position) % 10)
    number = "".join(number)
    written = f"{number[:3]}-{number[3:10]}-{number[10]}"
    assert taken(written) == (
        verhoeff_valid(number) and int(number[:3]) > 0 and int(number[3:10]) > 0
    )
    assert taken(written) == taken(number)


def test_a_uhid_is_grouped_for_reading_aloud():
    uhid = UHID.format(107, 123)
    assert uhid[:12] == "107-0000123-"
    assert verhoeff_valid(uhid.replace("-", ""))


@pytest.mark.parametrize("typed", ["101-0000001-{c}", "1010000001{c}", " 101 0000001 {c} "])
def test_it_accepts_a_uhid_with_or_without_dashes(typed):
    check = verhoeff_check_digit("1010000001")
    assert UHID.parse(typed.format(c=check)) == (101, 1)


def test_it_reports_a_wrong_check_digit_as_such():
    good = UHID.format(101, 1)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    with pytest.raises(InvalidNumber) as caught:
        UHID.parse(bad)
    assert caught.value.reason == "check_digit"
    assert "check digit" in str(caught.value)


@pytest.mark.parametrize("typed", ["", "12345", "ABC-0000001-1", "101-0000001-23"])
def test_it_reports_a_malformed_number(typed):
    with pytest.raises(InvalidNumber) as caught:
        UHID.parse(typed)
    assert caught.value.reason == "format"


def test_a_visit_number_carries_its_prefix():
    visit = VISIT.format(101, 5)
    assert visit.startswith("OP-101-0000005-")
    assert VISIT.parse(visit.replace("-", "")) == (101, 5)
