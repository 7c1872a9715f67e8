"""`nirantar serve`: gunicorn with threaded workers, migrations applied first."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import traceback
from typing import Any

from django.conf import settings
from gunicorn.app.base import BaseApplication

from nirantar import config

log = logging.getLogger(__name__)


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


def renderer_service(address: str, idle_seconds: float) -> Any:
    """How the workers reach the node's one Chromium (see nirantar/printing/service.py):
    the first worker to need a PDF starts the renderer process, which ends after
    ``idle_seconds`` without one (and with this process, its owner)."""
    from nirantar.printing.service import Service

    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    command = [
        sys.executable,
        "-m",
        "nirantar.printing.service",
        "--socket",
        address.replace("\0", "\\0", 1),
        "--idle",
        str(idle_seconds),
        "--lock",
        str(settings.DATA_DIR / "pdf.lock"),
        "--owner",
        str(os.getpid()),
        "--exit-when-idle",
        "--log-level",
        level,
    ]
    return Service(address, command)


def start_backups(destination: str, key: str, every: float) -> subprocess.Popen[bytes]:
    """Scheduled backups."""
    return _beside("backup", "--to", destination, "--key", key, "--every", str(every))


def _migrate() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    from nirantar.ledger.writer import node

    local = node()
    if not local.enrolled():
        log.warning("node %s is not enrolled: it will not issue numbers", local.name)


def _prepare() -> None:
    """Apply pending migrations in a forked child, so that this process - gunicorn's
    master - never sets Django's apps up: they (every module's models, projections and
    their imports, and the migrations) would stay in its memory for nothing and be
    copied into each worker it forks. The workers set Django up themselves."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            _migrate()
            code = 0
        except BaseException:  # noqa: BLE001 - reported, then the child ends
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("error: the database could not be prepared (see above)")


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
    _prepare()
    from nirantar.printing import renderer, service

    helpers = [start_syncer(sync_interval)]
    if (settings.DATA_DIR / config.WORKLIST_PENDING).exists():
        # A restore left the duplicate worklist for later: work it out beside the service.
        helpers.append(_beside("dedupe", "backfill", "--quiet"))
    helpers += [start_backups(*backup)] if backup is not None else []
    # Inherited by the workers gunicorn forks: PDFs go to the renderer process.
    pdf = renderer_service(service.socket_address(settings.DATA_DIR), settings.PDF_IDLE_SECONDS)
    renderer.use_service(pdf)
    if settings.PRINT_WARMUP:
        pdf.command.append("--warm")
        pdf.start()
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
                "proc_name": f"nirantar-{settings.NODE.node}",
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
