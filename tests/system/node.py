"""Real node processes: `nirantar init`, `user add`, `token` and `serve` on loopback ports.

Used by the system tests and by the benchmarks.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

NIRANTAR = [sys.executable, "-m", "nirantar.cli"]


def free_port() -> int:
    """A port below the kernel's ephemeral range (32768-60999 on Linux).

    A node's port is chosen well before its server binds it; a port the kernel handed
    out (bind to 0) is one it will also hand to the next outgoing connection - and the
    proxies open many - so the server could find it taken ("Address already in use").
    """
    for _ in range(200):
        port = random.randrange(20_000, 32_000)  # noqa: S311 - not a secret
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


class NodeProcess:
    def __init__(
        self,
        data_dir: Path,
        name: str,
        number: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.name = name
        self.number = number
        self.port = free_port()
        self.server: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.admin_token = ""
        self.extra_env = extra_env or {}
        # Set by start(tls=...): the node serves HTTPS; `ca` checks its certificate.
        self.tls: tuple[Path, Path] | None = None
        self.ca: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NIRANTAR_"))}
        env["NIRANTAR_DATA_DIR"] = str(self.data_dir)
        env.update(self.extra_env)
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
            timeout=180,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"nirantar {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    # -- setting up ----------------------------------------------------------
    def init(self, *extra: str) -> None:
        """A node that founds its own hospital, with a clerk and an API token."""
        self.run("init", "--node", self.name, "--number", str(self.number), *extra)
        self.add_user("clerk", "clerk")

    def add_user(self, username: str, role: str) -> None:
        self.run(
            "user",
            "add",
            username,
            "--role",
            role,
            "--password-file",
            "-",
            input=f"{username}-has-a-long-passphrase\n",
        )
        self.issue_token(username)

    def issue_token(self, username: str = "clerk") -> None:
        self.token = self.run("token", username).stdout.strip()

    def join(
        self, hub_url: str, own_url: str = "", letter: str = "A", tls_ca: Path | None = None
    ) -> str:
        """`init --join`; returns the join code (the last line printed)."""
        extra = ["--tls-ca", str(tls_ca)] if tls_ca else []
        out = self.run(
            "init",
            "--node",
            self.name,
            "--join",
            hub_url,
            "--url",
            own_url,
            "--counter-letter",
            letter,
            *extra,
        ).stdout
        return out.strip().splitlines()[-1]

    def status(self, digest: bool = False) -> dict[str, Any]:
        """The node's status: over HTTP when it is serving (fast), else from the CLI."""
        if self.server is not None and self.admin_token:
            path = "/api/v1/status" + ("?digest=true" if digest else "")
            status, _, content = self.request(
                "GET", path, headers={"Authorization": f"Bearer {self.admin_token}"}
            )
            if status == 200:
                return dict(json.loads(content))
        args = ["status", "--json"] + (["--digest"] if digest else [])
        return dict(json.loads(self.run(*args).stdout))

    # -- running ---------------------------------------------------------------
    def start(
        self,
        workers: int = 1,
        threads: int = 4,
        sync_interval: float = 2.0,
        tls: tuple[Path, Path] | None = None,
        ca: Path | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        """Serve (HTTPS with ``tls`` = (certificate, key), checked against ``ca``); ``extra``
        are more options of `nirantar serve`."""
        self.tls, self.ca = tls, ca
        options = ["--certfile", str(tls[0]), "--keyfile", str(tls[1])] if tls else []
        options += list(extra)
        log = (self.data_dir / "serve.log").open("ab")
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
                "--sync-interval",
                str(sync_interval),
                *options,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(  # noqa: S310 - our own node's URL
                    f"{self.url}/healthz", timeout=2, context=self.ssl_context()
                ) as response:
                    if response.status == 200:
                        return
            except (OSError, http.client.HTTPException):
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
                self.kill()
            self.server = None

    def kill(self) -> None:
        """kill -9 the whole node: web server, its workers and its sync process."""
        if self.server is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=20)
            self.server = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.ca)) if self.tls else None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers=headers
            or {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl_context()) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, content = self.request(method, path, body)
        return status, json.loads(content)


# -- staff other than a node's own clerk -------------------------------------------


class Staff:
    """One user with an API token issued at one node (tokens replicate like users do)."""

    def __init__(self, username: str, token: str) -> None:
        self.username, self.token = username, token

    def request(
        self, node: NodeProcess, method: str, path: str, body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return node.request(method, path, body, headers=headers)

    def json(self, node: NodeProcess, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, content = self.request(node, method, path, body)
        return status, json.loads(content) if content else None


def add_user(node: NodeProcess, username: str, role: str, full_name: str = "") -> None:
    """Add a user at ``node`` without touching the node's own default token."""
    extra = ["--full-name", full_name] if full_name else []
    node.run(
        "user",
        "add",
        username,
        "--role",
        role,
        *extra,
        "--password-file",
        "-",
        input=f"{username}-has-a-long-passphrase\n",
    )


def staff_at(node: NodeProcess, username: str) -> Staff:
    """A token for ``username`` issued at ``node``, once the node knows the user."""
    from tests.system.cluster import wait_for

    token = wait_for(
        lambda: node.run("token", username, check=False).stdout.strip(),
        what=f"{node.name} to know user {username}",
    )
    return Staff(username, token)
