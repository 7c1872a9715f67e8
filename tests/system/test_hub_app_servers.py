"""The hub's app tier is stateless: two `nirantar serve` processes over one PostgreSQL
database act as one node. A patient registered through one is read through the other,
and numbers issued by both at once never collide (DESIGN.md: one writer per origin, an
advisory lock on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from string import ascii_uppercase

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
