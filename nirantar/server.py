"""`nirantar serve`: gunicorn with threaded workers, migrations applied first."""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)


def _warm_renderer(worker: Any) -> None:
    """Start Chromium in each worker before the first slip is asked for."""
    from nirantar.printing.renderer import RendererUnavailable, render_pdf

    def warm() -> None:
        try:
            render_pdf("<p>warm</p>")
        except RendererUnavailable as exc:
            log.warning("slips will not print: %s", exc)

    threading.Thread(target=warm, name="nirantar-pdf-warmup", daemon=True).start()


def _no_warmup(worker: Any) -> None:
    """Chromium starts with the first slip instead."""


class NirantarServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from nirantar.wsgi import application

        return application


def _die_with_parent() -> None:
    """Linux: the sync process ends when `serve` ends, even if `serve` is killed (-9)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _beside(*args: str) -> subprocess.Popen[bytes]:
    """`nirantar ARGS` for this node, in its own process beside gunicorn's workers, ending
    when `serve` ends."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "nirantar.cli", "--data-dir", str(settings.DATA_DIR), *args],
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - only sets the death signal
    )


def start_syncer(interval: float) -> subprocess.Popen[bytes]:
    """The node's sync loop."""
    return _beside("sync", "--forever", "--interval", str(interval))


def start_backups(destination: str, key: str, every: float) -> subprocess.Popen[bytes]:
    """Scheduled backups."""
    return _beside("backup", "--to", destination, "--key", key, "--every", str(every))


def run(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    sync_interval: float = 2.0,
    tls: tuple[str, str] | None = None,
    backup: tuple[str, str, float] | None = None,
) -> None:
    """Serve until stopped; ``tls`` is (certificate, key) to serve HTTPS; ``backup`` is
    (destination, public key, minutes between backups)."""
    call_command("migrate", interactive=False, verbosity=0)
    from nirantar.ledger.writer import node

    local = node()
    if not local.enrolled():
        log.warning("node %s is not enrolled: it will not issue numbers", local.name)
    syncer = start_syncer(sync_interval)
    helpers = [syncer] + ([start_backups(*backup)] if backup is not None else [])
    options: dict[str, Any] = {}
    if tls is not None:
        options["certfile"], options["keyfile"] = tls
    try:
        NirantarServer(
            {
                **options,
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": 60,
                "graceful_timeout": 10,
                "accesslog": "-",
                "post_worker_init": _warm_renderer if settings.PRINT_WARMUP else _no_warmup,
                "proc_name": f"nirantar-{local.name}",
            }
        ).run()
    finally:
        for helper in helpers:
            helper.terminate()
        for helper in helpers:
            try:
                helper.wait(timeout=10)
            except subprocess.TimeoutExpired:
                helper.kill()
