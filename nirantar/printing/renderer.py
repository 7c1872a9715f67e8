"""HTML to PDF through one long-lived headless Chromium per process.

Playwright's sync API is bound to the thread that started it, so one worker
thread owns the browser and a queue feeds it; any request thread may call
``render``. Launching Chromium takes ~0.7 s, a warm render ~50 ms, hence one
browser kept running. If Chromium dies it is relaunched on the next job.
"""

from __future__ import annotations

import atexit
import logging
import queue
import shutil
import threading
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

CSS_PX_PER_MM = 96 / 25.4
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]


class RendererUnavailable(Exception):
    """No PDF can be made: Chromium is missing or not answering. The message says why."""


@dataclass(frozen=True)
class PageSize:
    name: str
    width_mm: float
    height_mm: float | None  # None: as tall as the content (thermal roll)


A5 = PageSize("a5", 148, 210)
A4 = PageSize("a4", 210, 297)
THERMAL_80 = PageSize("thermal80", 80, None)
LABEL_50x25 = PageSize("label50x25", 50, 25)
# A patient wristband (thermal wristband printers take 1 x 11 inch bands; the clasp
# takes the ends, so what is printed is about 250 x 25 mm).
WRISTBAND = PageSize("wristband", 250, 25)
SIZES = {s.name: s for s in (A5, A4, THERMAL_80, LABEL_50x25, WRISTBAND)}


@dataclass
class _Job:
    html: str
    size: PageSize
    done: threading.Event = field(default_factory=threading.Event)
    result: bytes | None = None
    error: BaseException | None = None


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class PdfRenderer:
    def __init__(self, executable: str | None = None, timeout: float = 30.0) -> None:
        self.executable = executable
        self.timeout = timeout
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="nirantar-pdf", daemon=True)
                self._thread.start()

    def render(self, html: str, size: PageSize = A5) -> bytes:
        self.start()
        job = _Job(html, size)
        self._jobs.put(job)
        if not job.done.wait(self.timeout):
            raise RendererUnavailable("the PDF renderer did not answer in time")
        if job.error is not None:
            if isinstance(job.error, RendererUnavailable):
                raise job.error
            raise RendererUnavailable(f"the PDF could not be made: {job.error}") from job.error
        assert job.result is not None
        return job.result

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(timeout=10)

    # -- the browser thread -------------------------------------------------
    def _run(self) -> None:
        executable = self.executable or chromium_path()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            self._fail_all(RendererUnavailable(f"playwright is not installed: {exc}"))
            return
        if executable is None:
            self._fail_all(
                RendererUnavailable("Chromium is not installed (Debian package `chromium`)")
            )
            return
        with sync_playwright() as playwright:
            browser: Any = None
            page: Any = None
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                try:
                    if browser is None or not browser.is_connected():
                        browser = playwright.chromium.launch(
                            executable_path=executable, args=CHROMIUM_ARGS
                        )
                        page = None
                    if page is None or page.is_closed():
                        page = browser.new_page()
                        # Nothing on a printout comes from the network.
                        page.route("**/*", lambda route: route.abort())
                    job.result = self._render(page, job)
                except Exception as exc:  # noqa: BLE001 - reported to the caller
                    log.exception("PDF rendering failed")
                    job.error = exc
                    page = None
                    if browser is not None and not browser.is_connected():
                        browser = None
                finally:
                    job.done.set()
            if browser is not None and browser.is_connected():
                browser.close()

    @staticmethod
    def _render(page: Any, job: _Job) -> bytes:
        size = job.size
        width_px = round(size.width_mm * CSS_PX_PER_MM)
        if (page.viewport_size or {}).get("width") != width_px:
            page.set_viewport_size({"width": width_px, "height": 800})
        # Printouts use only inline SVG and fonts installed on the machine, so the
        # document is complete once parsed; waiting for "load" only adds time.
        page.set_content(job.html, wait_until="domcontentloaded")
        if size.height_mm is None:
            height_px = page.evaluate("Math.ceil(document.documentElement.scrollHeight)") + 4
            height = f"{height_px}px"
        else:
            height = f"{size.height_mm}mm"
        pdf: bytes = page.pdf(
            width=f"{size.width_mm}mm",
            height=height,
            print_background=True,
            margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
        )
        return pdf

    def _fail_all(self, error: BaseException) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job.error = error
            job.done.set()


_renderer: PdfRenderer | None = None
_renderer_lock = threading.Lock()


def renderer() -> PdfRenderer:
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = PdfRenderer()
            atexit.register(_renderer.close)
        return _renderer


def render_pdf(html: str, size: PageSize = A5) -> bytes:
    return renderer().render(html, size)
