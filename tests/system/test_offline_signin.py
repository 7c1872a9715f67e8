"""Offline sign-in: users replicate through the ledger, so staff sign in at any node while
the hub is down; a user disabled at one node is refused at another once the news arrives,
and what they did before it arrived is shown to administrators."""

from __future__ import annotations

import httpx
import pytest

from tests.system.cluster import Cluster, wait_for

pytestmark = pytest.mark.system

NURSE_PASSWORD = "nurse1-has-a-long-passphrase"


@pytest.fixture
def cluster(tmp_path):
    hospital = Cluster(tmp_path, edges=2).start()
    yield hospital
    hospital.stop()


def sign_in(node, username, password) -> tuple[httpx.Client, httpx.Response]:
    """Sign in through the login form as a browser would: CSRF cookie, then the post."""
    client = httpx.Client(base_url=node.url, timeout=30)
    client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": f"{node.url}/login/"},
    )
    return client, response


def signed_in(response: httpx.Response) -> bool:
    return response.status_code == 302 and "/login/" not in response.headers["location"]


def users_known(node) -> dict[str, bool]:
    import json

    return {
        u["username"]: u["active"] for u in json.loads(node.run("user", "list", "--json").stdout)
    }


def test_staff_sign_in_at_an_edge_with_the_hub_down_and_a_disabled_user_is_refused(cluster):
    hub, a, b = cluster.hub, *cluster.edges
    hub.run(
        "user",
        "add",
        "nurse1",
        "--role",
        "nurse",
        "--password-file",
        "-",
        input=NURSE_PASSWORD + "\n",
    )
    for edge in (a, b):
        wait_for(lambda e=edge: users_known(e).get("nurse1"), what=f"{edge.name} to learn nurse1")
    status, patient = a.json(
        "POST", "/api/v1/patients", {"name_en": "Kamala Devi", "sex": "F", "age_years": 61}
    )
    assert status == 201
    uhid = patient["uhid"]

    hub.stop()  # the hub is gone for the rest of the test

    # Created on the hub, signing in at an edge that has never seen the hub since.
    nurse, response = sign_in(a, "nurse1", NURSE_PASSWORD)
    assert signed_in(response), response.text
    assert nurse.get(f"/counter/patients/{uhid}").status_code == 200
    _, wrong = sign_in(a, "nurse1", "not-the-password-at-all")
    assert not signed_in(wrong)

    # Edge a is cut off; an administrator at edge b disables the nurse.
    cluster.isolate(a)
    b.run("user", "disable", "nurse1")
    _, refused = sign_in(b, "nurse1", NURSE_PASSWORD)
    assert not signed_in(refused)
    # Edge a has not heard: the nurse keeps working there (and it is all recorded).
    assert nurse.get(f"/counter/patients/{uhid}").status_code == 200

    cluster.heal()
    wait_for(lambda: users_known(a).get("nurse1") is False, what="edge a to hear of the disabling")
    # Refused everywhere now: a new sign-in, and the session already open.
    _, refused = sign_in(a, "nurse1", NURSE_PASSWORD)
    assert not signed_in(refused)
    assert "Wrong user name or password, or the account is disabled." in refused.text
    assert "/login/" in nurse.get(f"/counter/patients/{uhid}").headers.get("location", "")

    # Edge b's status shows what the nurse did at edge a while the news was travelling.
    def late_work():
        return [late for late in b.status()["after_disable"] if late["username"] == "nurse1"]

    late = wait_for(late_work, what="edge b to receive edge a's events")[0]
    assert late["disabled_on"] == b.name and late["disabled_by"] == "cli"
    reads = [e for e in late["events"] if e["origin"] == a.name]
    assert reads and all(e["type"] == "accounts.record_accessed" for e in reads)
    assert all(e["stream"] == f"audit:{uhid}" for e in reads)
    # The first read, before the disabling, is not among them.
    assert len(reads) == 1
