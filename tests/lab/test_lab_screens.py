"""The laboratory's screens: collect from the bench, enter and verify results, issue
the report, check it on the check page, and see turnaround times."""

from __future__ import annotations

import pytest
from django.test import Client

from nirantar.lab.models import Sample
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_from_the_bench_to_a_checked_report(registered, clerk_api, api_as, doctor, lab_tech):
    visit = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "MED"}
    ).json()["visit"]
    order = api_as(doctor).post(f"/api/v1/visits/{visit}/lab-orders", {"tests": ["RBS"]}).json()
    bench = signed_in(lab_tech)
    page = bench.get("/lab/")
    assert order["order"] in page.content.decode() and "Ram Kumar Sharma" in page.content.decode()

    response = bench.post(f"/lab/orders/{order['order']}/collect")
    assert response.status_code == 302
    sample = Sample.objects.get(uhid=registered["uhid"])
    assert response["Location"].endswith(f"/lab/samples/{sample.accession}")
    label = bench.get(f"/lab/samples/{sample.accession}/label.pdf")
    assert label["Content-Type"] == "application/pdf"

    bench.post(f"/lab/samples/{sample.accession}", {"do": "receive"})
    bench.post(f"/lab/samples/{sample.accession}", {"do": "results", "value_GLUR": "512"})
    page = bench.get(f"/lab/samples/{sample.accession}").content.decode()
    assert "512" in page and "awaiting verification" in page
    assert "Critical results" in bench.get("/lab/").content.decode()  # 512 mg/dL is past 450
    # The technician can't verify; the pathologist can.
    assert bench.post(f"/lab/samples/{sample.accession}", {"do": "verify"}).status_code == 403
    pathologist = signed_in(make_user("patho", "pathologist", "Dr. Path"))
    pathologist.post(f"/lab/samples/{sample.accession}", {"do": "verify"})
    pathologist.post(f"/lab/samples/{sample.accession}", {"do": "report"})
    sample.refresh_from_db()
    assert sample.status == "reported"
    pdf = signed_in(doctor).get(f"/lab/samples/{sample.accession}/report.pdf").content

    checker = signed_in(doctor)
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = checker.post("/lab/check", {"report": SimpleUploadedFile("r.pdf", pdf)})
    assert 'class="ok"' in good.content.decode() and "Genuine" in good.content.decode()
    altered = bytearray(pdf)
    altered[len(pdf) // 2] ^= 0x01
    bad = checker.post("/lab/check", {"report": SimpleUploadedFile("r.pdf", bytes(altered))})
    assert "Not genuine" in bad.content.decode()

    turnaround = pathologist.get("/lab/turnaround").content.decode()
    assert "RBS" in turnaround and "biochemistry" in turnaround


def test_an_order_from_a_paper_prescription_at_the_lab_counter(registered, lab_tech, api_as):
    bench = signed_in(lab_tech)
    bench.post(
        "/lab/order", {"uhid": registered["uhid"], "tests": ["CBC", "ESR"], "note": "Dr. Rao"}
    )
    [order] = api_as(lab_tech).get("/api/v1/lab/orders").json()
    assert (order["uhid"], order["tests"], order["source"]) == (
        registered["uhid"],
        ["CBC", "ESR"],
        "lab",
    )
    refused = api_as(lab_tech).post(
        "/api/v1/lab/orders", {"uhid": "101-0000099-9", "tests": ["CBC"]}
    )
    assert refused.status_code in (400, 404)


def test_a_clerk_has_no_laboratory(clerk):
    assert signed_in(clerk).get("/lab/").status_code == 403
