"""The hub's app tier is stateless: two `nirantar serve` processes over one PostgreSQL
database act as one node. A patient registered through one is read through the other,
and numbers issued by both at once never collide (DESIGN.md: one writer per origin, an
advisory lock on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from string import ascii_uppercase

import psycopg
import pytest

from tests.conftest import RAM
from tests.system.node import NodeProcess

pytestmark = pytest.mark.system


@pytest.fixture
def two_app_servers(tmp_path: Path, pg_database: str) -> Iterator[list[NodeProcess]]:
    env = {"NIRANTAR_PRINT_WARMUP": "0"}  # no slips here: don't start Chromium
    first = NodeProcess(tmp_path / "hub", "hub", 101, extra_env=env)
    first.init("--hub", "--database", pg_database)
    second = NodeProcess(tmp_path / "hub", "hub", 101, extra_env=env)
    second.token = first.token
    servers = [first, second]
    try:
        for server in servers:
            server.start(workers=1, threads=4)
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_two_app_servers_over_one_database_act_as_one_node(two_app_servers):
    one, other = two_app_servers
    status, patient = one.json("POST", "/api/v1/patients", RAM)
    assert status == 201, patient
    uhid = patient["uhid"]
    status, read = other.json("GET", f"/api/v1/patients/{uhid}")
    assert status == 200 and read["name_en"] == RAM["name_en"]

    status, visit = other.json("POST", "/api/v1/visits", {"uhid": uhid, "department": "Medicine"})
    assert status == 201, visit
    status, seen = one.json("GET", f"/api/v1/visits/{visit['visit']}")
    assert status == 200 and seen["uhid"] == uhid

    def register(server: NodeProcess, i: int) -> tuple[str, str]:
        status, p = server.json(
            "POST", "/api/v1/patients", {**RAM, "name_en": f"Ram {ascii_uppercase[i] * 3}"}
        )
        assert status == 201, p
        status, v = server.json(
            "POST", "/api/v1/visits", {"uhid": p["uhid"], "department": "Medicine"}
        )
        assert status == 201, v
        return p["uhid"], v["token"]

    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(register, [one, other] * 10, range(20)))
    uhids, tokens = [u for u, _ in done], [t for _, t in done]
    assert len(set(uhids)) == 20 and uhid not in uhids
    assert len(set(tokens)) == 20 and visit["token"] not in tokens
    for server in (one, other):
        for u in uhids:
            assert server.json("GET", f"/api/v1/patients/{u}")[0] == 200


def test_a_new_node_never_starts_in_a_database_that_holds_something_else(tmp_path, pg_database):
    """Two nodes over one database would be one node with two identities: `init` (and
    `restore`, tests/backup) refuses a database holding a node's events, or tables not
    Nirantar's, and leaves its data directory empty."""
    first = NodeProcess(tmp_path / "hub", "hub", 101)
    first.run("init", "--hub", "--node", "hub", "--number", "101", "--database", pg_database)
    with psycopg.connect(pg_database) as db:
        held = db.execute("SELECT count(*) FROM ledger_event").fetchone()
    other = NodeProcess(tmp_path / "other", "other", 102)
    refused = other.run(
        "init", "--node", "other", "--number", "102", "--database", pg_database, check=False
    )
    assert refused.returncode != 0, refused.stdout
    assert "already holds a node's" in refused.stderr and "Nothing created" in refused.stderr
    assert not any(other.data_dir.iterdir())
    with psycopg.connect(pg_database) as db:
        assert db.execute("SELECT count(*) FROM ledger_event").fetchone() == held
        db.execute("DROP SCHEMA public CASCADE")
        db.execute("CREATE SCHEMA public")
        db.execute("CREATE TABLE wards_of_another_system (id int)")
    foreign = other.run(
        "init", "--node", "other", "--number", "102", "--database", pg_database, check=False
    )
    assert foreign.returncode != 0 and "not Nirantar's" in foreign.stderr, foreign.stderr
    assert not any(other.data_dir.iterdir())
    odd = other.run(
        "init", "--node", "other", "--number", "102", "--database", "mysql://db/beds", check=False
    )
    assert odd.returncode != 0 and "must be a PostgreSQL URL" in odd.stderr, odd.stderr
    assert "Traceback" not in odd.stderr and not any(other.data_dir.iterdir())
