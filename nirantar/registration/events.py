"""Event types of registration, and the identifiers it mints.

registration.department_defined  {code, name_en, name_hi, rooms: [{en, hi}], active}
    stream department:CODE - last-writer-wins per field
registration.patient_registered  {uhid, name_hi, name_en, sex, date_of_birth, dob_estimated,
                                  age_given, guardian_relation, guardian_name, mobile,
                                  abha_number, category, address: {line, district, state, pin}}
    stream patient:UHID - create (the UHID is minted by the registering node)
registration.patient_corrected   {uhid, changes: {field: value}, reason}
    stream patient:UHID - last-writer-wins per field; every value kept in the history
registration.visit_registered    {visit, uhid, department, room: {en, hi}, token, token_no,
                                  counter, date}
    stream patient:UHID - create (visit number and token minted by the registering node)
registration.patients_merged     {survivor, duplicate, reason}
registration.patients_unmerged   {survivor, duplicate, reason}
    stream patient:DUPLICATE - last-writer-wins per (duplicate, survivor) pair; the merge
    state of every UHID is computed from the pairs in effect (see merging.py)
"""

from nirantar.ledger.numbering import NumberFormat

DEPARTMENT_DEFINED = "registration.department_defined"
PATIENT_REGISTERED = "registration.patient_registered"
PATIENT_CORRECTED = "registration.patient_corrected"
VISIT_REGISTERED = "registration.visit_registered"
PATIENTS_MERGED = "registration.patients_merged"
PATIENTS_UNMERGED = "registration.patients_unmerged"

UHID = NumberFormat("uhid", "", "UHID")
VISIT = NumberFormat("visit", "OP", "OPD visit number")


def patient_stream(uhid: str) -> str:
    return f"patient:{uhid}"
