"""Write N patients (each a registration and a visit) on a node, through the real actions.

Run inside the node's own process: python -m bench.generate DATA_DIR N
"""

from __future__ import annotations

import os
import random
import sys
import time
import unicodedata


def main(data_dir: str, patients: int, seed: int = 3) -> None:
    os.environ["NIRANTAR_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    from bench.names import given_names, person
    from nirantar.errors import ValidationFailed
    from nirantar.ledger.writer import writing
    from nirantar.registration import actions

    rng = random.Random(seed)  # noqa: S311 - sample data
    given = given_names()
    departments = ["MED", "SUR", "PED", "OBG", "ORT", "ENT", "OPH", "DER", "PSY", "DEN"]
    started = time.perf_counter()
    done = 0
    while done < patients:
        # A hundred patients per transaction: the writer lock is taken once for them all.
        with writing():
            for _ in range(min(100, patients - done)):
                name_en, name_hi = (unicodedata.normalize("NFC", n) for n in person(rng, given))
                data = {
                    "name_en": name_en,
                    "name_hi": name_hi,
                    "sex": rng.choice("MF"),
                    "age_years": rng.randint(0, 90),
                    "mobile": f"{rng.choice('6789')}{rng.randrange(10**9):09d}",
                    "address": {"district": "Sitapur", "state": "Uttar Pradesh"},
                }
                try:
                    patient = actions.do_register_patient("bench", data)
                except ValidationFailed:  # a few corpus spellings aren't valid names
                    continue
                actions.do_register_visit("bench", patient.uhid, rng.choice(departments))
                done += 1
        if done % 5000 == 0:
            rate = done / (time.perf_counter() - started)
            print(f"  {done:,} patients ({rate:.0f}/s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
