"""A hospital of real node processes on loopback: a hub and edges, every link through a proxy."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.system.node import NodeProcess
from tests.system.proxy import Proxy

# Fast rounds and short backoff, so partitions heal in seconds; no Chromium at start.
ENV = {"NIRANTAR_SYNC_MAX_BACKOFF": "2", "NIRANTAR_PRINT_WARMUP": "0"}


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what or condition}: last saw {last!r}")


class Cluster:
    """Hub (number 1) and edges (2, 3, ...); node A reaches node B through proxy (A, B)."""

    def __init__(self, root: Path, edges: int = 3, env: dict[str, str] | None = None) -> None:
        env = {**ENV, **(env or {})}
        self.hub = NodeProcess(root / "hub", "hub", 1, extra_env=env)
        self.edges = [
            NodeProcess(root / f"edge-{i}", f"edge-{i}", i + 1, extra_env=env)
            for i in range(1, edges + 1)
        ]
        self.nodes = [self.hub, *self.edges]
        self.proxies: dict[tuple[str, str], Proxy] = {}
        for a in self.nodes:
            for b in self.nodes:
                if a is not b:
                    self.proxies[(a.name, b.name)] = Proxy(b.port)

    def link(self, a: NodeProcess, b: NodeProcess) -> Proxy:
        return self.proxies[(a.name, b.name)]

    def start(self) -> Cluster:
        hub = self.hub
        hub.run("init", "--hub", "--node", "hub", "--number", "1")
        for username in ("clerk", "admin"):
            hub.run(
                "user",
                "add",
                username,
                "--role",
                username,
                "--password-file",
                "-",
                input=f"{username}-has-a-long-passphrase\n",
            )
        hub.start(sync_interval=0.5)
        hub.admin_token = hub.run("token", "admin").stdout.strip()
        for index, edge in enumerate(self.edges):
            code = edge.join(
                self.link(edge, hub).url, own_url=self.link(hub, edge).url, letter="ABCDEFGH"[index]
            )
            hub.run("enrol", "approve", code, "--number", str(edge.number))
            others = [self.link(edge, other).url for other in self.edges if other is not edge]
            if others:
                edge.run("peer", "add", *others)
            edge.start(sync_interval=0.5)
        # Each edge learns the users from the hub, then issues its own API tokens.
        for edge in self.edges:
            edge.admin_token = wait_for(
                lambda e=edge: e.run("token", "admin", check=False).stdout.strip(),
                what=f"{edge.name} to be enrolled and know the users",
            )
        self.wait_converged()
        for node in self.nodes:
            node.issue_token("clerk")
        return self

    def stop(self) -> None:
        for node in self.nodes:  # ask them all to stop, then wait: quicker than one by one
            if node.server is not None:
                node.server.terminate()
        for node in self.nodes:
            node.stop()
        for proxy in self.proxies.values():
            proxy.close()

    def isolate(self, node: NodeProcess) -> None:
        for (a, b), proxy in self.proxies.items():
            if node.name in (a, b):
                proxy.cut()

    def heal(self) -> None:
        for proxy in self.proxies.values():
            proxy.heal()

    def running(self) -> list[NodeProcess]:
        return [n for n in self.nodes if n.server is not None]

    def wait_converged(
        self, nodes: list[NodeProcess] | None = None, timeout: float = 90
    ) -> list[dict[str, Any]]:
        """Until every node holds the same events; returns their statuses (with digests)."""
        nodes = nodes or self.running()

        def same() -> list[dict[str, Any]] | None:
            statuses = [n.status() for n in nodes]
            vectors = [s["vector"] for s in statuses]
            return statuses if all(v == vectors[0] for v in vectors) else None

        wait_for(same, timeout, "the nodes' vectors to agree")
        return [n.status(digest=True) for n in nodes]
