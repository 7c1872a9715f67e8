"""One Chromium per node, started with the first PDF and closed when idle."""

import subprocess
import sys
import threading
import time

import pytest

from nirantar.printing import renderer as printing
from nirantar.printing.renderer import A5, PdfRenderer, RendererUnavailable
from nirantar.printing.service import Service, _listening, render_remote, socket_address
from tests import pdf as read_pdf

SLIP = "<p>राम कुमार शर्मा</p>"


def wait_for(condition, seconds=15.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_chromium_starts_with_the_first_pdf_and_closes_when_idle():
    renderer = PdfRenderer(idle_seconds=0.5)
    try:
        assert not renderer.browser_running and renderer.launches == 0
        assert renderer.render(SLIP).startswith(b"%PDF")
        assert renderer.browser_running and renderer.launches == 1
        wait_for(lambda: not renderer.browser_running)
        assert renderer.render(SLIP).startswith(b"%PDF")  # started again
        assert renderer.launches == 2
    finally:
        renderer.close()


def test_a_busy_renderer_keeps_its_browser():
    renderer = PdfRenderer(idle_seconds=2)
    try:
        for _ in range(3):
            renderer.render(SLIP)
        assert renderer.launches == 1
    finally:
        renderer.close()


def document(title, body, style=""):
    return (
        f"<!doctype html><html lang='hi'><head><title>{title}</title>"
        f"<style>body {{ font-family: 'Noto Sans'; }} {style}</style></head>"
        f"<body>{body}</body></html>"
    )


def test_a_pdf_after_one_with_the_same_head_holds_only_its_own_body_and_title():
    renderer = PdfRenderer(idle_seconds=2)
    try:
        renderer.render(document("slip 1", "<p>राम कुमार शर्मा</p>"))
        second = renderer.render(document("slip 2", "<p>सीता देवी</p>"))
    finally:
        renderer.close()
    text = read_pdf.text(second)
    assert "सीता देवी" in text and "शर्मा" not in text
    assert "Title:           slip 2" in read_pdf._run("pdfinfo", second)


def test_a_pdf_with_another_head_is_drawn_with_its_own_styles():
    renderer = PdfRenderer(idle_seconds=2)
    body = "<p>shown</p><p class='hidden'>not printed</p>"
    try:
        renderer.render(document("first", body))
        second = renderer.render(document("second", body, ".hidden { display: none; }"))
        third = renderer.render(document("third", body))
    finally:
        renderer.close()
    assert "not printed" not in read_pdf.text(second)
    assert "not printed" in read_pdf.text(third)


def test_a_roll_printout_after_a_page_one_is_as_tall_as_its_own_content():
    renderer = PdfRenderer(idle_seconds=2)
    # Taller than the 800 px viewport: the roll is cut at the viewport's height at least.
    tall = "<div style='height: 250mm'>राम</div>"
    try:
        renderer.render(document("a5", "<div style='height: 300mm'>सीता</div>"), A5)
        roll = renderer.render(document("roll", tall), printing.THERMAL_80)
    finally:
        renderer.close()
    width, height = read_pdf.page_size_mm(roll)
    assert width == pytest.approx(80.0, abs=0.3) and 250 < height < 260  # plus the body's margins


def test_a_short_roll_printout_is_cut_at_its_content_not_the_window():
    renderer = PdfRenderer(idle_seconds=2)
    try:
        roll = renderer.render(
            document("roll", "<div style='height: 50mm'>राम</div>"), printing.THERMAL_80
        )
    finally:
        renderer.close()
    width, height = read_pdf.page_size_mm(roll)
    # 50 mm and the body's margins; the 800 px window it is laid out in is 212 mm.
    assert width == pytest.approx(80.0, abs=0.3) and 50 < height < 60


def renderer_command(tmp_path, *extra):
    return [
        sys.executable,
        "-m",
        "nirantar.printing.service",
        "--socket",
        socket_address(tmp_path),
        "--lock",
        str(tmp_path / "pdf.lock"),
        *extra,
    ]


@pytest.fixture
def service(tmp_path):
    process = subprocess.Popen(renderer_command(tmp_path, "--idle", "60"))  # noqa: S603
    wait_for(lambda: _listening(socket_address(tmp_path)))
    yield socket_address(tmp_path)
    process.terminate()
    process.wait(timeout=20)


def test_the_renderer_process_makes_pdfs_for_any_worker(service):
    assert render_remote(service, SLIP, A5).startswith(b"%PDF")
    assert render_remote(service, SLIP, printing.THERMAL_80).startswith(b"%PDF")


def test_a_second_renderer_for_the_same_socket_steps_aside(service, tmp_path):
    second = subprocess.run(renderer_command(tmp_path), timeout=30)  # noqa: S603
    assert second.returncode == 0
    assert render_remote(service, SLIP, A5).startswith(b"%PDF")


def test_the_first_pdf_starts_the_renderer_and_it_ends_when_idle(tmp_path):
    command = renderer_command(tmp_path, "--idle", "1", "--exit-when-idle")
    pdf = Service(socket_address(tmp_path), command)
    assert not _listening(pdf.address)
    assert pdf.render(SLIP, A5).startswith(b"%PDF")
    started = pdf._started
    assert started is not None
    assert started.wait(timeout=30) == 0  # Chromium closed, then the process ended
    assert not _listening(pdf.address)
    assert pdf.render(SLIP, A5).startswith(b"%PDF")  # and the next PDF starts another
    assert pdf._started is not started
    pdf._started.terminate()
    pdf._started.wait(timeout=20)


def test_a_data_directory_too_deep_for_a_socket_path_gets_an_abstract_socket(tmp_path):
    deep = tmp_path / ("d" * 120)
    assert socket_address(deep).startswith("\0nirantar-pdf-")
    assert socket_address(tmp_path) == str(tmp_path.resolve() / "pdf.sock")


def test_without_the_renderer_process_a_pdf_is_unavailable(tmp_path):
    with pytest.raises(RendererUnavailable, match="not running"):
        render_remote(str(tmp_path / "pdf.sock"), SLIP, A5)
    broken = Service(str(tmp_path / "pdf.sock"), ["false"], start_wait=1)
    with pytest.raises(RendererUnavailable, match="did not start"):
        broken.render(SLIP, A5)


def test_without_the_renderer_a_slip_answers_503_and_registration_goes_on(
    clerk_api, registered, monkeypatch, tmp_path
):
    monkeypatch.setattr(
        printing, "_service", Service(str(tmp_path / "pdf.sock"), ["false"], start_wait=1)
    )
    visit = clerk_api.post("/api/v1/visits", {"uhid": registered["uhid"], "department": "ENT"})
    assert visit.status_code == 201
    response = clerk_api.get(visit.json()["slip"])
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "printing_unavailable"


def test_every_counter_asking_at_once_for_the_first_slip_gets_it(tmp_path):
    # 40 counters' slips while the renderer and Chromium start: more than a default
    # listen backlog (5), and several threads racing to start the renderer.
    pdf = Service(socket_address(tmp_path), renderer_command(tmp_path, "--idle", "60"))
    answers: list[bytes] = []

    def ask():
        answers.append(pdf.render(SLIP, A5))

    threads = [threading.Thread(target=ask) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(answers) == 40 and all(a.startswith(b"%PDF") for a in answers)
    finally:
        pdf._started.terminate()
        pdf._started.wait(timeout=20)
