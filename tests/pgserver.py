"""A throwaway PostgreSQL server for the test session, managed by pytest-postgresql's executor.

Started from tests/settings.py, because Django's DATABASES must name its port
before any test is collected. Stopped when the session's process exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from port_for import get_port
from pytest_postgresql.executors import PostgreSQLExecutor

PG_CTL = str(Path(__file__).parent / "bin" / "pg_ctl")


def start() -> str:
    """Start a server and return its database URL."""
    base = Path(tempfile.mkdtemp(prefix="nirantar-pg-"))
    base.chmod(0o777)  # the server runs as `postgres` when the suite runs as root
    port = get_port(None)
    assert port is not None
    executor = PostgreSQLExecutor(
        executable=PG_CTL,
        host="127.0.0.1",
        port=port,
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"),
        startparams="-w",
        dbname="nirantar",
        user="postgres",
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        timeout=120,
    )
    executor.start()

    def stop() -> None:
        try:
            executor.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}/nirantar"


def ensure_started() -> str | None:
    if os.environ.get("NIRANTAR_TEST_NO_PG") == "1":
        return None
    if "NIRANTAR_TEST_PG" not in os.environ:
        os.environ["NIRANTAR_TEST_PG"] = start()
    return os.environ["NIRANTAR_TEST_PG"]
