"""Event types of outpatient care. Every one is in the patient's stream, patient:UHID.

Queue (monotone per visit: the furthest step wins; see projections.py):
opd.queue_moved          {visit, uhid, department, step, round, room: {en, hi}, reason}
    step: called | consulting | done | no_show | sent (to another room: starts round+1)

Clinical entries (append-only; each entry's id is "ORIGIN:SEQ" of its event, which
nobody else can mint). Any of them may carry {corrects: ENTRY, reason}: a new entry
that replaces an earlier one, which stays visible.
opd.vitals_recorded      {visit, uhid, vitals: {bp_systolic, ..., height_cm}, bmi}
opd.note_recorded        {visit, uhid, kind: complaints | findings | advice | alert,
                          text, follow_up}
opd.diagnosis_recorded   {visit, uhid, code, title, status: provisional | final, note}
opd.prescribed           {visit, uhid, items: [{drug, drug_code, in_formulary, dose,
                          route, frequency, duration_days, instructions,
                          instructions_hi}]}
opd.allergy_recorded     {visit, uhid, substance, reaction}
opd.referred             {visit, uhid, department, new_visit, token, reason}
opd.admission_advised    {visit, uhid, department, urgency: routine | urgent, reason}
opd.entry_struck         {visit, uhid, corrects: ENTRY, reason}   entered in error

Lab orders are the laboratory's events (lab.tests_ordered), emitted through
nirantar.lab.actions.
"""

QUEUE_MOVED = "opd.queue_moved"
VITALS_RECORDED = "opd.vitals_recorded"
NOTE_RECORDED = "opd.note_recorded"
DIAGNOSIS_RECORDED = "opd.diagnosis_recorded"
PRESCRIBED = "opd.prescribed"
ALLERGY_RECORDED = "opd.allergy_recorded"
REFERRED = "opd.referred"
ADMISSION_ADVISED = "opd.admission_advised"
ENTRY_STRUCK = "opd.entry_struck"

# Event type -> the kind of entry it records (notes name their own kind).
ENTRY_KINDS = {
    VITALS_RECORDED: "vitals",
    DIAGNOSIS_RECORDED: "diagnosis",
    PRESCRIBED: "prescription",
    ALLERGY_RECORDED: "allergy",
    REFERRED: "referral",
    ADMISSION_ADVISED: "admission",
    ENTRY_STRUCK: "struck",
}
NOTE_KINDS = ("complaints", "findings", "advice", "alert")

# Queue steps in the order a visit moves through them; later steps win.
STEP_RANK = {"waiting": 0, "called": 1, "consulting": 2, "done": 3, "no_show": 3}
STEPS = ("called", "consulting", "done", "no_show", "sent")


def patient_stream(uhid: str) -> str:
    return f"patient:{uhid}"
