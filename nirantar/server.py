"""`nirantar serve`: gunicorn with threaded workers, migrations applied first."""

from __future__ import annotations

import logging
import threading
from typing import Any

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


def run(*, host: str, port: int, workers: int, threads: int) -> None:
    call_command("migrate", interactive=False, verbosity=0)
    from nirantar.ledger.writer import node

    local = node()
    if not local.enrolled():
        log.warning("node %s is not enrolled: it will not issue numbers", local.name)
    NirantarServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 10,
            "accesslog": "-",
            "post_worker_init": _warm_renderer,
            "proc_name": f"nirantar-{local.name}",
        }
    ).run()
