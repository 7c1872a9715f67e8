"""HTML to PDF through one headless Chromium, started on the first job and closed when idle.

Playwright's sync API is bound to the thread that started it, so one worker
thread owns the browser and a queue feeds it; any request thread may call
``render``. Launching Chromium takes ~0.4-0.7 s, a warm A5 slip ~30 ms with the headless
shell (``chromium_path``), so the browser is kept while PDFs keep coming; but it holds
~0.5 GB resident (RSS over its ~7 processes; the full browser ~1 GB over ~9), plus
Playwright's Node.js driver (~0.14 GB), so after ``idle_seconds`` without a
job both are closed and the next job starts them again. If Chromium dies it is
relaunched on the next job.

Under `nirantar serve` the node's server workers do not keep a browser each: one
renderer process (``nirantar.printing.service``), started by the first worker that
needs a PDF and ending when idle, holds the node's only Chromium; the workers reach it
over a unix socket in the data directory (``use_service``). Elsewhere (the CLI, tests)
``render_pdf`` renders in-process.
"""

from __future__ import annotations

import atexit
import logging
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable
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


class RendererRetired(RendererUnavailable):
    """This renderer ended when idle (``on_idle``): ask a new one."""


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
    # Chromium's headless shell (Debian `chromium-headless-shell`, the same engine and
    # fonts) prints without the full browser's print-preview and print-compositor
    # round trips: page.pdf of the A5 slip took 25 ms against 68 ms in the same run,
    # a blank page 16 ms against 60 ms, with pixel-identical pages and the same text
    # layer (bench/slip_profile.py, docs/printing.md). The full browser still works.
    return (
        shutil.which("chromium-headless-shell")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


# Close Chromium after this long without a PDF (NIRANTAR_PDF_IDLE_SECONDS).
DEFAULT_IDLE_SECONDS = 300.0


class PdfRenderer:
    """``idle_seconds``: close the browser (and Playwright's driver) after this long
    without a job; 0 or None keeps it until ``close``."""

    def __init__(
        self,
        executable: str | None = None,
        timeout: float = 30.0,
        idle_seconds: float | None = DEFAULT_IDLE_SECONDS,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.executable = executable
        self.timeout = timeout
        self.idle_seconds = idle_seconds or None
        # Called, once, when idle_seconds pass without a job and no browser is running:
        # the renderer is retired (later jobs raise RendererRetired).
        self.on_idle = on_idle if self.idle_seconds else None
        self.retired = False
        self.launches = 0  # how many times Chromium was started (for tests and logs)
        self.browser_running = False
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="nirantar-pdf", daemon=True)
                self._thread.start()

    def render(self, html: str, size: PageSize = A5) -> bytes:
        job = _Job(html, size)
        with self._lock:  # against _retire: a job is either taken or refused
            if self.retired:
                raise RendererRetired("this renderer ended when idle")
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="nirantar-pdf", daemon=True)
                self._thread.start()
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
                RendererUnavailable(
                    "Chromium is not installed "
                    "(Debian package `chromium-headless-shell` or `chromium`)"
                )
            )
            return
        while True:
            # Idle: no browser and no driver until a job comes.
            try:
                job = self._jobs.get(timeout=self.idle_seconds if self.on_idle else None)
            except queue.Empty:
                if self._retire():
                    return
                continue
            if job is None:
                return
            with sync_playwright() as playwright:
                stop = self._serve(playwright, executable, job)
            self.browser_running = False
            if stop:
                return
            if self.on_idle is not None and self._retire():
                return

    def _retire(self) -> bool:
        """Idle with no browser: end, if ``on_idle`` says where (False: a job came)."""
        assert self.on_idle is not None
        with self._lock:
            if not self._jobs.empty():
                return False
            self.retired = True
        self.on_idle()
        return True

    def _serve(self, playwright: Any, executable: str, job: _Job | None) -> bool:
        """Render jobs with one browser until it has been idle for ``idle_seconds``
        (returns False) or ``close`` is called (returns True)."""
        browser: Any = None
        page: Any = None
        shell: str | None = None  # the page's document up to <body>, without its title
        try:
            while job is not None:
                try:
                    if browser is None or not browser.is_connected():
                        started = time.monotonic()
                        browser = playwright.chromium.launch(
                            executable_path=executable, args=CHROMIUM_ARGS
                        )
                        self.launches += 1
                        self.browser_running = True
                        log.info("Chromium started in %.2f s", time.monotonic() - started)
                        page = None
                    if page is None or page.is_closed():
                        page = browser.new_page()
                        shell = None
                        # Nothing on a printout comes from the network.
                        page.route("**/*", lambda route: route.abort())
                    job.result, shell = self._render(page, job, shell)
                except Exception as exc:  # noqa: BLE001 - reported to the caller
                    log.exception("PDF rendering failed")
                    job.error = exc
                    page = None
                    if browser is not None and not browser.is_connected():
                        browser = None
                finally:
                    job.done.set()
                try:
                    job = self._jobs.get(timeout=self.idle_seconds)
                except queue.Empty:
                    log.info("Chromium closed after %.0f s without a PDF", self.idle_seconds)
                    return False
            return True
        finally:
            if browser is not None and browser.is_connected():
                browser.close()

    @staticmethod
    def _render(page: Any, job: _Job, shell: str | None) -> tuple[bytes, str | None]:
        """The PDF of ``job``, and the shell now loaded in ``page`` (see ``_shell``)."""
        size = job.size
        width_px = round(size.width_mm * CSS_PX_PER_MM)
        if (page.viewport_size or {}).get("width") != width_px:
            page.set_viewport_size({"width": width_px, "height": 800})
        wanted = _shell(job.html)
        if wanted is not None and wanted == shell:
            # The same head (styles, fonts) as the page already holds, as for slip after
            # slip: swap in the new body and title only. Half the time of set_content
            # (~7.5 against ~14.5 ms for the A5 slip), the same page pixel for pixel.
            page.evaluate(_SWAP_BODY, job.html)
        else:
            # Printouts use only inline SVG and fonts installed on the machine, so the
            # document is complete once parsed; waiting for "load" only adds time.
            page.set_content(job.html, wait_until="domcontentloaded")
        if size.height_mm is None:
            # The document's own height: scrollHeight is never less than the 800 px
            # viewport, which cut every short roll slip ~15 mm long in blank paper.
            height_px = (
                page.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")
                + 4
            )
            height = f"{height_px}px"
        else:
            height = f"{size.height_mm}mm"
        pdf: bytes = page.pdf(
            width=f"{size.width_mm}mm",
            height=height,
            print_background=True,
            margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
        )
        return pdf, wanted

    def _fail_all(self, error: BaseException) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job.error = error
            job.done.set()


_TITLE = re.compile(r"<title\b.*?</title\s*>", re.IGNORECASE | re.DOTALL)
_BODY = re.compile(r"<body\b", re.IGNORECASE)
# The whole document is parsed (as set_content would), then its body and title replace
# the page's: the head parsed before stays, with its styles and fonts already resolved.
_SWAP_BODY = """html => {
  const parsed = new DOMParser().parseFromString(html, "text/html");
  document.title = parsed.title;
  document.body.replaceWith(document.adoptNode(parsed.body));
}"""


def _shell(html: str) -> str | None:
    """What a document must share with the page's for only its body to be swapped in:
    everything before ``<body`` except the title. None: always load it whole (no body
    tag, or a script, which a parsed-and-moved body would not run)."""
    found = _BODY.search(html)
    if found is None or "<script" in html.lower():
        return None
    return _TITLE.sub("", html[: found.start()])


_renderer: PdfRenderer | None = None
_renderer_lock = threading.Lock()
_service: Any = None  # a service.Service, under `serve`


def _idle_seconds() -> float:
    try:
        from django.conf import settings

        return float(getattr(settings, "PDF_IDLE_SECONDS", DEFAULT_IDLE_SECONDS))
    except Exception:  # noqa: BLE001 - settings not configured: a plain default
        return DEFAULT_IDLE_SECONDS


def renderer() -> PdfRenderer:
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = PdfRenderer(idle_seconds=_idle_seconds())
            atexit.register(_renderer.close)
        return _renderer


def use_service(service: Any) -> None:
    """Render through the node's renderer process (a ``service.Service``) instead of a
    browser of this process's own; None: in-process. `serve` calls this before gunicorn
    forks its workers, so they inherit it."""
    global _service
    _service = service


def render_pdf(html: str, size: PageSize = A5) -> bytes:
    if _service is not None:
        return bytes(_service.render(html, size))
    return renderer().render(html, size)
