"""An analyser's side of HL7 v2 over MLLP, and `nirantar lab listen` as a real process.

Used by the laboratory's system tests and by the MLLP ingest benchmark. The client is a
plain blocking socket, as an analyser's interface box is: it frames one message
(<VT> message <FS><CR>), sends it and waits for its acknowledgement before the next.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.system.node import NodeProcess, free_port

START, END = b"\x0b", b"\x1c\x0d"
ROOT = Path(__file__).resolve().parents[2]  # the checkout whose `nirantar` the tests run
# The `nirantar` command as its console script runs it (import the module, then main()).
# Not `python -m nirantar.cli` as NodeProcess runs it: nirantar/cli.py defines its `lab`
# group *below* its `if __name__ == "__main__": main()`, so run as a module it has no
# `lab` command ("No such command 'lab'").
NIRANTAR_COMMAND = [sys.executable, "-c", "import sys; from nirantar.cli import main; main()"]


def lab_command(node: NodeProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`nirantar lab ARGS...` on the node's data directory; its exit code is not checked."""
    return subprocess.run(
        [*NIRANTAR_COMMAND, "lab", *args],
        env=node.env,
        cwd=ROOT,  # `-c` imports the nirantar of the current directory first
        text=True,
        capture_output=True,
        timeout=180,
    )


def frame(message: str) -> bytes:
    return START + message.encode() + END


@dataclass(frozen=True)
class Ack:
    code: str  # MSA-1: AA, AE or AR
    control_id: str  # MSA-2: the control id (MSH-10) of the message acknowledged
    text: str  # MSA-3
    raw: str


def parse_ack(raw: bytes) -> Ack:
    text = raw.decode("utf-8", "replace")
    segments = [s for s in text.replace("\n", "\r").split("\r") if s]
    assert segments and segments[0].startswith("MSH|"), f"not an HL7 reply: {text!r}"
    msh = segments[0].split("|")
    assert len(msh) > 8 and msh[8].startswith("ACK"), f"not an ACK: {text!r}"
    msa = next((s.split("|") for s in segments if s.startswith("MSA|")), None)
    assert msa is not None, f"an ACK without MSA: {text!r}"
    msa += [""] * (4 - len(msa))
    return Ack(msa[1], msa[2], msa[3], text)


class MllpClient:
    """One analyser connection: send a message, wait for its ACK, then the next."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 30) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def send(self, message: str) -> Ack:
        self.sock.sendall(frame(message))
        return parse_ack(self.read_block())

    def read_block(self) -> bytes:
        while END not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"the listener closed the connection ({self.buffer!r})")
            self.buffer += chunk
        block, _, self.buffer = self.buffer.partition(END)
        assert block.startswith(START), f"a reply that is not an MLLP block: {block!r}"
        return block[1:]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def oru(
    instrument: str,
    control_id: str,
    uhid: str,
    accession: str,
    results: list[tuple[str, str, str]],
    test: str = "",
) -> str:
    """An ORU^R01 as analysers send one: the accession read off the tube's barcode in
    OBR-3 (without its dashes), one OBX per result (code, value, unit)."""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    lines = [
        f"MSH|^~\\&|{instrument}|LAB|NIRANTAR|HOSPITAL|{now}||ORU^R01|{control_id}|P|2.5",
        f"PID|1||{uhid}",
        f"OBR|1||{accession.replace('-', '')}|{test}",
    ]
    for i, (code, value, unit) in enumerate(results, 1):
        kind = "NM" if value.replace(".", "", 1).isdigit() else "ST"
        lines.append(f"OBX|{i}|{kind}|{code}||{value}|{unit}|||||F|||{now}")
    return "\r".join(lines) + "\r"


class Listener:
    """`nirantar lab listen` on a node's data directory, as its own process."""

    def __init__(self, node: NodeProcess, port: int | None = None) -> None:
        self.node = node
        self.port = port or free_port()
        self.log = node.data_dir / "listen.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Listener:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*NIRANTAR_COMMAND, "lab", "listen", "--port", str(self.port)],
                env=self.node.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the listener exited:\n{self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the listener did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        self.process = None

    def client(self) -> MllpClient:
        return MllpClient(self.port)

    def __enter__(self) -> Listener:
        return self.start() if self.process is None else self

    def __exit__(self, *_: object) -> None:
        self.stop()
