"""Real node processes: `nirantar init`, `user add`, `token` and `serve` on loopback ports.

Used by the system tests and by the benchmarks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

NIRANTAR = [sys.executable, "-m", "nirantar.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NodeProcess:
    def __init__(self, data_dir: Path, name: str, number: int) -> None:
        self.data_dir = data_dir
        self.name = name
        self.number = number
        self.port = free_port()
        self.server: subprocess.Popen[bytes] | None = None
        self.token = ""

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NIRANTAR_"))}
        env["NIRANTAR_DATA_DIR"] = str(self.data_dir)
        return env

    def run(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*NIRANTAR, *args],
            env=self.env,
            input=input,
            text=True,
            capture_output=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"nirantar {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def init(self) -> None:
        self.run("init", "--node", self.name, "--number", str(self.number))
        self.run(
            "user",
            "add",
            "clerk",
            "--role",
            "clerk",
            "--password-file",
            "-",
            input="counter-clerk-passphrase\n",
        )
        self.token = self.run("token", "clerk").stdout.strip()

    def start(self, workers: int = 1, threads: int = 4) -> None:
        log = (self.data_dir / "serve.log").open("wb")
        self.server = subprocess.Popen(
            [
                *NIRANTAR,
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        raise AssertionError(
            f"{self.name} did not start:\n{(self.data_dir / 'serve.log').read_text()}"
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, content = self.request(method, path, body)
        return status, json.loads(content)
