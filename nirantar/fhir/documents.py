"""ABDM health-record documents: FHIR R4 ``document`` Bundles shaped by the NRCeS profiles.

A document is a Composition (what it is, whose, from which encounter, by whom, for which
hospital, and its sections) and every resource it references, in one Bundle with the
Composition first. The Composition's id names the record it is made from:

* ``dischargesummary-IP-...``: a discharged stay (DischargeSummaryRecord);
* ``opconsult-OP-...`` and ``prescription-OP-...``: an OPD visit (OPConsultRecord,
  PrescriptionRecord);
* ``diagnosticreport-S-...``: a sample's issued report (DiagnosticReportRecord).

The resources come from the FHIR module's builders (conditions, medications, vitals,
service_requests, diagnostic_reports, encounters); this module arranges them into
sections and documents. Nothing here audits: the views read through the owning module's
audited accessor first.

Resources are built with relative references (``Patient/UHID``); ``bundle`` gives every
entry a ``urn:uuid`` fullUrl and rewrites the references to them. The uuids are uuid5 of
``Type/id``, so the same resource has the same fullUrl in every document and on every
node, and a document built twice from the same record is the same document. urn:uuid
rather than our own URLs: a document travels (through the ABDM gateway to another
hospital) where this server's URLs mean nothing, several of its resources (Practitioner,
Organization, DocumentReference) have no endpoint here, and NRCeS's examples do the same.

Profile conformance is claimed in ``meta.profile`` and checked by our tests against the
codes NRCeS fixes (docs/fhir.md); no NRCeS profile validator is run.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from nirantar import timeutil
from nirantar.accounts import queries as account_queries
from nirantar.fhir import diagnostic_reports
from nirantar.fhir import encounters as encounter_resources
from nirantar.fhir import entries as clinical_entries
from nirantar.fhir import locations as location_resources
from nirantar.fhir import observations as observation_resources
from nirantar.fhir.resources import ABHA_SYSTEM, IDENTIFIER_TYPES, patient_resource, uhid_system
from nirantar.registration.models import Patient, Visit
from nirantar.wards.models import Admission

log = logging.getLogger(__name__)

NRCES = "https://nrces.in/ndhm/fhir/r4/StructureDefinition/"
NRCES_IDENTIFIER_TYPES = "https://nrces.in/ndhm/fhir/r4/CodeSystem/ndhm-identifier-type-code"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
# A globally unique identifier written as a URI (urn:uuid:...), FHIR's own system for it.
URI_SYSTEM = "urn:ietf:rfc:3986"
STAFF_SYSTEM = "urn:nirantar:staff"
MEDICAL_REGISTRATION_SYSTEM = "urn:nirantar:medical-registration"
HOSPITAL_ID = "hospital"
XHTML = "http://www.w3.org/1999/xhtml"
# Characters XML 1.0 cannot hold (a narrative div is XHTML).
NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
FHIR_ID = re.compile(r"[^A-Za-z0-9\-.]")

# NRCeS's profile of each resource type a document may hold. DiagnosticReport is claimed
# as DiagnosticReportLab only when it has what that profile requires (see _profiled).
PROFILES = {
    kind: NRCES + kind
    for kind in (
        "Patient",
        "Practitioner",
        "Organization",
        "Encounter",
        "Condition",
        "AllergyIntolerance",
        "Appointment",
        "Procedure",
        "ServiceRequest",
        "MedicationStatement",
        "MedicationRequest",
        "DocumentReference",
        "Observation",
        "Specimen",
        "Binary",
    )
}


@dataclass(frozen=True)
class Kind:
    """One kind of ABDM document: its id prefix, NRCeS profile and Composition.type."""

    prefix: str
    profile: str
    code: str
    display: str  # fixed by the profile: sent verbatim
    title: str


DISCHARGE_SUMMARY = Kind(
    "dischargesummary",
    "DischargeSummaryRecord",
    "373942005",
    "Discharge summary",
    "Discharge summary",
)
OP_CONSULT = Kind(
    "opconsult",
    "OPConsultRecord",
    "371530004",
    "Clinical consultation report",
    "OPD consultation",
)
PRESCRIPTION = Kind(
    "prescription", "PrescriptionRecord", "440545006", "Prescription record", "Prescription"
)
DIAGNOSTIC_REPORT = Kind(
    "diagnosticreport",
    "DiagnosticReportRecord",
    "721981007",
    "Diagnostic studies report",
    "Diagnostic report",
)
KINDS = {k.prefix: k for k in (DISCHARGE_SUMMARY, OP_CONSULT, PRESCRIPTION, DIAGNOSTIC_REPORT)}
# The kinds this server builds (the CapabilityStatement lists their profiles).
SERVED_DOCUMENTS = [DISCHARGE_SUMMARY, OP_CONSULT, PRESCRIPTION, DIAGNOSTIC_REPORT]
MAX_ID = 64  # FHIR's id: [A-Za-z0-9\-\.]{1,64}


@dataclass
class Document:
    """A Composition and the resources it references, with relative references."""

    composition: dict[str, Any]
    resources: list[dict[str, Any]] = field(default_factory=list)


def parse_id(composition_id: str) -> tuple[Kind, str] | None:
    """(the kind, the record's number) a Composition id names; None if it names none."""
    prefix, dash, number = composition_id.partition("-")
    kind = KINDS.get(prefix)
    if kind is None or not dash or not number or len(composition_id) > MAX_ID:
        return None
    if FHIR_ID.search(number):
        return None
    return kind, number


def composition_id(kind: Kind, number: str) -> str:
    return f"{kind.prefix}-{number}"


# -- small builders ---------------------------------------------------------------------


def coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def concept(system: str, code: str, display: str, text: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


def narrative(text: str) -> dict[str, str]:
    """Free text as a generated XHTML narrative: escaped, one line per line."""
    lines = [html.escape(NOT_XML.sub("", line)) for line in text.strip().splitlines()]
    body = "<br/>".join(lines) or "-"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}"><p>{body}</p></div>'}


def reference(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def section(
    title: str,
    code: dict[str, Any],
    entries: list[dict[str, Any]] | None = None,
    text: str = "",
    typed: bool = False,
) -> dict[str, Any] | None:
    """A Composition section of ``entries`` (resources) and/or a narrative ``text``; None
    when it would hold neither (FHIR's cmp-1: a section has text, entries or sections).
    ``typed``: each entry also says its resource type (PrescriptionRecord and
    DiagnosticReportRecord slice their entries on it)."""
    entries = entries or []
    if not entries and not text.strip():
        return None
    out: dict[str, Any] = {"title": title, "code": code}
    if text.strip():
        out["text"] = narrative(text)
    if entries:
        out["entry"] = [
            {"reference": reference(r), **({"type": r["resourceType"]} if typed else {})}
            for r in entries
        ]
    return out


def sct_section(
    title: str, code: str, display: str, entries: Any = None, text: str = "", typed: bool = False
) -> dict[str, Any] | None:
    return section(title, concept(SCT, code, display), entries, text, typed)


def _iso(ms: int) -> str:
    return timeutil.from_ms(ms).isoformat()


# -- the people and the hospital -------------------------------------------------------


def practitioner_id(username: str) -> str:
    """A FHIR id for a username: itself when it is one; else the characters an id may not
    hold become dashes, and a digest of the username keeps two such apart."""
    if username and not FHIR_ID.search(username) and len(username) <= MAX_ID:
        return username
    digest = hashlib.sha256(username.encode()).hexdigest()[:10]
    return f"{FHIR_ID.sub('-', username)[: MAX_ID - 11]}-{digest}"


def person(username: str, display: str = "") -> dict[str, str]:
    """A reference to the Practitioner of a username (the document includes it)."""
    ref = {"reference": f"Practitioner/{practitioner_id(username)}"}
    if display:
        ref["display"] = display
    return ref


PEOPLE_FIELDS = ("requester", "recorder", "performer", "resultsInterpreter", "asserter")


def attributed(resource: dict[str, Any], username: str) -> dict[str, Any]:
    """The resource with its people (given by the builders as a name only) as references
    to ``username``'s Practitioner, so that a receiver can tell who, not just a name."""
    if not username:
        return resource
    for key in PEOPLE_FIELDS:
        given = resource.get(key)
        if isinstance(given, dict) and "reference" not in given:
            resource[key] = person(username, given.get("display", ""))
        elif isinstance(given, list) and given and all("reference" not in g for g in given):
            resource[key] = [person(username, given[0].get("display", ""))]
    return resource


def practitioners(usernames: list[str]) -> list[dict[str, Any]]:
    """Practitioners for these staff, from the accounts (no patient data: not audited)."""
    wanted = [u for u in dict.fromkeys(usernames) if u]
    names = account_queries.staff_names(wanted)
    found = []
    for username in wanted:
        full_name, registration_no = names.get(username, ("", ""))
        identifiers: list[dict[str, Any]] = [{"system": STAFF_SYSTEM, "value": username}]
        if registration_no:
            identifiers.append(
                {
                    "type": concept(IDENTIFIER_TYPES, "MD", "Medical License number"),
                    "system": MEDICAL_REGISTRATION_SYSTEM,
                    "value": registration_no,
                }
            )
        found.append(
            {
                "resourceType": "Practitioner",
                "id": practitioner_id(username),
                "identifier": identifiers,
                "name": [{"text": full_name or username}],
            }
        )
    return found


def organization() -> dict[str, Any]:
    """The hospital, as the node's configuration names it (``node.json``). It has no
    Health Facility Registry (HFR) id: none is configured anywhere yet."""
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": HOSPITAL_ID,
        "active": True,
        "type": [
            concept(
                "http://terminology.hl7.org/CodeSystem/organization-type",
                "prov",
                "Healthcare Provider",
            )
        ],
        "name": settings.NODE.hospital,
    }
    if settings.NODE.hospital_hi:
        resource["alias"] = [settings.NODE.hospital_hi]
    return resource


def patient(record: Patient) -> dict[str, Any]:
    """The Patient as NRCeS wants it: ``name.text`` (always, as the record holds names) and
    every identifier typed with a coding (system, code, display)."""
    resource = patient_resource(record)
    for identifier in resource["identifier"]:
        if identifier.get("system") == ABHA_SYSTEM:
            identifier["type"] = concept(
                NRCES_IDENTIFIER_TYPES, "HIN", "Health ID issued by NDHM", "ABHA number"
            )
        else:
            identifier["type"] = concept(IDENTIFIER_TYPES, "MR", "Medical record number", "UHID")
    return resource


# -- the Composition and the Bundle ---------------------------------------------------


def composition(
    kind: Kind,
    number: str,
    *,
    uhid: str,
    date: str,
    authors: list[dict[str, Any]],
    sections: list[dict[str, Any] | None],
    encounter: str = "",
    status: str = "final",
) -> dict[str, Any]:
    key = composition_id(kind, number)
    resource: dict[str, Any] = {
        "resourceType": "Composition",
        "id": key,
        "meta": {"profile": [NRCES + kind.profile]},
        "language": "en-IN",
        "identifier": {"system": URI_SYSTEM, "value": urn(f"Composition/{key}")},
        "status": status,
        "type": concept(SCT, kind.code, kind.display, kind.title),
        "subject": {"reference": f"Patient/{uhid}"},
        "date": date,
        "author": [dict(a) for a in authors],
        "title": kind.title,
        "confidentiality": "V",
        "custodian": {"reference": f"Organization/{HOSPITAL_ID}"},
    }
    if encounter:
        resource["encounter"] = {"reference": f"Encounter/{encounter}"}
    kept = [s for s in sections if s is not None]
    if kept:  # FHIR forbids an empty list; the profiles want at least one section
        resource["section"] = kept
    return resource


def in_slice_order(
    sections: list[dict[str, Any] | None], slices: list[str]
) -> list[dict[str, Any] | None]:
    """The sections a profile slices, in its order, then the others (NRCeS's slicing is
    open at the end only), each group keeping the order it was given in."""

    def place(s: dict[str, Any] | None) -> int:
        code = s["code"]["coding"][0] if s is not None else {}
        if code.get("system") == SCT and code.get("code") in slices:
            return slices.index(code["code"])
        return len(slices)

    return sorted(sections, key=place)


def namespace() -> uuid.UUID:
    """The hospital's namespace for its documents' uuids: made from its own UHID system,
    so that Patient/101-0000001-3 of two hospitals (both number from there) never share a
    fullUrl."""
    return uuid.uuid5(uuid.NAMESPACE_URL, uhid_system())


def urn(key: str, space: uuid.UUID | None = None) -> str:
    """``urn:uuid:`` and uuid5 of ``key`` (``Type/id``) in the hospital's namespace."""
    return f"urn:uuid:{uuid.uuid5(space or namespace(), key)}"


def _references(node: Any) -> Iterator[dict[str, Any]]:
    """Every Reference (a dict with a string ``reference``) inside a resource."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


# An attachment's bytes and what is computed from them (Attachment.size and .hash).
PAYLOAD_KEYS = {"data", "size", "hash"}


def _without_payloads(node: Any) -> Any:
    """The resource without attachment bytes: a PDF reprinted (its "printed at" line
    differs) is not a new version of the document."""
    if isinstance(node, dict):
        return {k: _without_payloads(v) for k, v in node.items() if k not in PAYLOAD_KEYS}
    if isinstance(node, list):
        return [_without_payloads(v) for v in node]
    return node


def _profiled(resource: dict[str, Any]) -> dict[str, Any]:
    kind = resource["resourceType"]
    profile = PROFILES.get(kind)
    if kind == "DiagnosticReport" and all(
        resource.get(k) for k in ("resultsInterpreter", "result", "conclusion", "presentedForm")
    ):
        profile = NRCES + "DiagnosticReportLab"
    if profile is None:
        return resource
    meta = dict(resource.get("meta") or {})
    meta["profile"] = [*meta.get("profile", []), profile]
    return {**resource, "meta": meta}


def bundle(document: Document, base_url: str) -> dict[str, Any]:
    """The document Bundle: the Composition first, then each resource once, every
    reference rewritten to the entry's ``urn:uuid``. A reference to something not in the
    document (there should be none; the tests check) is made absolute on this server."""
    entries: dict[str, dict[str, Any]] = {}
    for resource in [document.composition, *document.resources]:
        entries.setdefault(reference(resource), _profiled(copy.deepcopy(resource)))
    canonical = json.dumps(_without_payloads(list(entries.values())), sort_keys=True)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    space = namespace()
    full_urls = {key: urn(key, space) for key in entries}
    for resource in entries.values():
        for ref in _references(resource):
            target = ref["reference"]
            if target in full_urls:
                ref["reference"] = full_urls[target]
            elif not target.startswith(("#", "urn:", "http://", "https://")):
                log.warning("a document refers to %s, which it does not hold", target)
                ref["reference"] = f"{base_url.rstrip('/')}/{target}"
    key = reference(document.composition)
    now = timeutil.now().isoformat()
    return {
        "resourceType": "Bundle",
        "meta": {
            "versionId": version,
            "lastUpdated": now,
            "profile": [NRCES + "DocumentBundle"],
            "security": [coding(CONFIDENTIALITY, "V", "very restricted")],
        },
        "identifier": {"system": URI_SYSTEM, "value": urn(f"Bundle/{key}/{version}", space)},
        "type": "document",
        "timestamp": now,
        "entry": [{"fullUrl": full_urls[k], "resource": r} for k, r in entries.items()],
    }


def pdf_reference(
    key: str,
    pdf: bytes,
    *,
    kind: Kind,
    uhid: str,
    date: str,
    authors: list[dict[str, Any]],
    title: str,
    encounter: str = "",
) -> dict[str, Any]:
    """The printed document (the same PDF the ward or OPD prints) as a DocumentReference
    holding it inline."""
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": key,
        "status": "current",
        "docStatus": "final",
        "type": concept(SCT, kind.code, kind.display, kind.title),
        "subject": {"reference": f"Patient/{uhid}"},
        "date": date,
        "author": [dict(a) for a in authors],
        "custodian": {"reference": f"Organization/{HOSPITAL_ID}"},
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "language": "en-IN",
                    "data": base64.b64encode(pdf).decode("ascii"),
                    "title": title,
                }
            }
        ],
    }
    if encounter:
        resource["context"] = {"encounter": [{"reference": f"Encounter/{encounter}"}]}
    return resource


def locations_of(encounter: dict[str, Any]) -> list[dict[str, Any]]:
    """The wards and beds an Encounter names (no patient data in them), so that its
    references resolve inside the document. A bed's state today (cleaning, occupied by
    someone else) is no part of this patient's record: left out."""
    found = []
    for place in encounter.get("location", []):
        code = place["location"]["reference"].removeprefix("Location/")
        resource = location_resources.location(code)
        if resource is not None:
            resource.pop("operationalStatus", None)
            found.append(resource)
    return found


# -- DischargeSummaryRecord -------------------------------------------------------------

# NRCeS's section slices of a discharge summary, in the profile's order.
DISCHARGE_SLICES = [
    "422843007",  # chief complaints
    "425044008",  # physical examination
    "722446000",  # allergies
    "1003642006",  # medical history
    "422432008",  # family history
    "721981007",  # investigations
    "1003606003",  # medications
    "1003640003",  # procedures
    "734163000",  # care plan
    "373942005",  # document reference
]
# The discharge's own words, by section. NRCeS's slices where one fits (its code and
# fixed display); the rest after them, as its open slicing allows, under the LOINC codes
# C-CDA's discharge summary uses for them.
DISCHARGE_SECTIONS = [
    ("medicines", "Medications", (SCT, "1003606003", "Medication history section")),
    ("procedures", "Procedures", (SCT, "1003640003", "History of past procedure section")),
    ("follow_up", "Follow-up advice", (SCT, "734163000", "Care plan")),
    ("diagnoses", "Diagnoses", (LOINC, "11535-2", "Hospital discharge Dx Narrative")),
    ("course", "Course in hospital", (LOINC, "8648-8", "Hospital course Narrative")),
    (
        "condition",
        "Condition at discharge",
        (LOINC, "10184-0", "Hospital discharge physical findings Narrative"),
    ),
]


def discharge_status(admission: Any) -> str:
    """final; preliminary while two contradictory discharges await a doctor's choice
    (the earliest stands meanwhile, and may not be the one confirmed)."""
    versions = [
        v for v in admission.discharge_versions if v.get("uhid", admission.uhid) == admission.uhid
    ]
    if len(versions) > 1 and not admission.discharge_confirmed:
        return "preliminary"
    return "final"


def _entry_actor(resource: dict[str, Any], actors: dict[str, str]) -> str:
    """Who recorded the clinical entry a resource was made from (its identifier names the
    entry, ``ORIGIN:SEQ`` or ``ORIGIN:SEQ:N`` for an item of it)."""
    for identifier in resource.get("identifier", []):
        value = str(identifier.get("value", ""))
        for key in (value, value.rpartition(":")[0]):
            if key in actors:
                return actors[key]
    return ""


def _with_people(
    resources: list[dict[str, Any]], actors: dict[str, str], people: list[str]
) -> list[dict[str, Any]]:
    """``resources`` with their people as Practitioner references; ``people`` gathers
    the usernames, whose Practitioners the document must include."""
    for resource in resources:
        username = _entry_actor(resource, actors)
        if username:
            attributed(resource, username)
            people.append(username)
    return resources


def _reports(
    found: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    people: list[str],
    verifiers: dict[str, str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(DiagnosticReports, their Observations), the pathologist who verified each as its
    resultsInterpreter and the hospital as its performer."""
    reports, results = [], []
    for report, observations in found:
        username = verifiers.get(report["id"], "")
        if username:
            attributed(report, username)
            people.append(username)
        if report.get("performer"):
            report["performer"] = [{"reference": f"Organization/{HOSPITAL_ID}"}]
        report.pop("basedOn", None)  # the orders are not in this document
        reports.append(report)
        results += observations
    return reports, results


def discharge_summary(
    chart: Any,
    pdf: bytes | None,
    *,
    conditions: list[dict[str, Any]] | None = None,
    vitals: list[dict[str, Any]] | None = None,
    reports: list[tuple[dict[str, Any], list[dict[str, Any]]]] | None = None,
    verifiers: dict[str, str] | None = None,
) -> Document:
    """A discharged stay's summary (``chart``: ``wards.queries.Chart`` of a discharged
    admission): the admission Encounter, the discharge's sections as narrative, the
    stay's diagnoses (``conditions``), charted vital signs (``vitals``) and laboratory
    reports (``reports``: (DiagnosticReport, its Observations); ``verifiers``: report id
    -> the pathologist's username), and the printed summary (``pdf``, when it could be
    made) as a DocumentReference."""
    a = chart.admission
    number = a.admission_no
    by = str(a.discharge.get("by", "")) or a.attending
    people = [by]
    date = _iso(a.discharge_event_ms or a.discharged_ms or a.admitted_ms or 0)
    encounter = encounter_resources.admission_encounter(a)
    encounter.pop("partOf", None)  # the OPD visit that sent the patient is not in this document
    actors = {e.entry_id: e.actor for e in chart.entries}
    diagnoses = []
    for condition in conditions or []:
        who = {"admitting": a.admitted_by, "discharge": by}.get(condition["id"].rpartition("-")[2])
        diagnoses.append(attributed(condition, who or ""))
        people.append(who or "")
    readings = _with_people(list(vitals or []), actors, people)
    lab, results = _reports(list(reports or []), people, verifiers or {})
    sections: list[dict[str, Any] | None] = [
        sct_section("Vital signs", "425044008", "Physical exam section", readings),
        sct_section("Investigations", "721981007", "Diagnostic studies report", lab),
    ]
    extra: list[dict[str, Any]] = [*diagnoses, *readings, *lab, *results]
    for key, title, (system, code, display) in DISCHARGE_SECTIONS:
        text = str(a.discharge.get(key, ""))
        entries = diagnoses if key == "diagnoses" else []
        sections.append(section(title, concept(system, code, display), entries, text=text))
    authors = [person(by)]
    if pdf is not None:
        document = pdf_reference(
            f"discharge-{number}",
            pdf,
            kind=DISCHARGE_SUMMARY,
            uhid=a.uhid,
            date=date,
            authors=authors,
            title=f"Discharge summary {number}",
            encounter=number,
        )
        extra.append(document)
        sections.append(sct_section("Document", "373942005", "Discharge summary", [document]))
    if not any(sections):  # a discharge with no summary written: say what is known
        kind = str(a.discharge.get("type", "")) or "discharged"
        sections.append(
            section(
                "Course in hospital",
                concept(LOINC, "8648-8", "Hospital course Narrative"),
                text=f"Discharge: {kind}. No summary was written.",
            )
        )
    comp = composition(
        DISCHARGE_SUMMARY,
        number,
        uhid=a.uhid,
        date=date,
        authors=authors,
        sections=in_slice_order(sections, DISCHARGE_SLICES),
        encounter=number,
        status=discharge_status(a),
    )
    resources = [patient(chart.patient), *practitioners(people), organization(), encounter]
    resources += locations_of(encounter) + extra
    return Document(comp, resources)


# -- OPConsultRecord and PrescriptionRecord ---------------------------------------------

OP_CONSULT_SLICES = [
    "422843007",  # chief complaints
    "425044008",  # physical examination
    "722446000",  # allergies
    "371529009",  # medical history
    "422432008",  # family history
    "721963009",  # investigation advice
    "721912009",  # medications
    "390906007",  # follow-up
    "371525003",  # procedure
    "306206005",  # referral
    "404684003",  # other observations
    "371530004",  # document reference
]
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"


def allergy(view: Any, visit: str) -> dict[str, Any]:
    """An allergy the OPD recorded (``opd.queries`` EntryView) as an AllergyIntolerance:
    the substance and reaction as text, as written. ``unconfirmed``: the record says the
    patient reported it, not that it was tested."""
    entry, data = view.entry, view.data
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": "opd-" + clinical_entries.key(entry.entry_id),
        "identifier": clinical_entries.identifier(entry.entry_id),
        "clinicalStatus": concept(ALLERGY_CLINICAL, "active", "Active"),
        "verificationStatus": concept(ALLERGY_VERIFICATION, "unconfirmed", "Unconfirmed"),
        "code": {"text": str(data.get("substance", ""))},
        "patient": {"reference": f"Patient/{entry.uhid}"},
    }
    if entry.visit == visit:  # from another visit: that encounter is not in this document
        resource["encounter"] = {"reference": f"Encounter/{visit}"}
    resource["recordedDate"] = _iso(entry.at_ms)
    resource["recorder"] = person(entry.actor)
    if data.get("reaction"):
        resource["reaction"] = [{"manifestation": [{"text": str(data["reaction"])}]}]
    return resource


def follow_up(view: Any) -> dict[str, Any] | None:
    """Advice with a follow-up date as a proposed Appointment (NRCeS's follow-up slice)."""
    entry, day = view.entry, str(view.data.get("follow_up", ""))
    if not day:
        return None
    return {
        "resourceType": "Appointment",
        "id": "opd-" + clinical_entries.key(entry.entry_id) + "-follow-up",
        "identifier": clinical_entries.identifier(entry.entry_id),
        "status": "proposed",
        "description": str(view.data.get("text", "")) or "Follow-up visit",
        "requestedPeriod": [{"start": day, "end": day}],
        "participant": [
            {"actor": {"reference": f"Patient/{entry.uhid}"}, "status": "needs-action"},
            {"actor": person(entry.actor), "status": "accepted"},
        ],
    }


def _notes(views: list[Any], kind: str) -> str:
    return "\n".join(str(v.data.get("text", "")) for v in views if v.kind == kind).strip()


def _advice(views: list[Any]) -> str:
    lines = []
    for v in views:
        if v.kind == "advice":
            text = str(v.data.get("text", ""))
            day = str(v.data.get("follow_up", ""))
            lines.append(f"{text} (follow-up {day})".strip() if day else text)
    return "\n".join(line for line in lines if line)


def _referrals(views: list[Any]) -> str:
    lines = []
    for v in views:
        if v.kind == "referral":
            lines.append(
                f"Referred to {v.data.get('department', '')} ({v.data.get('new_visit', '')})"
            )
        elif v.kind == "admission":
            lines.append(f"Admission advised: {v.entry.reason}".rstrip(": "))
    return "\n".join(lines)


def visit_encounter_of(record: Any) -> dict[str, Any]:
    visit = record.visit
    return encounter_resources.visit_encounter(visit, encounter_resources.queue_state(visit))


def op_consult(
    record: Any,
    patient_record: Patient,
    *,
    allergies: list[Any],
    conditions: list[dict[str, Any]],
    medicines: list[dict[str, Any]],
    vitals: list[dict[str, Any]],
    requests: list[dict[str, Any]],
) -> Document | None:
    """An OPD visit's consultation (``record``: ``opd.queries.VisitRecord``): complaints,
    examination (vital signs and findings), the patient's allergies that stand
    (``allergies``: EntryViews), tests ordered (``requests``: ServiceRequests), medicines
    (``medicines``: MedicationRequests), advice and follow-up, referrals, and diagnoses
    (``conditions``). None when nothing clinical was recorded at the visit."""
    visit = record.visit
    views = record.current(
        "complaints",
        "findings",
        "advice",
        "diagnosis",
        "prescription",
        "vitals",
        "referral",
        "admission",
    )
    if not views and not record.lab_orders:
        return None
    actors = {v.entry.entry_id: v.entry.actor for v in views}
    people = [v.entry.actor for v in views] + [o.ordered_by for o in record.lab_orders]
    orderers = {o.order_no: o.ordered_by for o in record.lab_orders}
    for request in requests:
        who = orderers.get(request.get("requisition", {}).get("value", ""), "")
        attributed(request, who)
    readings = _with_people(list(vitals), actors, people)
    diagnoses = _with_people(list(conditions), actors, people)
    orders = _with_people(list(medicines), actors, people)
    known = [allergy(v, visit.visit_no) for v in allergies]
    people += [v.entry.actor for v in allergies]
    appointments = [a for v in views if v.kind == "advice" and (a := follow_up(v)) is not None]
    sections = [
        sct_section(
            "Chief complaints",
            "422843007",
            "Chief complaint section",
            text=_notes(views, "complaints"),
        ),
        sct_section(
            "Physical examination",
            "425044008",
            "Physical exam section",
            readings,
            _notes(views, "findings"),
        ),
        sct_section("Allergies", "722446000", "Allergy record", known),
        sct_section("Investigation advice", "721963009", "Order document", requests),
        sct_section("Medications", "721912009", "Medication summary document", orders),
        sct_section("Follow-up", "390906007", "Follow-up encounter", appointments, _advice(views)),
        sct_section("Referral", "306206005", "Referral to service", text=_referrals(views)),
        section("Diagnoses", concept(LOINC, "29548-5", "Diagnosis Narrative"), diagnoses),
    ]
    if not any(sections):
        return None
    authors = [v.entry.actor for v in views if v.kind in ("diagnosis", "prescription", "advice")]
    authors = authors or [v.entry.actor for v in views] or [o.ordered_by for o in record.lab_orders]
    latest = max([v.entry.at_ms for v in views] + [o.at_ms for o in record.lab_orders])
    encounter = visit_encounter_of(record)
    comp = composition(
        OP_CONSULT,
        visit.visit_no,
        uhid=visit.uhid,
        date=_iso(latest),
        authors=[person(u) for u in dict.fromkeys(authors)],
        sections=in_slice_order(sections, OP_CONSULT_SLICES),
        encounter=visit.visit_no,
        status="final" if encounter["status"] == "finished" else "preliminary",
    )
    resources = [patient(patient_record), *practitioners(people), organization(), encounter]
    resources += readings + known + requests + orders + appointments + diagnoses
    return Document(comp, resources)


def prescription(
    record: Any, patient_record: Patient, medicines: list[dict[str, Any]], pdf: bytes | None
) -> Document | None:
    """An OPD visit's prescription: its MedicationRequests (``medicines``) and the printed
    prescription (``pdf``) as a Binary, in NRCeS's single section. None when nothing was
    prescribed. ``amended`` when a prescription of the visit was corrected or struck out."""
    visit = record.visit
    views = record.of_kind("prescription")
    current = [v for v in views if v.current]
    if not current or not medicines:
        return None
    actors = {v.entry.entry_id: v.entry.actor for v in current}
    people = [v.entry.actor for v in current]
    orders = _with_people(list(medicines), actors, people)
    date = _iso(max(v.entry.at_ms for v in current))
    entries = list(orders)
    if pdf is not None:
        entries.append(
            {
                "resourceType": "Binary",
                "id": f"prescription-{visit.visit_no}",
                "contentType": "application/pdf",
                "data": base64.b64encode(pdf).decode("ascii"),
            }
        )
    comp = composition(
        PRESCRIPTION,
        visit.visit_no,
        uhid=visit.uhid,
        date=date,
        authors=[person(u) for u in dict.fromkeys(people)],
        sections=[
            sct_section(
                "Prescription record", "440545006", "Prescription record", entries, typed=True
            )
        ],
        encounter=visit.visit_no,
        status="amended" if len(current) < len(views) else "final",
    )
    resources = [patient(patient_record), *practitioners(people), organization()]
    resources += [visit_encounter_of(record), *entries]
    return Document(comp, resources)


# -- DiagnosticReportRecord -------------------------------------------------------------

# The laboratory's sections as the SNOMED report type of the document's one section.
REPORT_SECTIONS = {
    "haematology": ("4321000179101", "Hematology report"),
    "biochemistry": ("4311000179106", "Chemical pathology report"),
}


def diagnostic_report(
    sample: Any,
    patient_record: Patient,
    report: dict[str, Any],
    results: list[dict[str, Any]],
    encounter: dict[str, Any] | None,
) -> Document:
    """A sample's issued report: the DiagnosticReport (the signed PDF as its
    ``presentedForm``) and its Observations; author the pathologist who verified it."""
    people: list[str] = []
    _reports([(report, results)], people, {report["id"]: sample.verified_by})
    code, display = REPORT_SECTIONS.get(sample.section, ("721981007", "Diagnostic studies report"))
    title = f"Laboratory report {sample.accession}"
    comp = composition(
        DIAGNOSTIC_REPORT,
        sample.accession,
        uhid=sample.uhid,
        date=report.get("issued") or _iso(sample.verified_at_ms or 0),
        authors=[person(u) for u in people] or [{"reference": f"Organization/{HOSPITAL_ID}"}],
        sections=[sct_section(title, code, display, [report], typed=True)],
        encounter=encounter["id"] if encounter else "",
        status="amended" if report.get("status") == "amended" else "final",
    )
    resources = [patient(patient_record), *practitioners(people), organization()]
    if encounter is not None:
        resources += [encounter, *locations_of(encounter)]
    return Document(comp, resources + [report, *results])


def lab_reports(
    samples: list[Any], *, with_pdf: bool, base: str = ""
) -> tuple[list[tuple[dict[str, Any], list[dict[str, Any]]]], dict[str, str]]:
    """(each current report of these samples with its Observations, report id -> the
    pathologist who verified it). The PDF inline ``with_pdf``, else its URL on ``base``."""
    found, verifiers = [], {}
    for report, results, sample in diagnostic_reports.reports_of(
        samples, with_pdf=with_pdf, base=base
    ):
        encounter = report.get("encounter", {}).get("reference", "").removeprefix("Encounter/")
        observations = [
            observation_resources.observation(r, sample, encounter)
            for r in sorted(results, key=lambda r: r.analyte)
        ]
        found.append((report, observations))
        verifiers[report["id"]] = sample.verified_by
    return found, verifiers


def encounter_of(number: str, uhid: str) -> dict[str, Any] | None:
    """The visit or stay a report's order came from, as an Encounter, if it is of this
    patient (the caller has audited its read of the patient)."""
    kind = encounter_resources.kind_of(number)
    if kind == "visit":
        visit = Visit.objects.filter(visit_no=number, uhid=uhid).first()
        if visit is not None:
            return encounter_resources.visit_encounter(
                visit, encounter_resources.queue_state(visit)
            )
    if kind == "admission":
        stay = Admission.objects.filter(admission_no=number, uhid=uhid, is_admitted=True).first()
        if stay is not None:
            found = encounter_resources.admission_encounter(stay)
            found.pop("partOf", None)
            return found
    return None
