"""The ransomware drill, at small scale, as `make test` runs it: a demo cluster of real
processes loses its hub and a counter to encryption, keeps registering on the survivor,
and comes back from the backup and the survivor with nothing lost."""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.system


def three_free_ports() -> int:
    """A base port with the two after it free too (the hub and two counters)."""
    for _ in range(200):
        base = random.randrange(20_000, 31_990)  # noqa: S311 - not a secret
        sockets = [socket.socket() for _ in range(3)]
        try:
            for offset, sock in enumerate(sockets):
                sock.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base
    raise RuntimeError("no three free ports in a row")


def test_the_ransomware_drill_loses_nothing(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nirantar.cli",
            "drill",
            "ransomware",
            "--dir",
            str(tmp_path / "drill"),
            "--port",
            str(three_free_ports()),
            "--patients",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        # As an operator's shell has it: not the test suite's settings.
        env={k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NIRANTAR_"))},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^lost: 0$", result.stdout, re.M), result.stdout
    assert re.search(r"^refused: 0$", result.stdout, re.M), result.stdout
    written = int(re.search(r"written during the outage:\s+(\d+)", result.stdout).group(1))
    assert written == 3  # the survivor's registrations with the hub gone
    # Counter B's registrations while counter A was closed were on no surviving node: the
    # backup had to bring them back.
    only_backup = int(re.search(r"only in the backup:\s+(\d+)", result.stdout).group(1))
    assert only_backup >= 3
    # The one thing out of reach is the hub's own record of the backup, written after it.
    reach = re.search(r"out of any copy's reach: (.*)$", result.stdout, re.M)
    assert reach is not None and reach.group(1).endswith("backup.written"), result.stdout
    assert reach.group(1).count(",") == 0, result.stdout
    before, after = map(
        int, re.search(r"patients before / after:\s+(\d+) / (\d+)", result.stdout).groups()
    )
    assert after == before + 3
