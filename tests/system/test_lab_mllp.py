"""The laboratory with real processes: a doctor's order, a collected sample with a label a
scanner reads, an analyser's results over a real MLLP connection to `nirantar lab
listen`, a pathologist's verification and a signed report that `nirantar lab
check-report` tells from an altered copy - on one node, and across nodes with the hub
stopped."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from barcode.charsets.code128 import CODES

from tests.pdf import compact, text
from tests.system.cluster import Cluster, wait_for
from tests.system.mllp import Listener, lab_command, oru
from tests.system.node import NodeProcess, Staff, add_user, staff_at

pytestmark = pytest.mark.system

QUIET = {"NIRANTAR_PRINT_WARMUP": "0"}

# What the analyser (a Sysmex XN-1000, MSH-3 "XN1000") sends for a CBC, in two messages
# as it does when a rerun completes the panel: (its code, value, unit).
FIRST = [("HGB", "11.2", "g/dL"), ("WBC", "7.2", "10^3/uL"), ("RBC", "4.9", "10^6/uL")]
SECOND = [("HCT", "42", "%"), ("MCV", "88", "fL"), ("PLT", "250", "10^3/uL")]
# ... and what the laboratory stores: the catalogue's decimals, and flags for a man of 52.
STORED = {
    "HGB": ("11.2", "g/dL", "L"),
    "WBC": ("7.2", "10^3/uL", ""),
    "RBC": ("4.90", "10^6/uL", ""),
    "HCT": ("42.0", "%", ""),
    "MCV": ("88.0", "fL", ""),
    "PLT": ("250", "10^3/uL", ""),
}


# -- people and requests --------------------------------------------------------------


def register_visit(node: NodeProcess, clerk: Staff, name: str) -> dict[str, Any]:
    status, patient = clerk.json(
        node, "POST", "/api/v1/patients", {"name_en": name, "sex": "M", "age_years": 52}
    )
    assert status == 201, patient
    status, visit = clerk.json(
        node, "POST", "/api/v1/visits", {"uhid": patient["uhid"], "department": "Medicine"}
    )
    assert status == 201, visit
    return dict(visit)


def order_cbc(node: NodeProcess, doctor: Staff, visit: dict[str, Any]) -> str:
    status, order = doctor.json(
        node, "POST", f"/api/v1/visits/{visit['visit']}/lab-orders", {"tests": ["CBC"]}
    )
    assert status == 201, order
    assert (order["uhid"], order["tests"], order["status"]) == (visit["uhid"], ["CBC"], "ordered")
    return str(order["order"])


def collect(node: NodeProcess, lab: Staff, order: str) -> dict[str, Any]:
    status, collected = lab.json(node, "POST", f"/api/v1/lab/orders/{order}/collect")
    assert status == 201, collected
    [sample] = collected["samples"]  # a CBC is one EDTA tube
    assert (sample["tests"], sample["status"], sample["collected_by"]) == (
        ["CBC"],
        "collected",
        lab.username,
    )
    assert sample["container"].startswith("EDTA") and sample["results"] == []
    return dict(sample)


def send_results(listener: Listener, uhid: str, accession: str, prefix: str) -> None:
    """The analyser's two messages over one connection, each acknowledged AA with its own
    control id; a retransmission (its ACK was lost) is acknowledged and stored once."""
    messages = [
        (f"{prefix}-0001", oru("XN1000", f"{prefix}-0001", uhid, accession, FIRST, "CBC")),
        (f"{prefix}-0002", oru("XN1000", f"{prefix}-0002", uhid, accession, SECOND, "CBC")),
    ]
    with listener.client() as analyser:
        for control_id, message in [*messages, messages[0]]:
            ack = analyser.send(message)
            assert (ack.code, ack.control_id) == ("AA", control_id), ack.raw


def assert_results(sample: dict[str, Any], verified: bool) -> None:
    got = {
        r["analyte"]: (r["value"], r["unit"], r["flag"]) for r in sample["results"] if r["current"]
    }
    assert got == STORED, sample["results"]
    assert len(sample["results"]) == len(STORED), "a retransmitted message was stored twice"
    for r in sample["results"]:
        assert (r["source"], r["instrument"], r["by"]) == ("analyser", "XN1000", "analyser"), r
        assert r["verified"] is verified, r
    assert sample["critical"] is False


# -- the label's barcode, read as a scanner reads it ---------------------------------

CODE128 = {pattern: value for value, pattern in enumerate(CODES)}
STOP = "1100011101011"  # bar 2, space 3, bar 3, space 1, bar 1, space 1, bar 2 (modules)


def _raster(pdf: bytes, dpi: int, directory: Path) -> tuple[int, int, bytes]:
    """The page as 8-bit grey pixels (poppler's pdftoppm, as a printer driver renders it)."""
    source = directory / "label.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", str(source), str(directory / "p")],
        check=True,
    )
    data = (directory / "p.pgm").read_bytes()
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    assert header, data[:40]
    return int(header[1]), int(header[2]), data[header.end() :]


def _pattern(widths: list[int]) -> str:
    """Bar and space widths in pixels as module counts ("11011001100")."""
    modules = 13 if len(widths) == 7 else 11
    counts = [max(1, round(w * modules / sum(widths))) for w in widths]
    if sum(counts) != modules:
        return ""
    return "".join(("1" if i % 2 == 0 else "0") * c for i, c in enumerate(counts))


def _code128_text(values: list[int]) -> str | None:
    """Symbol values (start, data..., check) as text, if the check digit holds."""
    start, *data, check = values
    if start not in (103, 104, 105):
        return None
    if (start + sum(i * v for i, v in enumerate(data, 1))) % 103 != check:
        return None
    code, shift, out = "ABC"[start - 103], False, []
    for value in data:
        current = ("B" if code == "A" else "A") if shift else code
        shift = False
        if current == "C" and value < 100:
            out.append(f"{value:02d}")
        elif current != "C" and value < 96:
            out.append(chr(value + 32) if current == "B" or value < 64 else chr(value - 64))
        elif value == 98 and current != "C":
            shift = True
        elif value in (99, 100, 101):
            code = {99: "C", 100: "B", 101: "A"}[value]
    return "".join(out)


def _scan_line(row: bytes) -> str | None:
    dark = [pixel < 128 for pixel in row]
    if True not in dark:
        return None
    first, last = dark.index(True), len(dark) - dark[::-1].index(True)
    runs: list[int] = []
    previous = None
    for pixel in dark[first:last]:
        if pixel == previous:
            runs[-1] += 1
        else:
            runs.append(1)
            previous = pixel
    if len(runs) < 3 * 6 + 7 or (len(runs) - 7) % 6:
        return None
    values = [CODE128.get(_pattern(runs[i : i + 6]), -1) for i in range(0, len(runs) - 7, 6)]
    if -1 in values or _pattern(runs[-7:]) != STOP:
        return None
    return _code128_text(values)


def scan_code128(pdf: bytes, dpi: int = 300) -> set[str]:
    """What a Code 128 scanner reads off the page rendered at ``dpi``: every pixel row is
    a scan line; a line reads only with valid start, symbols, check digit and stop."""
    with tempfile.TemporaryDirectory() as tmp:
        width, height, pixels = _raster(pdf, dpi, Path(tmp))
    found = (_scan_line(pixels[y * width : (y + 1) * width]) for y in range(height))
    return {text for text in found if text}


def zbarimg(pdf: bytes, dpi: int = 300) -> set[str] | None:
    """What zbar reads off the rendered page; None where zbarimg isn't installed."""
    if shutil.which("zbarimg") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        source, image = Path(tmp) / "label.pdf", Path(tmp) / "label"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(source), str(image)],
            check=True,
        )
        done = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Scode128.enable", f"{image}.png"],
            capture_output=True,
            text=True,
        )
    return set(done.stdout.split())


def check_label(pdf: bytes, sample: dict[str, Any], patient_name: str) -> None:
    payload = sample["accession"].replace("-", "")
    assert pdf.startswith(b"%PDF"), pdf[:20]
    words = compact(text(pdf))
    for expected in (sample["accession"], sample["uhid"], patient_name, "CBC"):
        assert compact(expected) in words, (expected, words)
    # At 300 dpi (a 300-dpi label printer), by our own scan-line decoder and, where
    # installed, by zbar: the barcode reads back as the accession without its dashes.
    assert scan_code128(pdf, 300) == {payload}
    assert zbarimg(pdf, 300) in (None, {payload})


# -- report checks -------------------------------------------------------------------


def check_report(node: NodeProcess, pdf: bytes, directory: Path) -> None:
    """`nirantar lab check-report` at ``node``: exit 0 for the report, 1 for a copy with
    one byte altered (in the page content, and in the signature trailer)."""
    genuine = directory / "report.pdf"
    genuine.write_bytes(pdf)
    done = lab_command(node, "check-report", str(genuine))
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert done.stdout.startswith("GENUINE"), done.stdout
    trailer = pdf.rindex(b"%NIRANTAR-SIGNATURE")
    for where in (len(pdf) // 2, trailer + 30):
        altered = bytearray(pdf)
        altered[where] ^= 0x01
        forged = directory / f"altered-{where}.pdf"
        forged.write_bytes(bytes(altered))
        done = lab_command(node, "check-report", str(forged))
        assert done.returncode == 1, (where, done.stdout, done.stderr)
        assert done.stdout.startswith("NOT GENUINE"), done.stdout


def check_report_text(pdf: bytes, sample: dict[str, Any], patient: str, verifier: str) -> None:
    words = compact(text(pdf))
    for expected in (sample["accession"], patient, verifier, "Haemoglobin", "11.2", "4.90"):
        assert compact(expected) in words, (expected, words)


# -- the hospital: a hub and two edges (edge-1 the OPD's node, edge-2 the laboratory's) --

USERS = [
    ("dr-verma", "doctor", "Dr. Anil Verma"),
    ("tech-ravi", "lab", "Ravi Kumar"),
    ("dr-rao", "pathologist", "Dr. Kavita Rao"),
]


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # One hospital for the module: starting one costs 20-30 s. The first test works at
    # the laboratory's node alone; the second stops the hub and starts it again.
    cluster = Cluster(tmp_path_factory.mktemp("lab"), edges=2, env=QUIET).start()
    with ThreadPoolExecutor(len(USERS)) as pool:  # each `user add` is a process of its own
        list(pool.map(lambda user: add_user(cluster.hub, *user), USERS))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def staff(hospital: Cluster) -> Callable[[NodeProcess, str], Staff]:
    """staff(node, username): that user, with a token issued at that node (once)."""
    issued: dict[tuple[str, str], Staff] = {}

    def at(node: NodeProcess, username: str) -> Staff:
        if (node.name, username) not in issued:
            issued[node.name, username] = (
                Staff(username, node.token) if username == "clerk" else staff_at(node, username)
            )
        return issued[node.name, username]

    return at


def test_order_collect_analyser_verify_report_and_check(
    hospital: Cluster, staff: Callable[[NodeProcess, str], Staff], tmp_path: Path
) -> None:
    node = hospital.edges[1]  # all of it at the laboratory's node
    clerk, doctor = staff(node, "clerk"), staff(node, "dr-verma")
    lab, pathologist = staff(node, "tech-ravi"), staff(node, "dr-rao")

    visit = register_visit(node, clerk, "Mohan Lal Gupta")
    uhid = visit["uhid"]
    order = order_cbc(node, doctor, visit)
    status, waiting = lab.json(node, "GET", "/api/v1/lab/orders")
    assert status == 200 and order in [o["order"] for o in waiting], waiting

    sample = collect(node, lab, order)
    accession = sample["accession"]
    assert accession.startswith("S-003-"), accession  # minted here (edge-2 is number 3)
    status, headers, label = lab.request(node, "GET", sample["label"])
    assert status == 200 and headers["Content-Type"] == "application/pdf", label[:300]
    check_label(label, sample, "Mohan Lal Gupta")
    status, received = lab.json(node, "POST", f"/api/v1/lab/samples/{accession}/receive")
    assert status == 200 and received["status"] == "received", received

    with Listener(node) as listener:
        send_results(listener, uhid, accession, "XN")
        # An unknown accession is refused (AE), echoing its control id, and kept in the
        # error queue: the listener answers every message, good or bad.
        with listener.client() as analyser:
            ack = analyser.send(oru("XN1000", "XN-0003", uhid, "S-101-0009999-5", FIRST))
        assert (ack.code, ack.control_id) == ("AE", "XN-0003"), ack.raw

    status, resulted = lab.json(node, "GET", f"/api/v1/lab/samples/{accession}")
    assert status == 200, resulted
    assert resulted["status"] == "resulted", resulted
    assert_results(resulted, verified=False)
    status, worklist = lab.json(node, "GET", "/api/v1/lab/worklist")
    assert status == 200 and accession in [s["accession"] for s in worklist]
    status, errors = lab.json(node, "GET", "/api/v1/lab/errors")
    assert status == 200, errors
    assert [(e["control_id"], e["ack"]) for e in errors] == [("XN-0003", "AE")], errors

    # Nothing reaches the report before a pathologist verifies it.
    status, early = pathologist.json(node, "POST", f"/api/v1/lab/samples/{accession}/report")
    assert status == 409, early
    status, verified = pathologist.json(node, "POST", f"/api/v1/lab/samples/{accession}/verify")
    assert status == 200 and verified["status"] == "verified", verified
    assert verified["verified_by"] == "dr-rao"
    assert_results(verified, verified=True)
    status, reported = pathologist.json(node, "POST", f"/api/v1/lab/samples/{accession}/report")
    assert status == 200 and reported["status"] == "reported", reported
    assert reported["reported_at"]

    status, headers, pdf = doctor.request(node, "GET", reported["report"])
    assert status == 200 and headers["Content-Type"] == "application/pdf", pdf[:300]
    check_report_text(pdf, reported, "Mohan Lal Gupta", "Dr. Kavita Rao")
    check_report(node, pdf, tmp_path)


def test_the_lab_works_with_the_hub_stopped_and_results_reach_the_doctor(
    hospital: Cluster, staff: Callable[[NodeProcess, str], Staff], tmp_path: Path
) -> None:
    hub, (opd, lab_node) = hospital.hub, hospital.edges
    clerk, doctor = staff(opd, "clerk"), staff(opd, "dr-verma")
    lab, pathologist = staff(lab_node, "tech-ravi"), staff(lab_node, "dr-rao")
    hospital.wait_converged()  # the tokens issued above are known everywhere
    hub.stop()

    visit = register_visit(opd, clerk, "Suresh Chand Mishra")
    uhid = visit["uhid"]
    order = order_cbc(opd, doctor, visit)

    def ordered_at_lab() -> bool:
        status, orders = lab.json(lab_node, "GET", "/api/v1/lab/orders")
        assert status == 200, orders
        return order in [o["order"] for o in orders]

    wait_for(ordered_at_lab, what=f"edge-2 to receive order {order} from edge-1, peer to peer")
    sample = collect(lab_node, lab, order)
    accession = sample["accession"]
    assert accession.startswith("S-003-"), accession  # minted at edge-2 with the hub down

    with Listener(lab_node) as listener:
        send_results(listener, uhid, accession, "XN-E2")
    status, verified = pathologist.json(lab_node, "POST", f"/api/v1/lab/samples/{accession}/verify")
    assert status == 200 and verified["status"] == "verified", verified
    status, reported = pathologist.json(lab_node, "POST", f"/api/v1/lab/samples/{accession}/report")
    assert status == 200 and reported["status"] == "reported", reported

    def reported_at_opd() -> dict[str, Any] | None:
        status, seen = doctor.json(opd, "GET", f"/api/v1/lab/samples/{accession}")
        return seen if status == 200 and seen["status"] == "reported" else None

    seen = wait_for(reported_at_opd, what=f"edge-1 to see sample {accession} reported")
    assert_results(seen, verified=True)
    assert (seen["verified_by"], seen["collected_by"]) == ("dr-rao", "tech-ravi")

    # The doctor's view of the patient: the visit carries its order and verified results.
    status, timeline = doctor.json(opd, "GET", f"/api/v1/patients/{uhid}/timeline")
    assert status == 200, timeline
    [record] = timeline["visits"]
    assert [o["order"] for o in record["lab_orders"]] == [order]
    shown = {r["analyte"]: (r["value"], r["unit"], r["flag"]) for r in record["lab_results"]}
    assert shown == STORED, record["lab_results"]
    assert {r["accession"] for r in record["lab_results"]} == {accession}
    assert all(r["verified_at"] for r in record["lab_results"])

    # The report printed at the OPD node checks out there (the hub still down).
    status, _, pdf = doctor.request(opd, "GET", seen["report"])
    assert status == 200, pdf[:300]
    check_report_text(pdf, seen, "Suresh Chand Mishra", "Dr. Kavita Rao")
    check_report(opd, pdf, tmp_path)

    # The hub comes back, catches up, and every node holds the same laboratory record.
    hub.start(sync_interval=0.5)
    statuses = hospital.wait_converged()
    assert len({s["digest"] for s in statuses}) == 1, "projections differ once the hub is back"
