"""Event types of the laboratory, and the numbers it mints.

lab.tests_ordered  {order, uhid, visit, tests: [code], source, department, note}
    stream patient:UHID - create (the order number is minted by the ordering node)
"""

from nirantar.ledger.numbering import NumberFormat

TESTS_ORDERED = "lab.tests_ordered"

ORDER = NumberFormat("lab_order", "LO", "lab order number")
