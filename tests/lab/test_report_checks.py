"""A report PDF passes its check only whole, current, and signed for a report by a node
that may still vouch; what a review forged, kept failing."""

from __future__ import annotations

from typing import Any

import pytest

from nirantar.lab import actions, report
from nirantar.lab.models import LabOrder, Sample
from nirantar.ledger.models import Event, Origin
from tests.lab.test_lab_api import (  # noqa: F401 - fixtures
    collected,
    doc,
    enter,
    lab,
    order,
    path_api,
    pathologist,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(collected: Any, lab: Any, path_api: Any, doc: Any) -> tuple[str, bytes]:  # noqa: F811
    acc = collected(["RBS"])["RBS"]["accession"]
    assert enter(lab, acc, {"GLUR": "120"}).status_code == 201
    assert path_api.post(f"/api/v1/lab/samples/{acc}/verify").status_code == 200
    assert path_api.post(f"/api/v1/lab/samples/{acc}/report").status_code == 200
    pdf = doc.get(f"/api/v1/lab/samples/{acc}/report.pdf")
    assert pdf.status_code == 200
    return acc, pdf.content


def test_a_report_checks_genuine_and_anything_added_after_its_signature_fails(reported):
    acc, pdf = reported
    assert report.check_pdf(pdf).genuine
    update = b"\n99 0 obj << /Type /Page >> endobj\nxref\ntrailer << >>\n%%EOF\n"
    for altered in (
        pdf + update,
        pdf + b"  \n",
        pdf[:-1] + b"A\n",
        pdf.replace(b"/Title", b"/Titlf", 1),
    ):
        assert not report.check_pdf(altered).genuine


def test_no_other_signature_of_the_node_passes_for_a_reports(reported):
    acc, pdf = reported
    event = Event.objects.order_by("-seq").first()
    line = f"\n%NIRANTAR-SIGNATURE v1 {event.origin} {acc} {'0' * 64} {event.sig}\n".encode()
    assert not report.check_pdf(bytes.fromhex(event.hash) + line).genuine


def test_a_revoked_nodes_report_and_an_amended_report_no_longer_pass(reported, path_api):  # noqa: F811
    acc, pdf = reported
    path_api.post(
        f"/api/v1/lab/samples/{acc}/amend", {"values": {"GLUR": "130"}, "reason": "re-run"}
    )
    stale = report.check_pdf(pdf)
    assert not stale.genuine and "amended" in stale.message
    Origin.objects.filter(kind=Origin.NODE).update(revoked_after_seq=1)
    assert "revoked" in report.check_pdf(pdf).message


def test_an_order_is_collected_once_all_its_tests_are_and_the_bench_shows_what_is_not(
    collected,  # noqa: F811
    lab,  # noqa: F811
):
    made = collected(["CBC", "RBS"])
    numbers = {s["orders"][0] for s in made.values()}
    assert {o.status for o in LabOrder.objects.filter(order_no__in=numbers)} == {"collected"}
    assert lab.get("/api/v1/lab/orders").json() == []  # nothing left to collect
    sample = Sample.objects.get(accession=made["CBC"]["accession"])
    actions.do_reject("rohit", sample.accession, "clotted")
    # Recollected at once under a new accession: the order stays collected.
    assert {o.status for o in LabOrder.objects.filter(order_no__in=numbers)} == {"collected"}
