"""The demo hospital's catalogue: departments with rooms, categories, states of India."""

from __future__ import annotations

from typing import Any

DEMO_DEPARTMENTS: list[dict[str, Any]] = [
    {
        "code": "MED",
        "name_en": "Medicine",
        "name_hi": "मेडिसिन (काय चिकित्सा)",
        "rooms": [101, 102, 103, 104],
    },
    {
        "code": "SUR",
        "name_en": "Surgery",
        "name_hi": "सर्जरी (शल्य चिकित्सा)",
        "rooms": [201, 202, 203],
    },
    {"code": "PED", "name_en": "Paediatrics", "name_hi": "बाल रोग", "rooms": [301, 302]},
    {
        "code": "OBG",
        "name_en": "Obstetrics & Gynaecology",
        "name_hi": "प्रसूति एवं स्त्री रोग",
        "rooms": [401, 402],
    },
    {"code": "ORT", "name_en": "Orthopaedics", "name_hi": "अस्थि रोग", "rooms": [501, 502]},
    {"code": "ENT", "name_en": "ENT", "name_hi": "नाक, कान, गला रोग", "rooms": [601]},
    {"code": "OPH", "name_en": "Ophthalmology", "name_hi": "नेत्र रोग", "rooms": [701, 702]},
    {"code": "DER", "name_en": "Dermatology", "name_hi": "त्वचा रोग", "rooms": [801]},
    {"code": "PSY", "name_en": "Psychiatry", "name_hi": "मनोरोग", "rooms": [901]},
    {"code": "DEN", "name_en": "Dental", "name_hi": "दंत रोग", "rooms": [1001]},
]


def demo_departments() -> list[dict[str, Any]]:
    return [
        {
            **d,
            "rooms": [{"en": f"Room {n}", "hi": f"कक्ष {n}"} for n in d["rooms"]],
            "active": True,
        }
        for d in DEMO_DEPARTMENTS
    ]


CATEGORIES = {
    "general": ("General", "सामान्य"),
    "bpl": ("BPL", "बीपीएल"),
    "pmjay": ("PM-JAY (Ayushman Bharat)", "पीएम-जेएवाई (आयुष्मान भारत)"),
    "senior_citizen": ("Senior citizen", "वरिष्ठ नागरिक"),
    "staff": ("Staff", "कर्मचारी"),
    "free": ("Free service", "निःशुल्क सेवा"),
}

SEXES = {"M": ("Male", "पुरुष"), "F": ("Female", "महिला"), "O": ("Other", "अन्य")}

RELATIONS = {
    "S/O": ("Son of", "पुत्र"),
    "D/O": ("Daughter of", "पुत्री"),
    "W/O": ("Wife of", "पत्नी"),
    "C/O": ("Care of", "द्वारा"),
}

STATES = {
    "Andhra Pradesh": "आंध्र प्रदेश",
    "Arunachal Pradesh": "अरुणाचल प्रदेश",
    "Assam": "असम",
    "Bihar": "बिहार",
    "Chhattisgarh": "छत्तीसगढ़",
    "Goa": "गोवा",
    "Gujarat": "गुजरात",
    "Haryana": "हरियाणा",
    "Himachal Pradesh": "हिमाचल प्रदेश",
    "Jharkhand": "झारखंड",
    "Karnataka": "कर्नाटक",
    "Kerala": "केरल",
    "Madhya Pradesh": "मध्य प्रदेश",
    "Maharashtra": "महाराष्ट्र",
    "Manipur": "मणिपुर",
    "Meghalaya": "मेघालय",
    "Mizoram": "मिज़ोरम",
    "Nagaland": "नागालैंड",
    "Odisha": "ओडिशा",
    "Punjab": "पंजाब",
    "Rajasthan": "राजस्थान",
    "Sikkim": "सिक्किम",
    "Tamil Nadu": "तमिलनाडु",
    "Telangana": "तेलंगाना",
    "Tripura": "त्रिपुरा",
    "Uttar Pradesh": "उत्तर प्रदेश",
    "Uttarakhand": "उत्तराखंड",
    "West Bengal": "पश्चिम बंगाल",
    "Andaman and Nicobar Islands": "अंडमान और निकोबार द्वीपसमूह",
    "Chandigarh": "चंडीगढ़",
    "Dadra and Nagar Haveli and Daman and Diu": "दादरा और नगर हवेली और दमन और दीव",
    "Delhi": "दिल्ली",
    "Jammu and Kashmir": "जम्मू और कश्मीर",
    "Ladakh": "लद्दाख",
    "Lakshadweep": "लक्षद्वीप",
    "Puducherry": "पुडुचेरी",
}
