"""Event types of the wards, and the admission numbers they mint.

stream ward:CODE (the layout, and what happens to a bed between patients)
wards.ward_defined          {code, name_en, name_hi, kind, sex, department,
                             beds: [{bed, room}]}
    last-writer-wins: the newest definition of a ward stands; a bed code is its ward's
    code, a dash and the bed's own part (MW1-07), so two wards never claim one bed
wards.bed_service_set       {bed, in_service, reason}       last-writer-wins per bed
wards.bed_reservation_set   {bed, uhid, note}               last-writer-wins per bed;
                                                            uhid "" cancels
wards.bed_cleaned           {bed}                           the latest cleaning counts

stream patient:UHID (the patient's stay)
wards.patient_admitted      {admission, uhid, ward, bed, attending, diagnosis, source,
                             visit, note}
    create (the admission number is minted by the admitting node: no server needed);
    the admission's first placement
wards.patient_transferred   {admission, uhid, ward, bed, reason}
    append-only placement; the admission's bed is its latest placement's
wards.patient_discharged    {admission, uhid, type, at, diagnoses, procedures, course,
                             condition, medicines, follow_up}
    every discharge is kept; the earliest stands unless one is confirmed; two that
    differ in type or time are a conflict until a doctor confirms one
wards.discharge_confirmed   {admission, uhid, discharge (its event id), note}
    last-writer-wins: the confirmed discharge stands
wards.entry_recorded        {admission, uhid, kind, at, ...kind's fields}
    append-only: vitals, intake/output, nursing notes, medication given, progress notes;
    a correction is a new entry naming the one it corrects

Bed conflicts are found, not written: a bed whose placements overlap in time (two nodes
apart each put a patient in it) is double-booked until a transfer ends the overlap; a
patient with two admissions open at once is admitted twice until one is discharged.
"""

from nirantar.ledger.numbering import NumberFormat

WARD_DEFINED = "wards.ward_defined"
BED_SERVICE_SET = "wards.bed_service_set"
BED_RESERVATION_SET = "wards.bed_reservation_set"
BED_CLEANED = "wards.bed_cleaned"
PATIENT_ADMITTED = "wards.patient_admitted"
PATIENT_TRANSFERRED = "wards.patient_transferred"
PATIENT_DISCHARGED = "wards.patient_discharged"
DISCHARGE_CONFIRMED = "wards.discharge_confirmed"
ENTRY_RECORDED = "wards.entry_recorded"

ADMISSION = NumberFormat("admission", "IP", "admission number")

WARD_KINDS = ("general", "private", "icu", "paediatric", "maternity", "emergency")
WARD_SEXES = ("M", "F", "any")
SOURCES = ("opd", "emergency", "direct")
DISCHARGE_TYPES = ("normal", "lama", "referred", "absconded", "death")
ENTRY_KINDS = ("vitals", "io", "nursing_note", "medication", "progress_note")
BED_STATES = ("vacant", "occupied", "reserved", "cleaning", "out_of_service")
