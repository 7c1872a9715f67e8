"""The demo laboratory catalogue: what a doctor may order, what each order measures,
and how an analyser names it.

An **order code** (CBC, LFT, ...) is what a doctor orders and a sample is collected for.
It measures one or more **analytes**, each with its LOINC code, unit, method and
reference ranges by sex and age band, and critical limits that must reach a doctor at
once. Analysers send their own codes for analytes (``INSTRUMENTS``). Ranges are common
adult/child ranges from Indian laboratory practice, for demonstration; a hospital
replaces them with its own validated ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Range:
    low: float | None
    high: float | None
    sex: str = ""  # "" for both, else M or F
    min_years: int = 0  # the band: from this age (inclusive) ...
    max_years: int = 200  # ... to this one (exclusive)


@dataclass(frozen=True)
class Analyte:
    code: str
    name: str
    loinc: str
    unit: str
    method: str
    ranges: tuple[Range, ...] = ()
    critical_low: float | None = None
    critical_high: float | None = None
    decimals: int = 1
    qualitative: bool = False  # a text result (Negative, Nil, ...), no numeric range
    normal_text: str = ""  # the unremarkable text result of a qualitative test

    def range_for(self, sex: str, years: int) -> Range | None:
        for r in self.ranges:
            if r.sex in ("", sex) and r.min_years <= years < r.max_years:
                return r
        return None


@dataclass(frozen=True)
class LabTest:
    code: str
    name_en: str
    name_hi: str
    section: str  # biochemistry | haematology | microbiology | clinical pathology
    specimen: str
    container: str = ""
    analytes: tuple[str, ...] = field(default_factory=tuple)
    # Drawn at its own time (fasting, two hours after a meal): never shares a sample.
    own_sample: bool = False
    # The LOINC panel code of a test of several analytes, where LOINC has one that fits;
    # a test of one analyte is coded by that analyte's LOINC code (see ``loinc_of``).
    loinc: str = ""


def _a(code, name, loinc, unit, method, ranges=(), crit=(None, None), decimals=1, **kw):  # type: ignore[no-untyped-def]
    return Analyte(code, name, loinc, unit, method, tuple(ranges), crit[0], crit[1], decimals, **kw)


R = Range
ANALYTES: dict[str, Analyte] = {
    a.code: a
    for a in (
        # Haematology (EDTA whole blood, cell counter)
        _a(
            "HGB",
            "Haemoglobin",
            "718-7",
            "g/dL",
            "SLS-haemoglobin",
            [R(11.0, 15.5, "", 0, 12), R(13.0, 17.0, "M", 12), R(12.0, 15.0, "F", 12)],
            (7.0, 20.0),
        ),
        _a(
            "WBC",
            "Total leucocyte count",
            "6690-2",
            "10^3/uL",
            "Flow cytometry",
            [R(5.0, 15.0, "", 0, 12), R(4.0, 11.0, "", 12)],
            (2.0, 30.0),
        ),
        _a(
            "RBC",
            "Red cell count",
            "789-8",
            "10^6/uL",
            "Impedance",
            [R(4.0, 5.2, "", 0, 12), R(4.5, 5.5, "M", 12), R(3.8, 4.8, "F", 12)],
            decimals=2,
        ),
        _a(
            "HCT",
            "Haematocrit",
            "4544-3",
            "%",
            "Calculated",
            [R(34, 45, "", 0, 12), R(40, 50, "M", 12), R(36, 46, "F", 12)],
        ),
        _a("MCV", "Mean cell volume", "787-2", "fL", "Calculated", [R(83, 101)]),
        _a("PLT", "Platelet count", "777-3", "10^3/uL", "Impedance", [R(150, 410)], (20, 1000), 0),
        _a(
            "ESR",
            "Erythrocyte sedimentation rate",
            "4537-7",
            "mm/h",
            "Westergren",
            [R(0, 15, "M"), R(0, 20, "F"), R(0, 20)],
            decimals=0,
        ),
        # Biochemistry (serum / plasma, chemistry analyser)
        _a("TBIL", "Bilirubin, total", "1975-2", "mg/dL", "Diazo", [R(0.3, 1.2)], (None, 15.0)),
        _a("DBIL", "Bilirubin, direct", "1968-7", "mg/dL", "Diazo", [R(0.0, 0.3)]),
        _a(
            "ALT",
            "ALT (SGPT)",
            "1742-6",
            "U/L",
            "IFCC",
            [R(0, 50, "M"), R(0, 35, "F"), R(0, 40)],
            decimals=0,
        ),
        _a("AST", "AST (SGOT)", "1920-8", "U/L", "IFCC", [R(0, 40)], decimals=0),
        _a(
            "ALP",
            "Alkaline phosphatase",
            "6768-6",
            "U/L",
            "IFCC",
            [R(100, 390, "", 0, 12), R(44, 147, "", 12)],
            decimals=0,
        ),
        _a("ALB", "Albumin", "1751-7", "g/dL", "BCG", [R(3.5, 5.2)]),
        _a("TP", "Total protein", "2885-2", "g/dL", "Biuret", [R(6.4, 8.3)]),
        _a("UREA", "Urea", "3091-6", "mg/dL", "Urease-GLDH", [R(15, 40)], (None, 200), 0),
        _a(
            "CREAT",
            "Creatinine",
            "2160-0",
            "mg/dL",
            "Jaffe",
            [R(0.3, 0.7, "", 0, 12), R(0.7, 1.3, "M", 12), R(0.6, 1.1, "F", 12)],
            (None, 10.0),
            2,
        ),
        _a("NA", "Sodium", "2951-2", "mmol/L", "ISE", [R(135, 145)], (120, 160), 0),
        _a("K", "Potassium", "2823-3", "mmol/L", "ISE", [R(3.5, 5.1)], (2.8, 6.2)),
        _a("CL", "Chloride", "2075-0", "mmol/L", "ISE", [R(98, 107)], decimals=0),
        _a(
            "URIC",
            "Uric acid",
            "3084-1",
            "mg/dL",
            "Uricase",
            [R(3.4, 7.0, "M"), R(2.4, 6.0, "F"), R(2.4, 7.0)],
        ),
        _a("CHOL", "Cholesterol, total", "2093-3", "mg/dL", "CHOD-PAP", [R(None, 200)], decimals=0),
        _a("TG", "Triglycerides", "2571-8", "mg/dL", "GPO-PAP", [R(None, 150)], decimals=0),
        _a(
            "HDL",
            "HDL cholesterol",
            "2085-9",
            "mg/dL",
            "Direct",
            [R(40, None, "M"), R(50, None, "F"), R(40, None)],
            decimals=0,
        ),
        _a("LDL", "LDL cholesterol", "13457-7", "mg/dL", "Calculated", [R(None, 100)], decimals=0),
        _a("GLUF", "Glucose, fasting", "1558-6", "mg/dL", "GOD-POD", [R(70, 100)], (40, 450), 0),
        _a(
            "GLUPP",
            "Glucose, 2 h after a meal",
            "1521-4",
            "mg/dL",
            "GOD-POD",
            [R(70, 140)],
            (40, 450),
            0,
        ),
        _a("GLUR", "Glucose, random", "2345-7", "mg/dL", "GOD-POD", [R(70, 140)], (40, 450), 0),
        _a("HBA1C", "HbA1c", "4548-4", "%", "HPLC", [R(4.0, 5.6)]),
        _a("T3", "T3, total", "3053-6", "ng/dL", "CLIA", [R(80, 200)], decimals=0),
        _a("T4", "T4, total", "3026-2", "ug/dL", "CLIA", [R(5.1, 14.1)]),
        _a("TSH", "TSH", "3016-3", "mIU/L", "CLIA", [R(0.27, 4.2)], decimals=2),
        _a("CRP", "C-reactive protein", "1988-5", "mg/L", "Turbidimetry", [R(0, 5)]),
        # Clinical pathology and microbiology: text results
        _a("U-PH", "Urine pH", "2756-5", "", "Dipstick", [R(5.0, 8.0)]),
        _a(
            "U-SG",
            "Urine specific gravity",
            "2965-2",
            "",
            "Dipstick",
            [R(1.005, 1.030)],
            decimals=3,
        ),
        _a(
            "U-PROT", "Urine protein", "2888-6", "", "Dipstick", qualitative=True, normal_text="Nil"
        ),
        _a("U-GLU", "Urine glucose", "2350-7", "", "Dipstick", qualitative=True, normal_text="Nil"),
        _a("U-PUS", "Pus cells", "5821-4", "/hpf", "Microscopy", [R(0, 5)], decimals=0),
        _a("U-RBC", "Red cells (urine)", "13945-1", "/hpf", "Microscopy", [R(0, 2)], decimals=0),
        _a(
            "MP",
            "Malaria parasite",
            "32700-7",
            "",
            "Smear and RDT",
            qualitative=True,
            normal_text="Not seen",
        ),
        _a(
            "WIDAL",
            "Widal (S. Typhi O)",
            "5317-3",
            "",
            "Slide agglutination",
            qualitative=True,
            normal_text="Below 1:80",
        ),
        _a(
            "NS1",
            "Dengue NS1 antigen",
            "75377-2",
            "",
            "ELISA",
            qualitative=True,
            normal_text="Negative",
        ),
        _a(
            "BLDCS",
            "Blood culture",
            "600-7",
            "",
            "Automated culture",
            qualitative=True,
            normal_text="No growth",
        ),
        _a(
            "URCS",
            "Urine culture",
            "630-4",
            "",
            "Culture",
            qualitative=True,
            normal_text="No growth",
        ),
    )
}

EDTA, SERUM, FLUORIDE, URINE_CUP = (
    "EDTA (lavender)",
    "plain/SST (red/yellow)",
    "fluoride (grey)",
    "urine container",
)
TESTS: dict[str, LabTest] = {
    t.code: t
    for t in (
        LabTest(
            "CBC",
            "Complete blood count",
            "पूर्ण रक्त गणना",
            "haematology",
            "EDTA blood",
            EDTA,
            ("HGB", "WBC", "RBC", "HCT", "MCV", "PLT"),
            loinc="58410-2",
        ),
        LabTest(
            "ESR",
            "Erythrocyte sedimentation rate",
            "ई.एस.आर.",
            "haematology",
            "EDTA blood",
            EDTA,
            ("ESR",),
        ),
        LabTest(
            "LFT",
            "Liver function tests",
            "यकृत कार्य जाँच",
            "biochemistry",
            "serum",
            SERUM,
            ("TBIL", "DBIL", "ALT", "AST", "ALP", "ALB", "TP"),
            loinc="24325-3",
        ),
        LabTest(
            "KFT",
            "Kidney function tests",
            "गुर्दा कार्य जाँच",
            "biochemistry",
            "serum",
            SERUM,
            ("UREA", "CREAT", "NA", "K", "CL", "URIC"),
            loinc="24362-6",
        ),
        LabTest(
            "LIPID",
            "Lipid profile",
            "लिपिड प्रोफ़ाइल",
            "biochemistry",
            "serum",
            SERUM,
            ("CHOL", "TG", "HDL", "LDL"),
            loinc="24331-1",
        ),
        LabTest(
            "FBS",
            "Blood glucose, fasting",
            "रक्त शर्करा (खाली पेट)",
            "biochemistry",
            "fluoride plasma",
            FLUORIDE,
            ("GLUF",),
            own_sample=True,
        ),
        LabTest(
            "PPBS",
            "Blood glucose, post-prandial",
            "रक्त शर्करा (भोजन के बाद)",
            "biochemistry",
            "fluoride plasma",
            FLUORIDE,
            ("GLUPP",),
            own_sample=True,
        ),
        LabTest(
            "RBS",
            "Blood glucose, random",
            "रक्त शर्करा (रैंडम)",
            "biochemistry",
            "fluoride plasma",
            FLUORIDE,
            ("GLUR",),
            own_sample=True,
        ),
        LabTest(
            "HBA1C",
            "Glycated haemoglobin (HbA1c)",
            "एचबीए1सी",
            "biochemistry",
            "EDTA blood",
            EDTA,
            ("HBA1C",),
        ),
        LabTest(
            "TFT",
            "Thyroid profile (T3, T4, TSH)",
            "थायरॉइड जाँच",
            "biochemistry",
            "serum",
            SERUM,
            ("T3", "T4", "TSH"),
        ),
        LabTest(
            "CRP",
            "C-reactive protein",
            "सी-रिएक्टिव प्रोटीन",
            "biochemistry",
            "serum",
            SERUM,
            ("CRP",),
        ),
        LabTest(
            "URINE",
            "Urine routine and microscopy",
            "मूत्र की सामान्य जाँच",
            "clinical pathology",
            "urine",
            URINE_CUP,
            ("U-PH", "U-SG", "U-PROT", "U-GLU", "U-PUS", "U-RBC"),
            loinc="24356-8",
        ),
        LabTest(
            "MP",
            "Malaria parasite (smear and rapid test)",
            "मलेरिया परजीवी जाँच",
            "microbiology",
            "EDTA blood",
            EDTA,
            ("MP",),
        ),
        LabTest("WIDAL", "Widal test", "विडाल जाँच", "microbiology", "serum", SERUM, ("WIDAL",)),
        LabTest(
            "NS1", "Dengue NS1 antigen", "डेंगू एनएस1 जाँच", "microbiology", "serum", SERUM, ("NS1",)
        ),
        LabTest(
            "BLDCS",
            "Blood culture and sensitivity",
            "रक्त कल्चर",
            "microbiology",
            "blood culture bottle",
            "blood culture bottle",
            ("BLDCS",),
        ),
        LabTest(
            "URCS",
            "Urine culture and sensitivity",
            "मूत्र कल्चर",
            "microbiology",
            "urine, sterile",
            "sterile urine container",
            ("URCS",),
        ),
    )
}

SECTIONS = ("biochemistry", "haematology", "microbiology", "clinical pathology")

# What each analyser calls each analyte (OBX-3 identifier), by the analyser's name as it
# sends it in MSH-3. A code may stand for several analytes (a chemistry analyser's GLU
# is fasting, post-meal or random glucose): the sample's order says which.
INSTRUMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "XN1000": {  # Sysmex XN-1000 haematology
        "HGB": ("HGB",),
        "WBC": ("WBC",),
        "RBC": ("RBC",),
        "HCT": ("HCT",),
        "MCV": ("MCV",),
        "PLT": ("PLT",),
    },
    "COBASC311": {  # Roche cobas c 311 chemistry
        "GLUC3": ("GLUF", "GLUPP", "GLUR"),
        "BILT3": ("TBIL",),
        "BILD2": ("DBIL",),
        "ALTL": ("ALT",),
        "ASTL": ("AST",),
        "ALP2": ("ALP",),
        "ALB2": ("ALB",),
        "TP2": ("TP",),
        "UREAL": ("UREA",),
        "CREJ2": ("CREAT",),
        "NA": ("NA",),
        "K": ("K",),
        "CL": ("CL",),
        "UA2": ("URIC",),
        "CHOL2": ("CHOL",),
        "TRIGL": ("TG",),
        "HDLC4": ("HDL",),
        "LDLC3": ("LDL",),
        "CRPL3": ("CRP",),
        "HBA1C": ("HBA1C",),
    },
    "ACCESS2": {"TT3": ("T3",), "TT4": ("T4",), "TSH3": ("TSH",)},  # immunoassay
}


def find(code: str) -> LabTest | None:
    return TESTS.get(code.strip().upper()) if isinstance(code, str) else None


def analytes_of(codes: list[str]) -> list[Analyte]:
    return [ANALYTES[a] for c in codes if c in TESTS for a in TESTS[c].analytes]


def loinc_of(test: LabTest) -> str:
    """The test's LOINC code: its panel's, or its only analyte's; "" if it has none."""
    if test.loinc:
        return test.loinc
    if len(test.analytes) == 1 and test.analytes[0] in ANALYTES:
        return ANALYTES[test.analytes[0]].loinc
    return ""


def by_loinc(loinc: str) -> Analyte | None:
    return next((a for a in ANALYTES.values() if a.loinc == loinc), None)


def instrument_analyte(instrument: str, code: str, ordered: set[str]) -> Analyte | None:
    """The analyte an analyser's result code names, among those the sample was ordered
    for; a LOINC code is understood from any analyser."""
    candidates = INSTRUMENTS.get(instrument.upper(), {}).get(code.upper(), ())
    for analyte in candidates:
        if analyte in ordered:
            return ANALYTES[analyte]
    found = ANALYTES.get(code.upper()) or by_loinc(code)
    return found if found is not None and found.code in ordered else None
