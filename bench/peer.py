"""GNU Health, a peer HIS, measured on this machine in the same run (../shared/peers/gnuhealth)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bench.common import OUT, ROOT
from tests.system.node import free_port

SCRIPT = ROOT.parent / "shared" / "peers" / "gnuhealth" / "bench_gnuhealth.sh"


def run(n: int = 200, port: int | None = None) -> dict[str, Any] | None:
    """GNU Health's RESULT lines by operation, or None when the peer can't be run here.

    ``port``: trytond's port (default: a free one, so that two runs at once don't meet)."""
    if not SCRIPT.exists():
        print(f"  peer benchmark skipped: {SCRIPT} not found")
        return None
    work = OUT / "gnuhealth"
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "WORK": str(work),
        "N": str(n),
        "BACKENDS": "sqlite",
        "MODES": "rpc",
        "OPD": "1",
        "PORT": str(port or free_port()),
    }
    log = work / "last-run.log"
    with log.open("w") as handle:
        done = subprocess.run(
            ["bash", str(SCRIPT)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=3600,
            check=False,
        )
    if done.returncode != 0:
        print(f"  peer benchmark failed (exit {done.returncode}); see {log}")
        return None
    results: dict[str, Any] = {}
    for line in Path(log).read_text().splitlines():
        if line.startswith("RESULT ") and "{" in line:
            data = json.loads(line[line.index("{") :])
            results[data["op"]] = data
    return results
