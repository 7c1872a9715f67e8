"""The node's renderer process: one Chromium for all of `serve`'s workers, over a unix socket.

Each gunicorn worker used to keep a headless Chromium of its own (~1 GB resident with
Playwright's driver, for two workers ~2 GB on an edge that mostly sits idle). Now
`serve` starts this small process beside the sync process; it imports neither Django
nor Playwright until the first PDF, starts Chromium then, and closes it after
``--idle`` seconds without a PDF (see ``renderer.PdfRenderer``). Workers send it HTML
and get a PDF back (``render_remote``). One browser renders one page at a time: ~50 ms
a slip, far more than the slips a node's counters ask for.

A request on the socket is one JSON line (the page size and the HTML's length in
bytes) then the HTML; the answer is one JSON line (``{"ok": true, "length": N}`` or
``{"ok": false, "error": "..."}``) then the PDF. One request per connection.

    python -m nirantar.printing.service --socket DATA_DIR/pdf.sock [--idle 300] [--warm]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from pathlib import Path
from typing import Any

from nirantar.printing.renderer import (
    DEFAULT_IDLE_SECONDS,
    PageSize,
    PdfRenderer,
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


def render_remote(
    address: str,
    html: str,
    size: PageSize,
    timeout: float = CLIENT_TIMEOUT,
    connect_wait: float = 2.0,
) -> bytes:
    """The PDF of ``html`` from the renderer process at ``address``; RendererUnavailable
    if it is not running or fails."""
    body = html.encode("utf-8")
    header = {
        "name": size.name,
        "width_mm": size.width_mm,
        "height_mm": size.height_mm,
        "length": len(body),
    }
    # Right after `serve` starts, the renderer may not be listening yet.
    deadline = time.monotonic() + connect_wait
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            break
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            if time.monotonic() > deadline:
                raise RendererUnavailable(
                    "the node's PDF renderer process is not running (restart `nirantar serve`)"
                ) from exc
            time.sleep(0.1)
        except OSError as exc:
            sock.close()
            raise RendererUnavailable(f"the node's PDF renderer can't be reached: {exc}") from exc
    try:
        with sock, sock.makefile("rb") as answer:
            sock.sendall(json.dumps(header).encode() + b"\n" + body)
            reply = json.loads(_read_line(answer))
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
        try:
            header = json.loads(_read_line(self.rfile))
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
        except RendererUnavailable as exc:
            self.wfile.write(json.dumps({"ok": False, "error": str(exc)}).encode() + b"\n")
            return
        self.wfile.write(json.dumps({"ok": True, "length": len(pdf)}).encode() + b"\n")
        self.wfile.write(pdf)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    renderer: PdfRenderer


def serve(address: str, idle_seconds: float, warm: bool = False) -> None:
    """Listen on ``address`` until SIGTERM."""
    if not address.startswith("\0"):
        Path(address).unlink(missing_ok=True)  # left by a node that was killed
    old_umask = os.umask(0o077)  # the socket: the node's own user only
    try:
        server = _Server(address, _Handler)
    finally:
        os.umask(old_umask)
    server.renderer = PdfRenderer(idle_seconds=idle_seconds)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if warm:
        threading.Thread(
            target=_warm, args=(server.renderer,), name="nirantar-pdf-warmup", daemon=True
        ).start()
    try:
        server.serve_forever(poll_interval=1.0)
    finally:
        server.server_close()
        server.renderer.close()
        if not address.startswith("\0"):
            Path(address).unlink(missing_ok=True)


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
    serve(address, args.idle, args.warm)


if __name__ == "__main__":
    main()
