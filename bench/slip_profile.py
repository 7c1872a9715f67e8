"""Where an OPD slip's time goes: context (barcode, QR), template, Chromium, the socket.

Renders N slips of different (unsaved) patients, without a database or a server, and
prints per-stage medians and p95 in ms:

* ``code128`` / ``qr`` / ``context`` / ``template``: Python, in this process;
* ``set_content`` / ``pdf``: one warm Chromium page driven from this thread (the
  renderer's own calls, timed one by one); ``swap``: the body-and-title swap the
  renderer does instead of ``set_content`` when the head is the page's already;
* ``no_hindi``: the same two calls for the slip with every Devanagari character
  removed (what the Hindi text and its font cost);
* ``renderer``: ``PdfRenderer.render`` in-process (its browser thread and queue);
* ``service``: ``render_remote`` through a renderer process on a unix socket, as
  `serve`'s workers print; minus ``renderer`` it is the socket and the process hop.

    python -m bench.slip_profile [--slips 200] [--page a5]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import percentile


def _setup_django(data_dir: Path) -> None:
    from nirantar import config
    from nirantar.ledger import keys

    os.environ["NIRANTAR_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    config.save(data_dir, config.NodeConfig(node="bench-counter", counter_letter="A"))
    config.create_secret_key(data_dir)
    keys.save_private(data_dir / "node.key", keys.generate())
    import django

    django.setup()


def _people(n: int, seed: int) -> list[tuple[Any, Any, Any]]:
    from bench.names import given_names, person
    from nirantar.registration.models import Department, Patient, Visit

    rng = random.Random(seed)  # noqa: S311 - sample data
    given = given_names()
    department = Department(code="MED", name_en="Medicine", name_hi="मेडिसिन")
    out = []
    for i in range(n):
        name_en, name_hi = person(rng, given)
        uhid = f"101-26-{rng.randrange(10**6):06d}-{rng.randrange(10)}"
        patient = Patient(
            uhid=uhid,
            name_en=name_en,
            name_hi=name_hi,
            sex=rng.choice("MF"),
            date_of_birth=date(rng.randint(1940, 2024), rng.randint(1, 12), rng.randint(1, 28)),
            guardian_relation="S/O",
            guardian_name=person(rng, given)[0],
            category="GEN",
        )
        visit = Visit(
            visit_no=f"V101-26-{i:06d}",
            uhid=uhid,
            department="MED",
            room_en="Room 101",
            room_hi="कक्ष 101",
            token=f"M-{i % 400 + 1:03d}",
            token_no=i % 400 + 1,
            counter="A",
            local_date=date(2026, 11, 28),
            at_ms=1795000000000 + i * 60000,
            registered_by="clerk1",
            node="bench-counter",
        )
        out.append((visit, patient, department))
    return out


def _timed(samples: dict[str, list[float]], key: str, call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = call()
    samples.setdefault(key, []).append((time.perf_counter() - started) * 1000)
    return result


DEVANAGARI = re.compile(r"[\u0900-\u097f]+")


def profile(slips: int, page: str, seed: int = 1, warmup: int = 10) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from nirantar.printing import barcodes
    from nirantar.printing.renderer import CHROMIUM_ARGS, PdfRenderer, chromium_path

    try:
        from nirantar.printing.renderer import _SWAP_BODY as SWAP_BODY
    except ImportError:  # profiling a version without it
        SWAP_BODY = None
    from nirantar.printing.service import _listening, render_remote, socket_address
    from nirantar.registration import slip

    size = slip.FORMATS[page]
    people = _people(warmup + slips, seed)
    samples: dict[str, list[float]] = {}
    htmls: list[str] = []
    for i, (visit, patient, department) in enumerate(people):
        s: dict[str, list[float]] = samples if i >= warmup else {}
        digits = patient.uhid.replace("-", "")
        _timed(s, "code128", lambda d=digits: barcodes.code128_svg(d))
        text = f"UHID:{patient.uhid};VISIT:{visit.visit_no};TOKEN:{visit.token}"
        _timed(s, "qr", lambda t=text: barcodes.qr_svg(t))
        context = _timed(
            s, "context", lambda v=visit, p=patient, d=department: slip.slip_context(v, p, d)
        )
        htmls.append(_timed(s, "template", lambda c=context: slip.slip_html(c, page)))
    samples["html_kb"] = [len(h.encode()) / 1024 for h in htmls[warmup:]]

    # Chromium, stage by stage, driven from this thread as the renderer drives it.
    with sync_playwright() as playwright:
        executable = chromium_path()
        print(f"Chromium: {executable}", file=sys.stderr)
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        tab = browser.new_page()
        tab.route("**/*", lambda route: route.abort())
        tab.set_viewport_size({"width": round(size.width_mm * 96 / 25.4), "height": 800})
        for variant, key in ((lambda h: h, ""), (lambda h: DEVANAGARI.sub("", h), "no_hindi:")):
            for i, html in enumerate(htmls):
                s = samples if i >= warmup else {}
                doc = variant(html)
                _timed(
                    s,
                    key + "set_content",
                    lambda d=doc: tab.set_content(d, wait_until="domcontentloaded"),
                )
                if SWAP_BODY is not None:  # the same document again: its head is loaded
                    _timed(s, key + "swap", lambda d=doc: tab.evaluate(SWAP_BODY, d))
                pdf = _timed(s, key + "pdf", lambda: tab.pdf(**slip_pdf_options(size, tab)))
                s.setdefault(key + "pdf_kb", []).append(len(pdf) / 1024)
        browser.close()

    renderer = PdfRenderer(idle_seconds=0)
    try:
        for i, html in enumerate(htmls):
            _timed(
                samples if i >= warmup else {}, "renderer", lambda h=html: renderer.render(h, size)
            )
    finally:
        renderer.close()

    with tempfile.TemporaryDirectory(prefix="slip-profile-") as tmp:
        address = socket_address(Path(tmp))
        command = [sys.executable, "-m", "nirantar.printing.service", "--socket", address, "--warm"]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # noqa: S603
        try:
            deadline = time.monotonic() + 20
            while not _listening(address):
                if time.monotonic() > deadline:
                    raise RuntimeError("the renderer process did not start")
                time.sleep(0.05)
            for i, html in enumerate(htmls):
                s = samples if i >= warmup else {}
                _timed(s, "service", lambda h=html: render_remote(address, h, size))
        finally:
            process.terminate()
            process.wait(timeout=20)
    return samples


def slip_pdf_options(size: Any, tab: Any) -> dict[str, Any]:
    if size.height_mm is None:
        height = f"{tab.evaluate('Math.ceil(document.documentElement.scrollHeight)') + 4}px"
    else:
        height = f"{size.height_mm}mm"
    return {
        "width": f"{size.width_mm}mm",
        "height": height,
        "print_background": True,
        "margin": {"top": "0", "right": "0", "bottom": "0", "left": "0"},
    }


def report(samples: dict[str, list[float]]) -> str:
    lines = [f"{'stage':<22} {'n':>5} {'p50':>8} {'p95':>8}"]
    for key, values in samples.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        lines.append(f"{key:<22} {len(values):>5} {p50:>8.2f} {p95:>8.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slips", type=int, default=200)
    parser.add_argument("--page", default="a5", choices=("a5", "thermal80"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="slip-profile-data-") as tmp:
        _setup_django(Path(tmp))
        print(report(profile(args.slips, args.page, args.seed)))


if __name__ == "__main__":
    main()
