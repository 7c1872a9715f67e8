"""Event types of duplicate detection. Pairs themselves are not events: the worklist is
worked out from registration's events. Only a person's verdict on a pair is.

dedupe.pair_dismissed  {uhid_a, uhid_b, reason}
    stream duplicates:UHID_A|UHID_B - last-writer-wins per pair: not the same person
dedupe.pair_reopened   {uhid_a, uhid_b, reason}
    stream duplicates:UHID_A|UHID_B - last-writer-wins per pair: back on the worklist
"""

PAIR_DISMISSED = "dedupe.pair_dismissed"
PAIR_REOPENED = "dedupe.pair_reopened"


def pair_stream(uhid_a: str, uhid_b: str) -> str:
    return f"duplicates:{uhid_a}|{uhid_b}"
