"""The blocking table and the worklist are functions of the set of events: any order,
any batching, and a rebuild give the same rows."""

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nirantar.cli import main
from nirantar.dedupe import actions as dedupe_actions
from nirantar.ledger import projection
from nirantar.ledger.writer import node
from nirantar.registration import actions
from tests.dedupe.conftest import BROTHER_ONE, BROTHER_TWO, SUNITA_EN, SUNITA_HI, copy

TABLES = (
    "dedupe.BlockingKey",
    "dedupe.DuplicatePair",
    "dedupe.PairReview",
    "registration.Patient",
)


def _history(clerk) -> list:
    sunita = actions.do_register_patient(clerk.username, copy(SUNITA_HI))
    again = actions.do_register_patient(clerk.username, copy(SUNITA_EN))
    # Dismissed, reopened, dismissed again: the last verdict stands.
    for verdict in ("dismiss", "reopen", "dismiss"):
        do = getattr(dedupe_actions, f"do_{verdict}_pair")
        do(clerk.username, sunita.uhid, again.uhid, verdict)
    actions.do_register_patient(clerk.username, copy(BROTHER_ONE))
    brother = actions.do_register_patient(clerk.username, copy(BROTHER_TWO))
    # A third record of Sunita, first typed as someone else and then corrected to her.
    other = actions.do_register_patient(
        clerk.username, {**copy(SUNITA_EN), "name_en": "Anjali Gupta", "mobile": "9700000000"}
    )
    actions.do_correct_patient(
        clerk.username, other.uhid, {"name_en": "Sunita Sharma"}, "typed wrongly"
    )
    # A brother's age corrected: still not his brother.
    actions.do_correct_patient(clerk.username, brother.uhid, {"age_years": 29}, "age")
    assert sunita.uhid
    return [
        e
        for e in node().store.in_causal_order()
        if e.type.startswith(("registration.patient_", "dedupe."))
    ]


def _tables() -> dict:
    dump = projection.dump()
    return {name: dump[name] for name in TABLES}


def _replay(events, sizes=None) -> dict:
    projection.clear()
    if sizes is None:
        for event in events:
            projection.apply(event)
    else:
        start = 0
        for size in sizes:
            assert not projection.apply_many(events[start : start + size])
            start += size
        assert not projection.apply_many(events[start:])
    return _tables()


_cache: dict[str, list] = {}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_order_and_batching_of_the_same_events_gives_the_same_worklist(clerk, data):
    key = str(clerk.pk)
    if key not in _cache:
        _cache.clear()
        _cache[key] = _history(clerk)
    events = _cache[key]
    expected = _replay(sorted(events, key=lambda e: e.order_key))
    assert len(expected["dedupe.DuplicatePair"]) == 3  # Sunita three times: three pairs
    [review] = expected["dedupe.PairReview"]
    assert ("dismissed", "True") in review
    shuffled = data.draw(st.permutations(events))
    assert _replay(shuffled) == expected
    sizes = data.draw(st.lists(st.integers(1, 4), max_size=4))
    assert _replay(shuffled, sizes) == expected


def test_rebuild_and_a_bulk_load_reproduce_the_worklist(clerk):
    events = _history(clerk)
    live = _tables()
    assert len(live["dedupe.DuplicatePair"]) == 3
    result = CliRunner().invoke(main, ["rebuild", "--check"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert _tables() == live
    projection.clear()
    with projection.bulk_loading():
        assert not projection.apply_many(events)
    assert _tables() == live
