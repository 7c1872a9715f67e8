"""The tariff: what each service costs, in integer paise, and who is waived what.

A versioned catalogue in code, like the laboratory's: every node runs the same code, so
every node prices the same event the same way. A charge is priced by the version in
force on the hospital's local day it arose (``price(code, day)``); a new version is a
new entry in ``VERSIONS`` with the day it takes effect, and older charges keep their
price.

The figures are illustrative, shaped on a central government teaching hospital's
published user charges (registration Rs 10, a routine blood count about Rs 100, a
general ward bed a few tens of rupees a day, a private ward about Rs 1,000 to 3,000):
a hospital loads its own schedule here before going live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nirantar.lab import catalogue as lab_catalogue
from nirantar.wards.events import WARD_KINDS

KINDS = ("registration", "consultation", "lab", "bed_day", "procedure")


@dataclass(frozen=True)
class Item:
    code: str
    kind: str  # one of KINDS
    name_en: str
    name_hi: str
    price: int  # paise


def rupees(amount: int) -> int:
    return amount * 100


# Laboratory tests: each test in the laboratory's catalogue has a price here (a test
# added there without one here is priced by LAB_DEFAULT and named in tests/billing).
LAB_PRICES = {
    "CBC": 100,
    "ESR": 30,
    "LFT": 225,
    "KFT": 225,
    "LIPID": 200,
    "FBS": 25,
    "PPBS": 25,
    "RBS": 25,
    "HBA1C": 300,
    "TFT": 400,
    "CRP": 150,
    "URINE": 40,
    "MP": 50,
    "WIDAL": 60,
    "NS1": 350,
    "BLDCS": 350,
    "URCS": 250,
}
LAB_DEFAULT = 100

BED_DAY_PRICES = {
    "general": (35, "General ward bed-day", "सामान्य वार्ड शैय्या-दिवस"),
    "paediatric": (35, "Paediatric ward bed-day", "बाल रोग वार्ड शैय्या-दिवस"),
    "maternity": (35, "Maternity ward bed-day", "प्रसूति वार्ड शैय्या-दिवस"),
    "emergency": (35, "Emergency observation bed-day", "आपातकालीन अवलोकन शैय्या-दिवस"),
    "icu": (1500, "ICU bed-day", "आईसीयू शैय्या-दिवस"),
    "private": (2000, "Private ward bed-day", "निजी वार्ड शैय्या-दिवस"),
}

PROCEDURES = {
    "DRESSING": (50, "Dressing (small)", "ड्रेसिंग (छोटी)"),
    "SUTURE": (100, "Suturing of a wound", "घाव की सिलाई"),
    "ECG": (50, "Electrocardiogram (ECG)", "ईसीजी"),
    "XRAY": (100, "X-ray, one view", "एक्स-रे (एक दृश्य)"),
    "USG": (300, "Ultrasound, abdomen", "अल्ट्रासाउंड (पेट)"),
    "CATH": (150, "Urinary catheterisation", "मूत्र कैथेटर"),
}


def _version_2025() -> dict[str, Item]:
    items = [
        Item("REG", "registration", "Registration (new UHID)", "पंजीकरण (नया यूएचआईडी)", rupees(10)),
        Item("OPD", "consultation", "OPD consultation", "ओपीडी परामर्श", rupees(10)),
    ]
    for code, test in lab_catalogue.TESTS.items():
        price = LAB_PRICES.get(code, LAB_DEFAULT)
        items.append(Item(f"LAB-{code}", "lab", test.name_en, test.name_hi, rupees(price)))
    for kind in WARD_KINDS:
        price, en, hi = BED_DAY_PRICES[kind]
        items.append(Item(f"BED-{kind.upper()}", "bed_day", en, hi, rupees(price)))
    for code, (price, en, hi) in PROCEDURES.items():
        items.append(Item(f"PROC-{code}", "procedure", en, hi, rupees(price)))
    return {item.code: item for item in items}


# (the first local day it applies to, its items), oldest first.
VERSIONS: list[tuple[date, dict[str, Item]]] = [(date(2025, 4, 1), _version_2025())]


def version_on(day: date) -> tuple[date, dict[str, Item]]:
    """The tariff in force on ``day`` (the oldest one for a day before any)."""
    found = VERSIONS[0]
    for version in VERSIONS:
        if version[0] <= day:
            found = version
    return found


def item(code: str, day: date) -> Item | None:
    return version_on(day)[1].get(code)


def current() -> dict[str, Item]:
    return VERSIONS[-1][1]


# -- patient categories and waivers ---------------------------------------------------
# The categories are registration's (registration.catalogue.CATEGORIES). A waiver is a
# percentage of a charge's price, by category, by kind of item, and - for PM-JAY, which
# covers hospitalisation, not the outpatient department - by whether the charge arose
# during an admission. A category not listed pays in full.

FULL = 100
WAIVERS: dict[str, dict[str, int]] = {
    # Below the poverty line: every service of the hospital free.
    "bpl": dict.fromkeys(KINDS, FULL),
    # Free service (destitute, unknown, court or police cases): everything free.
    "free": dict.fromkeys(KINDS, FULL),
    # Staff and their dependants: outpatient care and tests free, half the ward and
    # procedure charges.
    "staff": {
        "registration": FULL,
        "consultation": FULL,
        "lab": FULL,
        "bed_day": 50,
        "procedure": 50,
    },
    # PM-JAY (Ayushman Bharat): the scheme pays for the admission (claimed separately),
    # so nothing is collected for bed-days, procedures or tests ordered on a ward.
    "pmjay": {"bed_day": FULL, "procedure": FULL, "lab_inpatient": FULL},
}


def waiver_percent(category: str, kind: str, inpatient: bool = False) -> int:
    rules = WAIVERS.get(category or "general", {})
    if kind == "lab" and inpatient and "lab_inpatient" in rules:
        return rules["lab_inpatient"]
    return rules.get(kind, 0)


def waived(price: int, percent: int) -> int:
    """The paise waived of ``price`` at ``percent``, in whole paise rounded down (the
    tariff's prices are whole rupees, so the waivers listed never need rounding)."""
    return price * percent // 100
