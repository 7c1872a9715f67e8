"""Event types of the laboratory, and the numbers it mints. All in the patient's stream.

lab.tests_ordered     {order, uhid, visit, tests: [code], source, department, note}
    create (the order number is minted by the ordering node)
lab.sample_collected  {accession, uhid, orders: [order], tests: [code], specimen, container,
                       section, replaces}
    create (the accession number is minted by the collecting node: no server needed)
lab.sample_received   {accession, uhid}                       monotone status
lab.sample_rejected   {accession, uhid, reason}               monotone status (terminal)
lab.results_recorded  {accession, uhid, results: [{analyte, value, unit, flag, low, high,
                       amends}], source, instrument, control_id, reason}
    append-only; each result's id is ORIGIN:SEQ:INDEX; an amendment names the result
    it replaces
lab.results_verified  {accession, uhid, results: [result id]}  monotone status
lab.report_issued     {accession, uhid, content_hash, signature} monotone status

stream lab:errors (the analyser error queue: nothing is dropped)
lab.message_failed    {instrument, control_id, ack, reason, message}
lab.message_resolved  {failure: event id ORIGIN:SEQ, note}
"""

from nirantar.ledger.numbering import NumberFormat

TESTS_ORDERED = "lab.tests_ordered"
SAMPLE_COLLECTED = "lab.sample_collected"
SAMPLE_RECEIVED = "lab.sample_received"
SAMPLE_REJECTED = "lab.sample_rejected"
RESULTS_RECORDED = "lab.results_recorded"
RESULTS_VERIFIED = "lab.results_verified"
REPORT_ISSUED = "lab.report_issued"
MESSAGE_FAILED = "lab.message_failed"
MESSAGE_RESOLVED = "lab.message_resolved"

ORDER = NumberFormat("lab_order", "LO", "lab order number")
ACCESSION = NumberFormat("accession", "S", "sample accession number")

# A sample's status only moves forward; rejected ends it (a new sample is collected).
STATUS_RANK = {
    "collected": 1,
    "received": 2,
    "resulted": 3,
    "verified": 4,
    "reported": 5,
    "rejected": 9,
}
REJECTION_REASONS = ("haemolysed", "clotted", "insufficient", "unlabelled")
ERRORS_STREAM = "lab:errors"
