"""The README's restore steps, run as written: only the paths, the genesis and the port
are this test's own. A hospital node backs itself up to a directory; then, with nothing
but that directory and the backup key, the README's commands bring a node back that
holds every patient and serves them.

(`make install`, the block's first line, is what `make test` has already done here.)
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.system.node import NodeProcess

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]


def readme_block() -> list[str]:
    """The commands of the README's shell block under "Restoring a node from a backup"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Restoring a node from a backup", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README shows the restore commands in a sh block"
    commands: list[str] = []
    for line in block.group(1).replace("\\\n", " ").splitlines():
        line = line.split("  #", 1)[0].strip()
        if line:
            commands.append(line)
    return commands


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_readmes_restore_commands_bring_a_node_back(tmp_path):
    hub = NodeProcess(tmp_path / "hub", "hub", 1)
    hub.init()
    hub.run("demo-seed", "--patients", "5")
    hub.run("backup-key", "new", str(tmp_path / "aiims-backup"))
    public = str(tmp_path / "aiims-backup.pub")
    hub.run("backup", "--to", str(tmp_path / "backup-disk"), "--key", public)
    genesis = re.search(r"hospital genesis ([0-9a-f]{16})", hub.run("status").stdout).group(1)
    with sqlite3.connect(hub.data_dir / "nirantar.sqlite3") as db:
        expected = [r[0] for r in db.execute("SELECT uhid FROM registration_patient ORDER BY 1")]
    # The fresh machine: only the backup directory and the key, elsewhere.
    disk = tmp_path / "mnt" / "backup-disk"
    shutil.copytree(tmp_path / "backup-disk", disk)
    secure = tmp_path / "secure"
    secure.mkdir()
    shutil.copy(tmp_path / "aiims-backup.key", secure / "aiims-backup.key")
    shutil.rmtree(hub.data_dir)

    commands = readme_block()
    assert commands[0].startswith("make install")
    port = free_port()
    restored_dir = tmp_path / "srv" / "nirantar-hub2"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NIRANTAR_"))}
    env.update({"NIRANTAR_PRINT_WARMUP": "0"})
    server = None
    try:
        for command in commands[1:]:
            command = (
                command.replace("/srv/nirantar-hub2", str(restored_dir))
                .replace("/mnt/backup-disk", str(disk))
                .replace("/secure/aiims-backup.key", str(secure / "aiims-backup.key"))
                .replace("--genesis 3e40f714321861d2", f"--genesis {genesis}")
                .replace("--port 8000", f"--port {port}")
            )
            if " serve " in command:
                server = subprocess.Popen(  # noqa: S602 - the README's own line
                    command, shell=True, cwd=ROOT, env=env, start_new_session=True
                )
                continue
            result = subprocess.run(  # noqa: S602 - the README's own line
                command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )
            assert result.returncode == 0, (command, result.stdout, result.stderr)
            if " restore " in command:
                assert "refused 0" in result.stdout and f"genesis {genesis}" in result.stdout
            if " verify" in command:
                assert result.stdout.startswith("OK:"), result.stdout
        assert server is not None, "the README ends by serving the restored node"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                    break
            except OSError:
                assert time.monotonic() < deadline, "the restored node did not start serving"
                time.sleep(0.3)
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
    with sqlite3.connect(restored_dir / "nirantar.sqlite3") as db:
        restored = [r[0] for r in db.execute("SELECT uhid FROM registration_patient ORDER BY 1")]
    assert restored == expected and len(expected) == 5
