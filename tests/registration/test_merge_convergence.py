"""Merges converge: the merge state is a function of the set of merge and unmerge events,
whatever order they arrive in, including clashing merges made on nodes apart."""

from __future__ import annotations

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nirantar.cli import main
from nirantar.ledger import keys, projection
from nirantar.ledger.hlc import HLC
from nirantar.ledger.writer import node
from nirantar.registration import actions, merging, queries
from nirantar.registration.events import PATIENTS_MERGED, PATIENTS_UNMERGED, UHID
from nirantar.registration.models import MergedPatient, PatientMerge
from tests.ledger.factory import Chain

RAM = {"name_en": "Ram Kumar Sharma", "sex": "M", "age_years": 45}


def pair(duplicate: str, survivor: str, at: int) -> merging.Pair:
    return merging.Pair(duplicate, survivor, (at, 0, "n"))


def test_a_chain_is_followed_to_its_end():
    found = merging.resolve([pair("A", "B", 1), pair("B", "C", 2)])
    assert found.survivors == {"A": "C", "B": "C"}
    assert found.overridden == {}


def test_merged_into_two_records_apart_the_earlier_merge_stands():
    found = merging.resolve([pair("A", "C", 5), pair("A", "B", 3)])
    assert found.survivors == {"A": "B"}
    assert list(found.overridden) == [("A", "C")]
    assert "merged into B first" in found.overridden[("A", "C")]


def test_a_cycle_made_apart_keeps_the_earliest_decision():
    found = merging.resolve([pair("A", "B", 1), pair("B", "A", 2)])
    assert found.survivors == {"A": "B"}
    assert list(found.overridden) == [("B", "A")]
    assert "cycle" in found.overridden[("B", "A")]
    longer = merging.resolve([pair("B", "C", 9), pair("A", "B", 1), pair("C", "A", 4)])
    assert list(longer.overridden) == [("B", "C")]  # the latest of the three gives way
    assert longer.survivors == {"C": "B", "A": "B"}


uhids = st.sampled_from("ABCDE")
pairs = st.lists(
    st.tuples(uhids, uhids, st.integers(0, 20)).filter(lambda t: t[0] != t[1]),
    max_size=10,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(max_examples=200, deadline=None)
@given(found=pairs, data=st.data())
def test_the_resolution_is_a_function_of_the_set_and_leaves_no_cycle(found, data):
    made = [merging.Pair(d, s, (at, 0, d + s)) for d, s, at in found]
    expected = merging.resolve(made)
    assert merging.resolve(data.draw(st.permutations(made))) == expected
    for duplicate, survivor in expected.survivors.items():
        assert survivor not in expected.survivors  # followed to the end
        assert survivor != duplicate
    followed = {(p.duplicate, p.survivor) for p in made} - set(expected.overridden)
    assert len({d for d, _ in followed}) == len(followed)  # one way out of each UHID


def _history(clerk, records) -> tuple[list, list[str]]:
    """Four registrations; at this node A into B, then B into C; then, from two nodes that
    were apart, a cycle (C into A), A merged into D too, and later an unmerge of B from C,
    and a visit registered under A's old UHID after it was merged."""
    a, b, c, d = (actions.do_register_patient(clerk.username, RAM).uhid for _ in range(4))
    actions.do_merge_patients(records.username, b, a, "same person")
    actions.do_merge_patients(records.username, c, b, "same person")
    # A counter that was handed A's old card: the visit stays under A, shown under B's group.
    late = actions.do_register_visit(clerk.username, a, "MED")
    local = node()
    events = list(local.store.in_causal_order())
    last = events[-1].hlc.wall
    ward = Chain("ward-7", local.key, "0" * 64)
    lab = Chain("lab-main", local.key, "0" * 64)

    def body(survivor: str, duplicate: str) -> dict:
        return {"survivor": survivor, "duplicate": duplicate, "reason": "apart"}

    extra = [
        ward.next(PATIENTS_MERGED, body(a, c), f"patient:{c}", HLC(last + 5, 0)),
        lab.next(PATIENTS_MERGED, body(d, a), f"patient:{a}", HLC(last + 6, 0)),
        lab.next(PATIENTS_UNMERGED, body(c, b), f"patient:{b}", HLC(last + 9, 0)),
    ]
    return events + extra, [a, b, c, d, late.visit_no]


def _replay(events) -> dict:
    projection.clear()
    for event in events:
        projection.apply(event)
    return projection.dump()


_cache: dict[str, tuple[list, list[str]]] = {}


def _history_once(clerk, records) -> tuple[list, list[str]]:
    key = f"{clerk.pk}:{records.pk}"
    if key not in _cache:
        _cache.clear()
        _cache[key] = _history(clerk, records)
    return _cache[key]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_order_of_the_same_merges_gives_the_same_tables(clerk, records, data):
    events, (a, b, c, d, late) = _history_once(clerk, records)
    expected = _replay(sorted(events, key=lambda e: e.order_key))
    # A into B stands (earlier than A into D); B into C is undone; C into A would close a
    # cycle C -> A -> B -> C only while B into C stood: now C is merged into A, so all
    # three show under B.
    assert dict(MergedPatient.objects.values_list("uhid", "survivor")) == {a: b, c: b}
    conflicts = {(p.duplicate, p.survivor) for p in queries.merge_conflicts()}
    assert conflicts == {(a, d)}
    assert queries.group_of(c) == sorted([b, a, c], key=lambda u: (u != b, u))
    assert late in [v.visit_no for v in queries.visits_of(c)]
    shuffled = data.draw(st.permutations(events))
    assert _replay(shuffled) == expected


def test_rebuild_reproduces_the_merge_tables(clerk, records):
    _history(clerk, records)
    live = projection.dump()
    assert live["registration.PatientMerge"] and live["registration.MergedPatient"]
    result = CliRunner().invoke(main, ["rebuild", "--check"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert projection.dump() == live
    assert PatientMerge.objects.count() == 2


def test_clashing_merges_made_apart_are_listed_for_the_records_team(clerk, records, api_as):
    events, (a, _, _, d, _) = _history(clerk, records)
    _replay(events)  # as sync would bring them
    response = api_as(records).get("/api/v1/merge-conflicts")
    assert response.status_code == 200
    [conflict] = response.json()
    assert (conflict["duplicate"], conflict["survivor"], conflict["merged"]) == (a, d, True)
    assert conflict["shows_under"] != d
    assert "merged into" in conflict["conflict"] and "first" in conflict["conflict"]
    assert conflict["node"] == "lab-main"
    # Unmerging the pair that gave way resolves it.
    body = {"survivor": d, "duplicate": a, "reason": "the earlier merge is right"}
    assert api_as(records).post("/api/v1/patients/unmerge", body).status_code == 200
    assert api_as(records).get("/api/v1/merge-conflicts").json() == []
    assert api_as(clerk).get("/api/v1/merge-conflicts").status_code == 403


FOUR = [UHID.format(101, n) for n in range(1, 5)]


@st.composite
def merge_events(draw: st.DrawFn) -> list:
    """Merges and unmerges among four UHIDs, made on two nodes apart, at clashing times."""
    chains = [Chain(name, keys.generate(), "0" * 64) for name in ("edge-a", "edge-b")]
    made = []
    for _ in range(draw(st.integers(1, 12))):
        duplicate, survivor = draw(st.permutations(FOUR))[:2]
        kind = draw(st.sampled_from([PATIENTS_MERGED, PATIENTS_MERGED, PATIENTS_UNMERGED]))
        chain = draw(st.sampled_from(chains))
        at = HLC(1_800_000_000_000 + draw(st.integers(0, 6)), 0)  # ties of wall time too
        body = {"survivor": survivor, "duplicate": duplicate, "reason": "apart"}
        made.append(chain.next(kind, body, f"patient:{duplicate}", at))
    return made


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(made=merge_events(), data=st.data())
def test_any_merges_and_unmerges_made_apart_converge_in_any_order(hospital, made, data):
    expected = _replay(made)
    assert _replay(data.draw(st.permutations(made))) == expected
    survivors = dict(MergedPatient.objects.values_list("uhid", "survivor"))
    assert not set(survivors.values()) & set(survivors)  # every chain followed to its end
    # Every pair merged and not shown as a conflict is followed; nobody is lost.
    for pair in PatientMerge.objects.filter(merged=True, overridden=""):
        assert survivors[pair.duplicate] == survivors.get(pair.survivor, pair.survivor)
