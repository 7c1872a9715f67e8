"""Hypothesis throws odd requests at every FHIR endpoint: the answer is never a 5xx.

Each answer must also be FHIR: an OperationOutcome for an error, and valid R4 (the
client in conftest.py checks both). Bodies are built near the shape of a Patient,
so that they get past the JSON parser and reach the mapping and the rules.
"""

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nirantar.fhir.search import CONTROL_PARAMS, SEARCH_PARAMS
from tests.fhir.conftest import asha

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["male", "female", "other", "unknown", "1990-04-01", "1990", "+919812345678"]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=12,
)
PATIENT_KEYS = [
    "name",
    "gender",
    "birthDate",
    "telecom",
    "address",
    "identifier",
    "active",
    "deceasedBoolean",
    "id",
    "meta",
    "contact",
]
patients = st.builds(
    lambda base, changes: {**base, **changes},
    st.builds(asha),
    st.dictionaries(st.sampled_from(PATIENT_KEYS), json_values, max_size=3),
)
name_parts = st.fixed_dictionaries(
    {},
    optional={
        "use": st.sampled_from(["official", "usual", "maiden", "x"]),
        "given": st.lists(st.text(max_size=15), max_size=3),
        "family": st.text(max_size=15),
        "text": st.text(max_size=20),
    },
)
patients_with_names = st.builds(
    lambda names: asha(name=names), st.lists(name_parts, min_size=0, max_size=3)
)
params = st.dictionaries(
    st.sampled_from([*SEARCH_PARAMS, *CONTROL_PARAMS, "family", "_sort"]),
    st.text(max_size=25),
    max_size=4,
)


@pytest.fixture
def fuzz_fhir(fhir_as, records):
    # A records clerk may register and read: the widest of the roles.
    return fhir_as(records)


@pytest.fixture
def clinical_fuzz(fhir_as, records, registered, visit, admit, api_as, doctor):
    """Records may read encounters, orders, results, reports, beds and the record; a patient
    with a visit (a lab order, a diagnosis, a prescription, vitals) and a stay (a diagnosis,
    charted vitals)."""
    doc = api_as(doctor)
    v = f"/api/v1/visits/{visit}"
    ordered = doc.post(f"{v}/lab-orders", {"tests": ["CBC"]})
    assert ordered.status_code == 201, ordered.content
    for path, body in (
        ("diagnoses", {"code": "E11.9"}),
        ("vitals", {"bp_systolic": 120, "bp_diastolic": 80, "weight_kg": 60, "height_cm": 160}),
        (
            "prescriptions",
            {"items": [{"drug": "MET500", "dose": "1", "frequency": "BD", "duration_days": 5}]},
        ),
    ):
        assert doc.post(f"{v}/{path}", body).status_code == 201
    stay = admit(registered["uhid"], "MW1-01", source="opd", visit=visit, diagnosis="Fever")
    charted = doc.post(
        f"/api/v1/admissions/{stay}/entries", {"kind": "vitals", "data": {"pulse": 90}}
    )
    assert charted.status_code == 201
    return fhir_as(records), registered["uhid"]


CLINICAL_PARAMS = [
    "patient",
    "subject",
    "category",
    "code",
    "type",
    "partof",
    "encounter",
    "_count",
    "date",
    "status",
]
CLINICAL_KINDS = [
    "Encounter",
    "Observation",
    "Location",
    "ServiceRequest",
    "DiagnosticReport",
    "Condition",
    "MedicationRequest",
]
clinical_values = st.one_of(
    st.text(max_size=25),
    st.sampled_from(
        [
            "Patient/",
            "laboratory",
            "vital-signs",
            "http://loinc.org|718-7",
            "8867-4,85354-9",
            "Encounter/OP-",
            "IP-101-0000001-",
            "718-7,",
            "|",
            "ward",
            "bd",
            "Location/MW1",
            "Encounter/OP-101-0000001-3",
            "Encounter/",
            "0",
            "100",
        ]
    ),
)
clinical_params = st.dictionaries(st.sampled_from(CLINICAL_PARAMS), clinical_values, max_size=4)


@FUZZ
@given(body=st.one_of(patients, patients_with_names, json_values))
def test_creating_never_answers_with_a_server_error(fuzz_fhir, body):
    fuzz_fhir.post("/fhir/Patient", body)


@FUZZ
@given(entries=st.lists(st.one_of(patients, json_values), max_size=3), kind=st.text(max_size=12))
def test_a_transaction_never_answers_with_a_server_error(fuzz_fhir, entries, kind):
    bundle = {
        "resourceType": "Bundle",
        "type": kind or "transaction",
        "entry": [
            {"resource": e, "request": {"method": "POST", "url": "Patient"}} for e in entries
        ],
    }
    fuzz_fhir.post("/fhir/", bundle)


@FUZZ
@given(query=params)
def test_searching_never_answers_with_a_server_error(fuzz_fhir, query):
    fuzz_fhir.get("/fhir/Patient?" + urlencode(query))


@FUZZ
@given(uhid=st.text(min_size=1, max_size=40), raw=st.text(max_size=40))
def test_reading_and_odd_bodies_never_answer_with_a_server_error(fuzz_fhir, uhid, raw):
    fuzz_fhir.get("/fhir/Patient/" + quote(uhid, safe=""))
    fuzz_fhir.post("/fhir/Patient", raw=raw)
    fuzz_fhir.post("/fhir/", raw=json.dumps(raw))


@FUZZ
@given(
    kind=st.sampled_from(CLINICAL_KINDS),
    query=clinical_params,
    with_patient=st.booleans(),
)
def test_searching_clinical_resources_never_answers_with_a_server_error(
    clinical_fuzz, kind, query, with_patient
):
    client, uhid = clinical_fuzz
    if with_patient and "patient" not in query:
        query = {**query, "patient": uhid}
    client.get(f"/fhir/{kind}?" + urlencode(query))


@FUZZ
@given(
    kind=st.sampled_from([*CLINICAL_KINDS, "Composition"]),
    key=st.one_of(
        st.text(min_size=1, max_size=40),
        st.sampled_from(
            [
                "OP-",
                "IP-",
                "lab-",
                "lab-a.1.1",
                "MW1-",
                "OP-101-0000001-",
                "lo-101-0000001-3-",
                "S-",
                "opd-a.1",
                "vs-a.1-",
            ]
        ).flatmap(lambda prefix: st.text(max_size=12).map(lambda rest: prefix + rest)),
        st.sampled_from(
            ["dischargesummary-IP-", "opconsult-OP-", "prescription-OP-", "diagnosticreport-S-"]
        ).flatmap(lambda prefix: st.text(max_size=14).map(lambda rest: prefix + rest)),
    ),
    operation=st.sampled_from(["", "/$document", "/$document?persist=true"]),
)
def test_reading_clinical_resources_never_answers_with_a_server_error(
    clinical_fuzz, kind, key, operation
):
    client, _ = clinical_fuzz
    client.get(
        f"/fhir/{kind}/" + quote(key, safe="") + (operation if kind == "Composition" else "")
    )
