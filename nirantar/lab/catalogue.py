"""The demo laboratory catalogue: what a doctor may order, by code.

Issue 6 extends each test with LOINC codes, units, methods and reference
ranges; ordering needs only the code, a name in both languages, the section
that does the work and the specimen it needs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabTest:
    code: str
    name_en: str
    name_hi: str
    section: str  # biochemistry | haematology | microbiology | clinical pathology
    specimen: str


TESTS: dict[str, LabTest] = {
    t.code: t
    for t in (
        LabTest("CBC", "Complete blood count", "पूर्ण रक्त गणना", "haematology", "EDTA blood"),
        LabTest("ESR", "Erythrocyte sedimentation rate", "ई.एस.आर.", "haematology", "EDTA blood"),
        LabTest("LFT", "Liver function tests", "यकृत कार्य जाँच", "biochemistry", "serum"),
        LabTest("KFT", "Kidney function tests", "गुर्दा कार्य जाँच", "biochemistry", "serum"),
        LabTest("LIPID", "Lipid profile", "लिपिड प्रोफ़ाइल", "biochemistry", "serum"),
        LabTest(
            "FBS",
            "Blood glucose, fasting",
            "रक्त शर्करा (खाली पेट)",
            "biochemistry",
            "fluoride plasma",
        ),
        LabTest(
            "PPBS",
            "Blood glucose, post-prandial",
            "रक्त शर्करा (भोजन के बाद)",
            "biochemistry",
            "fluoride plasma",
        ),
        LabTest(
            "RBS", "Blood glucose, random", "रक्त शर्करा (रैंडम)", "biochemistry", "fluoride plasma"
        ),
        LabTest("HBA1C", "Glycated haemoglobin (HbA1c)", "एचबीए1सी", "biochemistry", "EDTA blood"),
        LabTest("TFT", "Thyroid profile (T3, T4, TSH)", "थायरॉइड जाँच", "biochemistry", "serum"),
        LabTest("CRP", "C-reactive protein", "सी-रिएक्टिव प्रोटीन", "biochemistry", "serum"),
        LabTest(
            "URINE",
            "Urine routine and microscopy",
            "मूत्र की सामान्य जाँच",
            "clinical pathology",
            "urine",
        ),
        LabTest(
            "MP",
            "Malaria parasite (smear and rapid test)",
            "मलेरिया परजीवी जाँच",
            "microbiology",
            "EDTA blood",
        ),
        LabTest("WIDAL", "Widal test", "विडाल जाँच", "microbiology", "serum"),
        LabTest("NS1", "Dengue NS1 antigen", "डेंगू एनएस1 जाँच", "microbiology", "serum"),
        LabTest(
            "BLDCS",
            "Blood culture and sensitivity",
            "रक्त कल्चर",
            "microbiology",
            "blood culture bottle",
        ),
        LabTest(
            "URCS", "Urine culture and sensitivity", "मूत्र कल्चर", "microbiology", "urine, sterile"
        ),
    )
}


def find(code: str) -> LabTest | None:
    return TESTS.get(code.strip().upper()) if isinstance(code, str) else None
