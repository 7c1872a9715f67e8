"""The demo hospital's wards, and a hospital-sized layout for benchmarks.

A ward is defined by an event (``wards.ward_defined``) like a department: any node can
show the layout, and a redefinition (beds added or taken away) reaches every node.
"""

from __future__ import annotations

from typing import Any

# code, English, Hindi, kind, sex, department, rooms x beds per room
DEMO_WARDS: list[tuple[str, str, str, str, str, str, int, int]] = [
    ("MW1", "Medical Ward 1 (men)", "मेडिकल वार्ड 1 (पुरुष)", "general", "M", "MED", 5, 6),
    ("MW2", "Medical Ward 2 (women)", "मेडिकल वार्ड 2 (महिला)", "general", "F", "MED", 5, 6),
    ("SW1", "Surgical Ward (men)", "सर्जिकल वार्ड (पुरुष)", "general", "M", "SUR", 4, 6),
    ("SW2", "Surgical Ward (women)", "सर्जिकल वार्ड (महिला)", "general", "F", "SUR", 4, 6),
    ("PW1", "Paediatric Ward", "बाल रोग वार्ड", "paediatric", "any", "PED", 4, 5),
    ("MAT", "Maternity Ward", "प्रसूति वार्ड", "maternity", "F", "OBG", 4, 5),
    ("ICU", "Medical ICU", "मेडिकल आईसीयू", "icu", "any", "MED", 1, 12),
    ("PVT", "Private Ward", "निजी वार्ड", "private", "any", "", 10, 1),
    ("EOW", "Emergency Observation", "आपातकालीन अवलोकन वार्ड", "emergency", "any", "", 2, 8),
]


def _ward(
    code: str, en: str, hi: str, kind: str, sex: str, department: str, rooms: int, per: int
) -> dict[str, Any]:
    beds = []
    for room in range(1, rooms + 1):
        for place in range(1, per + 1):
            number = (room - 1) * per + place
            beds.append({"bed": f"{code}-{number:02d}", "room": f"{room}"})
    return {
        "code": code,
        "name_en": en,
        "name_hi": hi,
        "kind": kind,
        "sex": sex,
        "department": department,
        "beds": beds,
    }


def demo_wards() -> list[dict[str, Any]]:
    """Nine wards, 186 beds: general wards for men and women, paediatric, maternity, an
    ICU, private rooms and emergency observation."""
    return [_ward(*row) for row in DEMO_WARDS]


def hospital_wards(total: int = 3300, per_ward: int = 40) -> list[dict[str, Any]]:
    """A layout of ``total`` beds in wards of ``per_ward`` (the benchmark's 3,300-bed
    hospital), the demo's kinds taken in turn."""
    wards = []
    made = 0
    index = 0
    while made < total:
        code, en, hi, kind, sex, department, _, _ = DEMO_WARDS[index % len(DEMO_WARDS)]
        size = min(per_ward, total - made)
        wards.append(
            _ward(
                f"W{index + 1:03d}",
                f"{en} - block {index + 1}",
                f"{hi} - ब्लॉक {index + 1}",
                kind,
                sex,
                department,
                max(1, size // 6) + (1 if size % 6 else 0),
                6,
            )
        )
        wards[-1]["beds"] = wards[-1]["beds"][:size]
        made += size
        index += 1
    return wards
