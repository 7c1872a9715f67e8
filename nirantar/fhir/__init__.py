"""FHIR R4 (4.0.1) under /fhir/: the hospital's records in the standard other systems speak."""
