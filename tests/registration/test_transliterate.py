import pytest

from nirantar.registration.transliterate import suggest, to_devanagari, to_latin


@pytest.mark.parametrize(
    ("latin", "devanagari"),
    [
        ("Ram Kumar Sharma", "राम कुमार शर्मा"),
        ("Sunita Devi", "सुनीता देवी"),
        ("Priyanka Tripathi", "प्रियंका त्रिपाठी"),
        ("Harpreet Kaur", "हरप्रीत कौर"),
    ],
)
def test_common_names_round_trip(latin, devanagari):
    assert to_devanagari(latin) == devanagari
    assert to_latin(devanagari) == latin


def test_an_unknown_english_spelling_is_read_phonetically():
    # Not in the lexicon: "oo" is ऊ and a final -a is long.
    assert to_devanagari("Bhoomika") == "भूमिका"


def test_a_compound_of_two_known_names_is_joined():
    assert to_devanagari("Shivnarayan Ramprasad") == "शिवनारायण रामप्रसाद"


def test_the_inherent_final_vowel_is_dropped_as_hindi_speakers_do():
    assert to_latin("कमलेश") == "Kamlesh" or to_latin("कमलेश").startswith("Kamal")
    assert to_latin("चंद्र") == "Chandra"


def test_suggest_offers_the_other_script():
    assert suggest("राम") == ("en", "Ram")
    assert suggest("Ram") == ("hi", "राम")
