"""The node's renderer process: one Chromium for all of `serve`'s workers, over a unix socket.

Each gunicorn worker used to keep a headless Chromium of its own (~1 GB resident with
Playwright's driver, for two workers ~2 GB on an edge that mostly sits idle). Now
`serve` starts this small process beside the sync process; it imports neither Django
nor Playwright until the first PDF, starts Chromium then, and closes it after
``--idle`` seconds without a PDF (see ``renderer.PdfRenderer``). Workers send it HTML
and get a PDF back (``render_remote``). One browser renders one page at a time: ~30-45 ms
a slip, far more than the slips a node's counters ask for.

A request on the socket is one JSON line (the page size and the HTML's length in
bytes) then the HTML; the answer is one JSON line (``{"ok": true, "length": N}`` or
``{"ok": false, "error": "..."}``) then the PDF. One request per connection.

    python -m nirantar.printing.service --socket DATA_DIR/pdf.sock [--idle 300] [--warm]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import logging
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nirantar.printing.renderer import (
    DEFAULT_IDLE_SECONDS,
    PageSize,
    PdfRenderer,
    RendererRetired,
    RendererUnavailable,
)

log = logging.getLogger("nirantar.printing.service")

# A unix socket's path must fit sockaddr_un (107 bytes on Linux).
_MAX_PATH = 100
# Longer than the renderer's own 30 s, so its "did not answer in time" reaches the worker.
CLIENT_TIMEOUT = 40.0


def socket_address(data_dir: Path) -> str:
    """The renderer's socket: ``pdf.sock`` in the data directory (only the node's own
    user may use it), or, where that path is too long for a unix socket, a Linux
    abstract socket named for the data directory."""
    path = str(Path(data_dir).resolve() / "pdf.sock")
    if len(path.encode()) <= _MAX_PATH:
        return path
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:24]
    return f"\0nirantar-pdf-{digest}"


def _read_line(stream: Any, limit: int = 4096) -> bytes:
    line: bytes = stream.readline(limit)
    if not line.endswith(b"\n"):
        raise ConnectionError("the connection closed mid-message")
    return line


def _read_exact(stream: Any, length: int) -> bytes:
    data: bytes = stream.read(length)
    if len(data) != length:
        raise ConnectionError("the connection closed mid-message")
    return data


# -- the worker's side ------------------------------------------------------------


class _NotServing(Exception):
    """Nothing listens on the socket, or the renderer closed the connection unanswered
    (it was exiting when idle): start one and ask again."""


class Service:
    """How a server worker reaches the node's renderer process, starting it when none
    is running (first PDF, or the last one exited when idle, or crashed). ``command``
    starts it; several workers may race to, the renderer's lock file lets one win."""

    def __init__(self, address: str, command: list[str], start_wait: float = 15.0) -> None:
        self.address = address
        self.command = command
        self.start_wait = start_wait
        self._lock = threading.Lock()
        self._started: subprocess.Popen[bytes] | None = None

    def render(self, html: str, size: PageSize, timeout: float = CLIENT_TIMEOUT) -> bytes:
        try:
            return _ask(self.address, html, size, timeout)
        except _NotServing:
            self._start()
        try:
            return _ask(self.address, html, size, timeout)
        except _NotServing as exc:
            raise RendererUnavailable(f"the node's PDF renderer failed: {exc}") from exc

    def start(self) -> None:
        """Start the renderer now (if none is listening) and wait until it listens."""
        self._start()

    def _start(self) -> None:
        with self._lock:
            deadline = time.monotonic() + self.start_wait
            spawned_at = -1.0
            while not _listening(self.address):
                now = time.monotonic()
                if now > deadline:
                    raise RendererUnavailable("the node's PDF renderer did not start")
                idle = self._started is None or self._started.poll() is not None
                # One that exited at once lost the race to another worker's (which will
                # listen shortly) or is exiting when idle: start another now and then.
                if idle and now - spawned_at > 0.5:
                    try:
                        self._started = subprocess.Popen(  # noqa: S603 - our own module
                            self.command, stdin=subprocess.DEVNULL
                        )
                    except OSError as exc:
                        raise RendererUnavailable(f"the PDF renderer can't start: {exc}") from exc
                    # Reaped as soon as it ends (when idle): no zombie left in the worker.
                    threading.Thread(target=self._started.wait, daemon=True).start()
                    spawned_at = now
                time.sleep(0.05)


def _listening(address: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(address)
        except OSError:
            return False
        return True


def render_remote(
    address: str, html: str, size: PageSize, timeout: float = CLIENT_TIMEOUT
) -> bytes:
    """The PDF of ``html`` from the renderer process at ``address`` (without starting one);
    RendererUnavailable if it is not running or fails."""
    try:
        return _ask(address, html, size, timeout)
    except _NotServing as exc:
        raise RendererUnavailable(f"the node's PDF renderer is not running ({exc})") from exc


def _ask(address: str, html: str, size: PageSize, timeout: float) -> bytes:
    body = html.encode("utf-8")
    header = {
        "name": size.name,
        "width_mm": size.width_mm,
        "height_mm": size.height_mm,
        "length": len(body),
    }
    busy_until = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            break
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            raise _NotServing(str(exc)) from exc
        except BlockingIOError as exc:  # its backlog is full: it is busy, wait a little
            sock.close()
            if time.monotonic() > busy_until:
                raise RendererUnavailable("the node's PDF renderer is overloaded") from exc
            time.sleep(0.02)
        except OSError as exc:
            sock.close()
            raise RendererUnavailable(f"the node's PDF renderer can't be reached: {exc}") from exc
    try:
        with sock, sock.makefile("rb") as answer:
            sock.sendall(json.dumps(header).encode() + b"\n" + body)
            try:
                line = _read_line(answer)
            except (ConnectionError, BrokenPipeError) as exc:
                raise _NotServing("it closed the connection") from exc
            reply = json.loads(line)
            if not reply.get("ok"):
                raise RendererUnavailable(str(reply.get("error") or "the PDF could not be made"))
            return _read_exact(answer, int(reply["length"]))
    except TimeoutError as exc:
        raise RendererUnavailable("the node's PDF renderer did not answer in time") from exc
    except (OSError, ValueError, KeyError) as exc:
        raise RendererUnavailable(f"the node's PDF renderer failed: {exc}") from exc


# -- the renderer process -----------------------------------------------------------


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        first = self.rfile.readline(4096)
        if not first:
            return  # a worker checking that the renderer listens (Service._start)
        try:
            if not first.endswith(b"\n"):
                raise ConnectionError("the connection closed mid-message")
            header = json.loads(first)
            html = _read_exact(self.rfile, int(header["length"])).decode("utf-8")
            height = header["height_mm"]
            size = PageSize(
                str(header["name"]),
                float(header["width_mm"]),
                None if height is None else float(height),
            )
        except (ConnectionError, ValueError, KeyError, TypeError) as exc:
            log.warning("a bad request on the renderer's socket: %s", exc)
            return
        try:
            pdf = self.server.renderer.render(html, size)
        except RendererRetired:
            return  # closed unanswered: the worker starts a new renderer and asks it
        except RendererUnavailable as exc:
            self.wfile.write(json.dumps({"ok": False, "error": str(exc)}).encode() + b"\n")
            return
        self.wfile.write(json.dumps({"ok": True, "length": len(pdf)}).encode() + b"\n")
        self.wfile.write(pdf)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # Every counter's slip may arrive at once (the first after a lull, while Chromium
    # starts); socketserver's default backlog of 5 would refuse the rest (EAGAIN).
    request_queue_size = 256
    renderer: PdfRenderer


def serve(
    address: str,
    idle_seconds: float,
    *,
    warm: bool = False,
    lock: Path | None = None,
    owner: int | None = None,
    exit_when_idle: bool = False,
) -> None:
    """Listen on ``address`` until SIGTERM; or, with ``exit_when_idle``, until
    ``idle_seconds`` pass without a PDF and Chromium is closed; or until the process
    ``owner`` (the node's gunicorn master) is gone. With ``lock``, only one renderer
    runs for the socket: a second one exits at once."""
    if lock is not None:
        held = open(lock, "a+b")  # noqa: SIM115 - held open for the process's life
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.debug("another renderer is running for %s", address)
            return
    if not address.startswith("\0"):
        Path(address).unlink(missing_ok=True)  # left by a renderer that was killed
    old_umask = os.umask(0o077)  # the socket: the node's own user only
    try:
        server = _Server(address, _Handler)
    finally:
        os.umask(old_umask)

    def stop(*args: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    server.renderer = PdfRenderer(
        idle_seconds=idle_seconds, on_idle=stop if exit_when_idle else None
    )
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if owner is not None:
        threading.Thread(target=_watch, args=(owner, stop), daemon=True).start()
    if warm:
        threading.Thread(
            target=_warm, args=(server.renderer,), name="nirantar-pdf-warmup", daemon=True
        ).start()
    elif exit_when_idle:
        server.renderer.start()  # counts the idle time from now
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        if not address.startswith("\0"):
            Path(address).unlink(missing_ok=True)
        server.renderer.close()
    log.info("PDF renderer stopped")


def _watch(owner: int, stop: Callable[[], None]) -> None:
    """End with the node: ``owner`` is `serve`'s gunicorn master."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            stop()
            return
        except PermissionError:
            pass


def _warm(renderer: PdfRenderer) -> None:
    try:
        renderer.render("<p>warm</p>")
    except RendererUnavailable as exc:
        log.warning("slips will not print: %s", exc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", required=True, help="unix socket path (\\0 prefix: abstract)")
    parser.add_argument("--idle", type=float, default=DEFAULT_IDLE_SECONDS)
    parser.add_argument("--warm", action="store_true", help="start Chromium now")
    parser.add_argument("--lock", type=Path, help="lock file: one renderer per socket")
    parser.add_argument("--owner", type=int, help="end when this process ends")
    parser.add_argument("--exit-when-idle", action="store_true")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
        stream=sys.stderr,
    )
    address = args.socket
    if address.startswith("\\0"):  # a NUL can't be passed in argv
        address = "\0" + address[2:]
    serve(
        address,
        args.idle,
        warm=args.warm,
        lock=args.lock,
        owner=args.owner,
        exit_when_idle=args.exit_when_idle,
    )


if __name__ == "__main__":
    main()
