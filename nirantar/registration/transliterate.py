"""Offer a name's form in the other script: Latin -> Devanagari and back.

indic-transliteration converts between schemes exactly, but by Sanskrit rules:
it keeps the final schwa (राम -> "rAma") and reads ordinary English spellings as
a scheme they are not ("Ram Kumar Sharma" as ITRANS gives nonsense). So:

1. Whole words are looked up first in a lexicon: the CMU Indian Names Corpus
   (8,726 given names in both scripts, CC BY 3.0, see data/) plus common
   surnames and name words.
2. Otherwise an English spelling is rewritten into ITRANS by a few phonetic
   rules (aa/ee/oo, a final -a is long, n before a consonant is an anusvara)
   and converted; a Devanagari word is converted to ITRANS and the
   inherent final vowel dropped, as Hindi speakers drop it.

It is a suggestion for the clerk, who accepts or edits it; it is never stored
without a person seeing it.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"

# Common surnames and name words, as they are usually written in each script.
EXTRA_WORDS = """
Sharma शर्मा|Verma वर्मा|Gupta गुप्ता|Singh सिंह|Devi देवी|Kumari कुमारी|Kumar कुमार|Yadav यादव
Mishra मिश्रा|Tiwari तिवारी|Pandey पांडेय|Chauhan चौहान|Jain जैन|Agarwal अग्रवाल|Khan ख़ान
Ahmed अहमद|Ahmad अहमद|Mohammad मोहम्मद|Mohd मोहम्मद|Mohammed मोहम्मद|Ali अली|Prasad प्रसाद
Lal लाल|Chand चंद|Das दास|Patel पटेल|Shah शाह|Mehta मेहता|Joshi जोशी|Dubey दुबे|Trivedi त्रिवेदी
Tripathi त्रिपाठी|Chaturvedi चतुर्वेदी|Dwivedi द्विवेदी|Srivastava श्रीवास्तव|Saxena सक्सेना
Rastogi रस्तोगी|Kushwaha कुशवाहा|Maurya मौर्य|Rajput राजपूत|Thakur ठाकुर|Chaudhary चौधरी
Rao राव|Reddy रेड्डी|Nair नायर|Iyer अय्यर|Bano बानो|Begum बेगम|Khatoon ख़ातून|Bibi बीबी
Kaur कौर|Meena मीणा|Paswan पासवान|Rai राय|Sinha सिन्हा|Jha झा|Mandal मंडल|Sahu साहू|Sen सेन
Ghosh घोष|Banerjee बनर्जी|Mukherjee मुखर्जी|Chatterjee चटर्जी|Bose बोस|Dutta दत्ता|Nath नाथ
Shukla शुक्ला|Awasthi अवस्थी|Bajpai बाजपेयी|Nigam निगम|Soni सोनी|Vishwakarma विश्वकर्मा
Prajapati प्रजापति|Nishad निषाद|Rathore राठौर|Chandra चंद्र|Shyam श्याम|Ram राम|Sita सीता
Gita गीता|Geeta गीता|Sunita सुनीता|Anita अनीता|Rekha रेखा|Pooja पूजा|Puja पूजा|Kamla कमला
Ramesh रमेश|Suresh सुरेश|Mahesh महेश|Rajesh राजेश|Mukesh मुकेश|Dinesh दिनेश|Ganesh गणेश
Rakesh राकेश|Santosh संतोष|Manoj मनोज|Vinod विनोद|Ashok अशोक|Anil अनिल|Sunil सुनील
Rahul राहुल|Amit अमित|Sanjay संजय|Vijay विजय|Ajay अजय|Raju राजू|Babu बाबू|Bhai भाई|Ben बेन
Begam बेगम|Fatima फ़ातिमा|Ayesha आयशा|Abdul अब्दुल|Rahman रहमान|Hussain हुसैन|Hasan हसन
Yusuf यूसुफ़|Iqbal इक़बाल|Salim सलीम|Shabana शबाना|Rubina रुबीना|Nasreen नसरीन|Kishan किशन
Krishna कृष्ण|Radha राधा|Laxmi लक्ष्मी|Lakshmi लक्ष्मी|Saraswati सरस्वती|Durga दुर्गा|Parvati पार्वती
Om ओम|Prakash प्रकाश|Narayan नारायण|Shankar शंकर|Shiv शिव|Hari हरि|Gopal गोपाल|Mohan मोहन
Sohan सोहन|Rohan रोहन|Kamal कमल|Vimal विमल|Nirmal निर्मल|Bablu बबलू|Pappu पप्पू|Munni मुन्नी
"""

_WORD_RE = re.compile(r"[A-Za-z]+|[\u0900-\u097F\u200C\u200D]+|[^A-Za-z\u0900-\u097F\u200C\u200D]+")
_VOWELS = set("aeiou")


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, str], dict[str, str]]:
    to_hi: dict[str, str] = {}
    to_en: dict[str, str] = {}

    def add(latin: str, deva: str, prefer: bool) -> None:
        key = latin.lower()
        if prefer or key not in to_hi:
            to_hi[key] = deva
        if prefer or deva not in to_en:
            to_en[deva] = latin

    path = DATA / "cmu_indian_names.tsv"
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            for row in csv.reader(handle, delimiter="\t"):
                if len(row) == 2 and row[0] != "english" and row[0] and row[1]:
                    add(row[0].strip(), row[1].strip(), prefer=False)
    for pair in re.split(r"[|\n]", EXTRA_WORDS):
        if pair.strip():
            latin, deva = pair.split()
            add(latin, deva, prefer=True)
    return to_hi, to_en


def _english_to_itrans(word: str) -> str:
    w = word.lower()
    for old, new in (
        ("aa", "A"),
        ("ee", "I"),
        ("ii", "I"),
        ("oo", "U"),
        ("uu", "U"),
        ("ksh", "kSh"),
        ("ck", "k"),
        ("w", "v"),
        ("q", "k"),
        ("x", "ks"),
    ):
        w = w.replace(old, new)
    w = re.sub(r"c(?!h)", "k", w)
    # n before a consonant of another class is written as an anusvara (ं).
    w = re.sub(r"n(?=[kgcjtdpb])", "M", w)
    if w.endswith("a") and len(w) > 1 and w[-2] not in _VOWELS:
        w = w[:-1] + "A"
    elif w.endswith("i") and len(w) > 1:
        w = w[:-1] + "I"
    elif w[-1:] not in _VOWELS and w[-1:] not in ("A", "I", "U", "M"):
        w += "a"  # a final consonant carries its inherent vowel, not a virama
    return w


_ITRANS_TO_PLAIN = (
    ("R^i", "ri"),
    ("RRi", "ri"),
    ("j~n", "gy"),
    ("GY", "gy"),
    ("kSh", "ksh"),
    ("x", "ksh"),
    ("Ch", "chh"),
    ("Sh", "sh"),
    ("~N", "n"),
    ("~n", "n"),
    (".N", "n"),
    (".n", "n"),
    (".h", ""),
    (".a", ""),
    ("^", ""),
    ("M", "n"),
    ("A", "a"),
    ("I", "i"),
    ("U", "u"),
    ("T", "t"),
    ("D", "d"),
    ("N", "n"),
    ("H", "h"),
    ("E", "e"),
    ("O", "o"),
    ("L", "l"),
)


def _devanagari_to_english(word: str) -> str:
    from indic_transliteration import sanscript  # see matching._itrans_to_latin

    itrans = sanscript.transliterate(word, sanscript.DEVANAGARI, sanscript.ITRANS)
    # Hindi drops the inherent vowel at the end of a word (राम is "Ram", not "Rama"),
    # but not after a conjunct (चंद्र is "Chandra").
    after_conjunct = len(word) > 2 and word[-2] == "\u094d"
    if (
        len(itrans) > 2
        and itrans.endswith("a")
        and itrans[-2] not in "aeiouAEIOU"
        and not after_conjunct
    ):
        itrans = itrans[:-1]
    for old, new in _ITRANS_TO_PLAIN:
        itrans = itrans.replace(old, new)
    itrans = re.sub(r"[^A-Za-z]", "", itrans)
    return itrans[:1].upper() + itrans[1:]


def _known_or_compound(word: str, lexicon: dict[str, str]) -> str | None:
    """A word from the lexicon, or two joined (Santram = Sant + Ram, Ranvijay = Ran + Vijay)."""
    key = word.lower()
    if key in lexicon:
        return lexicon[key]
    for split in range(len(key) - 2, 2, -1):
        head, tail = lexicon.get(key[:split]), lexicon.get(key[split:])
        if head and tail:
            return head + tail
    return None


def to_devanagari(text: str) -> str:
    """A Devanagari suggestion for a name typed in Latin letters."""
    from indic_transliteration import sanscript  # see matching._itrans_to_latin

    to_hi, _ = _lexicon()
    out = []
    for part in _WORD_RE.findall(text or ""):
        if part.isascii() and part.isalpha():
            out.append(
                _known_or_compound(part, to_hi)
                or sanscript.transliterate(
                    _english_to_itrans(part), sanscript.ITRANS, sanscript.DEVANAGARI
                )
            )
        else:
            out.append(part)
    return "".join(out)


def to_latin(text: str) -> str:
    """A Latin-letter suggestion for a name typed in Devanagari."""
    _, to_en = _lexicon()
    out = []
    for part in _WORD_RE.findall(text or ""):
        if re.fullmatch(r"[\u0900-\u097F\u200C\u200D]+", part):
            out.append(to_en.get(part) or _devanagari_to_english(part))
        else:
            out.append(part)
    return "".join(out)


def suggest(text: str) -> tuple[str, str]:
    """(script of the suggestion, suggestion) for whatever the clerk typed."""
    if re.search(r"[\u0900-\u097F]", text or ""):
        return "en", to_latin(text)
    return "hi", to_devanagari(text)
