from datetime import date
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.matching import confusion
from bench.matching_pairs import pairs
from nirantar.registration import matching
from nirantar.registration.matching import (
    THRESHOLD,
    Record,
    blocking_keys,
    compare,
    could_match,
    from_patient,
    likely_duplicates,
    name_tokens,
    phonetic_key,
    score,
)


@pytest.mark.parametrize(
    "spellings",
    [
        ["राम", "Ram", "Raam", "Rama"],
        ["सुनीता", "Sunita", "Suneeta", "Sunitaa"],
        ["मोहम्मद सलीम", "Mohd. Salim", "Md Saleem", "Mohammad Salim", "Muhammad Salim"],
        ["कमलेश", "Kamlesh", "Kamalesh"],
        ["गुरप्रीत", "Gurpreet", "Gurprit"],
        ["कृष्ण", "Krishna", "Krishn"],
        ["लक्ष्मी", "Laxmi", "Lakshmi"],
        ["शंभु", "Shambhu", "Sambhu"],
        ["चौहान", "Chauhan", "Chouhan"],
        ["पांडेय", "Pandey", "Pande", "Pandeya"],
        ["ज़ाहिद", "Zahid", "Jahid"],
        ["क़ुरैशी", "Qureshi", "Quraishi"],
        ["विजय", "Vijay", "Vijai"],
        ["आदित्य", "Aditya", "Aaditya"],
        ["झा", "Jha", "Jhaa"],
        ["राय", "Rai", "Ray"],
        ["श्रीमती सुनीता देवी शर्मा", "Smt. Suneeta Sharma", "Sunita Devi Sharma"],
    ],
)
def test_spellings_and_scripts_of_one_name_share_a_phonetic_key(spellings):
    keys = {phonetic_key(s) for s in spellings}
    assert len(keys) == 1, dict(zip(spellings, [phonetic_key(s) for s in spellings], strict=True))


@pytest.mark.parametrize(
    ("one", "other"),
    [("Ram", "Shyam"), ("Sunita", "Sunil"), ("Ramesh", "Suresh"), ("सीता", "गीता")],
)
def test_different_names_keep_different_keys(one, other):
    assert phonetic_key(one) != phonetic_key(other)


def test_titles_and_filler_words_are_dropped_and_initials_kept():
    assert name_tokens("Shri R. K. Sharma") == ("r.", "k.", "sarm")
    assert name_tokens("आर. के. शर्मा") == ("r.", "k.", "sarm")
    assert name_tokens("Dr. Ram Kumar Sharma") == ("ram", "sarm")
    assert name_tokens("Kumari Pooja") == ("puj",)
    assert name_tokens("") == ()
    assert name_tokens("Shri") == ()


@pytest.mark.parametrize("spelling", ["मोहम्मद", "Mohd.", "Md", "Mohammad", "Muhammad", "मो."])
def test_mohammad_alone_is_a_name_in_every_spelling(spelling):
    assert phonetic_key(spelling) == "mohmad"
    assert phonetic_key(f"{spelling} Salim") == "salim"


def person(**fields):
    base = {
        "name_en": "Sunita Sharma",
        "name_hi": "",
        "sex": "F",
        "birth_date": date(1990, 5, 17),
        "guardian_relation": "D/O",
        "guardian_name": "Ramesh Sharma",
        "mobile": "9876543210",
        "district": "sitapur",
    }
    base.update(fields)
    return Record(**base)


def test_the_same_person_in_two_scripts_matches_with_the_evidence():
    latin = person()
    devanagari = person(name_en="", name_hi="श्रीमती सुनीता शर्मा", guardian_name="रमेश शर्मा")
    match = compare(latin, devanagari)
    assert match.score > 0.99
    assert match.is_likely
    assert match.of("name").agreement == "same"
    assert match.of("guardian").agreement == "same"
    assert match.of("birth").agreement == "same"
    assert match.of("mobile").agreement == "same"
    assert "sunit sarm" in match.of("name").detail


def test_swapped_names_and_an_initial_still_match():
    match = compare(person(name_en="Ram Kumar Sharma"), person(name_en="Sharma R."))
    assert match.of("name").agreement in ("close", "same")
    assert "another order" in match.of("name").detail
    assert "initial" in match.of("name").detail


def test_a_sibling_sharing_the_phone_and_father_is_not_a_match():
    sister = person(name_en="Anita Sharma", birth_date=None)
    match = compare(person(), sister)
    assert match.of("mobile").agreement == "same"
    assert match.of("guardian").agreement == "same"
    assert match.of("name").agreement == "differs"
    assert not match.is_likely


def test_a_father_named_as_the_guardian_is_a_relative_not_the_same_person():
    father = person(name_en="Ramesh Sharma", sex="M", guardian_name="Mohan Sharma", birth_date=None)
    son = person(name_en="Ramesh Sharma", sex="M", guardian_name="Ramesh Sharma", birth_date=None)
    match = compare(father, son)
    assert match.of("relative") is not None
    assert not match.is_likely


def test_sex_and_birth_date_that_differ_weigh_against():
    # Everything else the same: a wrong sex is more likely a slip of the clerk's hand...
    other_sex = compare(person(), person(sex="M"))
    assert other_sex.of("sex").weight < 0
    assert other_sex.score < compare(person(), person()).score
    # ... but with only the name, husband and wife are not one person.
    assert not compare(person(birth_date=None), person(sex="M", birth_date=None)).is_likely
    assert compare(person(), person(birth_date=date(1960, 1, 1))).of("birth").agreement == (
        "differs"
    )
    typo = compare(person(), person(birth_date=date(1990, 5, 18)))
    assert typo.of("birth").agreement == "typo"
    age = compare(person(), person(birth_date=date(1991, 1, 1), birth_estimated=True))
    assert age.of("birth").agreement == "fits"


def test_missing_fields_count_neither_way():
    bare = Record(name_en="Sunita Sharma")
    match = compare(person(), bare)
    assert match.of("birth").agreement == "missing"
    assert match.of("guardian").agreement == "missing"
    assert match.of("mobile") is None
    assert 0 <= match.score <= 1
    assert compare(Record(), Record()).score < THRESHOLD


def test_comparison_is_symmetric():
    for pair in pairs(200, seed=7):
        assert compare(pair.left, pair.right).score == pytest.approx(
            compare(pair.right, pair.left).score
        )


def test_the_quick_score_is_the_score_of_the_evidence():
    for pair in pairs(300, seed=13):
        assert score(pair.left, pair.right) == pytest.approx(
            compare(pair.left, pair.right).score, abs=1e-12
        )


def test_the_cheap_screen_never_turns_away_a_pair_the_score_would_keep():
    for threshold in (0.3, THRESHOLD, 0.9):
        for pair in pairs(400, seed=9):
            match = compare(pair.left, pair.right)
            if match.score >= threshold:
                assert could_match(pair.left, pair.right, threshold)
    assert not could_match(person(), person(sex="M", birth_date=date(1950, 1, 1)))


def test_likely_duplicates_ranks_the_candidates_above_the_threshold():
    me = person()
    sister = person(name_en="Anita Sharma", birth_date=date(1994, 1, 1))
    again = person(name_en="", name_hi="सुनीता शर्मा")
    found = likely_duplicates(me, [sister, again])
    assert [record for record, _ in found] == [again]
    assert found[0][1].score >= THRESHOLD


def test_likely_duplicates_keeps_exactly_what_the_score_keeps():
    # The screen and the early stop inside must not change which candidates come back.
    generated = pairs(300, seed=17)
    for pair in generated:
        kept = bool(likely_duplicates(pair.left, [pair.right]))
        assert kept == (compare(pair.left, pair.right).score >= THRESHOLD)
    with pytest.raises(ValueError):
        likely_duplicates(person(), [], threshold=1.0)


def test_a_duplicate_shares_a_blocking_key_in_either_script():
    latin = person(mobile="")
    devanagari = person(name_en="", name_hi="सुनीता शर्मा", mobile="", birth_date=None)
    assert blocking_keys(latin) & blocking_keys(devanagari)
    assert "m:9876543210" in blocking_keys(person())


@pytest.mark.parametrize("filed_year", range(1985, 1995))
@pytest.mark.parametrize("gap", [-2, -1, 0, 1, 2])
def test_birth_years_two_apart_meet_on_the_name_and_year_key(filed_year, gap):
    def bare(year):
        return Record(name_en="Sunita", sex="F", birth_date=date(year, 6, 1))

    filed = blocking_keys(bare(filed_year))
    search = blocking_keys(bare(filed_year + gap), for_search=True)
    assert len(search) == 1
    assert search & filed


def test_blocking_keys_do_not_put_everyone_together():
    one = blocking_keys(person(name_en="Sunita Sharma", mobile="9000000001"))
    other = blocking_keys(
        person(name_en="Mohan Yadav", guardian_name="Hari Yadav", mobile="9000000002")
    )
    assert not one & other
    assert blocking_keys(Record()) == set()


def test_swapped_names_share_a_blocking_key():
    a = person(name_en="Sunita Sharma", birth_date=None, mobile="", guardian_name="")
    b = person(name_en="Sharma Sunita", birth_date=None, mobile="", guardian_name="")
    assert blocking_keys(a) & blocking_keys(b)


def test_a_patient_model_converts_to_a_record():
    patient = SimpleNamespace(
        name_en="Sunita Sharma",
        name_hi="सुनीता शर्मा",
        sex="F",
        date_of_birth=date(1990, 5, 17),
        dob_estimated=False,
        guardian_relation="D/O",
        guardian_name="Ramesh Sharma",
        mobile="9876543210",
        district="Sitapur",
    )
    record = from_patient(patient)
    assert record.district == "sitapur"
    assert compare(record, person()).score > 0.99


def test_generated_pairs_are_reproducible_and_balanced():
    first, again = pairs(50, seed=3), pairs(50, seed=3)
    assert first == again
    assert sum(p.same for p in first) == 25


def test_precision_and_recall_on_a_small_labelled_set():
    # Lower than the goal (0.98 / 0.90 on 10,000 pairs, docs/matching.md) so the test is
    # stable on 500 pairs, but a broken phonetic layer or weight fails it.
    generated = pairs(500, seed=11)
    labelled = [(p, compare(p.left, p.right).score) for p in generated]
    result = confusion(labelled, THRESHOLD)
    assert result["precision"] >= 0.95
    assert result["recall"] >= 0.85
    blocked = [
        p
        for p in generated
        if p.same and blocking_keys(p.right, for_search=True) & blocking_keys(p.left)
    ]
    assert len(blocked) >= 0.98 * sum(p.same for p in generated)


# Words from a small alphabet, so that pairs of equal similarity (ties) are common.
_word = st.text(alphabet="aeiksr", min_size=1, max_size=5) | st.sampled_from(
    ["sunit", "sunet", "sarm", "devi", "ram", "kumar", "k.", "s."]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_word, min_size=2, max_size=2), st.lists(_word, min_size=2, max_size=2))
def test_two_words_each_agree_as_the_general_comparison_says(left, right):
    """Names of two words each (most names) take a short way through ``compare_names``:
    it must give exactly the general answer, ties between word pairs included."""
    left, right = tuple(left), tuple(right)
    assert matching.compare_names.__wrapped__(left, right) == matching._compare_names(left, right)
