"""HTTPS between nodes: `serve --certfile --keyfile`, and peers that check the certificate."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

import pytest

from tests.system.cluster import ENV, wait_for
from tests.system.node import NodeProcess
from tests.system.tls import ScratchCA

pytestmark = pytest.mark.system


@pytest.fixture
def hospital_ca(tmp_path):
    return ScratchCA(tmp_path / "pki")


def test_nodes_sync_over_https_and_refuse_a_certificate_they_do_not_trust(tmp_path, hospital_ca):
    hub = NodeProcess(tmp_path / "hub", "hub", 1, extra_env=ENV)
    edge = NodeProcess(tmp_path / "edge", "edge", 2, extra_env=ENV)
    hub.run("init", "--hub", "--node", "hub", "--number", "1", "--tls-ca", str(hospital_ca.path))
    hub.add_user("admin", "admin")
    hub.admin_token = hub.token
    hub.add_user("clerk", "clerk")
    hub.start(sync_interval=0.5, tls=hospital_ca.issue("hub"), ca=hospital_ca.path)
    edge_cert = hospital_ca.issue("edge")
    try:
        assert hub.url.startswith("https://")
        # Plain HTTP to an HTTPS port gets nowhere.
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(hub.url.replace("https", "http") + "/healthz", timeout=5)  # noqa: S310
        # The hub tells browsers to stay on HTTPS, and its cookies are secure-only.
        status, headers, _ = hub.request("GET", "/login/", headers={})
        assert status == 200
        assert "max-age" in headers["Strict-Transport-Security"]
        assert "Secure" in headers["Set-Cookie"]

        # A node without the hospital's CA will not talk to the hub, and says why.
        stranger = NodeProcess(tmp_path / "stranger", "stranger", extra_env=ENV)
        refused = stranger.run("init", "--node", "stranger", "--join", hub.url, check=False)
        assert refused.returncode == 1
        assert "does not trust" in refused.stderr and "tls-ca.pem" in refused.stderr
        assert not any((tmp_path / "stranger").iterdir())  # nothing half-made is left

        # A node given the CA joins, and the two sync over HTTPS both ways.
        code = edge.join(hub.url, own_url=f"https://127.0.0.1:{edge.port}", tls_ca=hospital_ca.path)
        hub.run("enrol", "approve", code, "--number", "2")
        edge.start(sync_interval=0.5, tls=edge_cert, ca=hospital_ca.path)
        wait_for(
            lambda: "clerk" in edge.run("user", "list").stdout,
            what="the edge to enrol and learn the users",
        )
        edge.issue_token("clerk")
        status, patient = edge.json(
            "POST", "/api/v1/patients", {"name_en": "Savitri Bai", "sex": "F", "age_years": 50}
        )
        assert status == 201, patient
        wait_for(
            lambda: hub.json("GET", f"/api/v1/patients/{patient['uhid']}")[0] == 200,
            what="the patient to reach the hub over HTTPS",
        )
        # The edge's certificate is checked by the hub too: it is signed by the same CA.
        context = ssl.create_default_context(cafile=str(hospital_ca.path))
        with urllib.request.urlopen(f"{edge.url}/healthz", context=context, timeout=5) as r:  # noqa: S310
            assert r.status == 200
    finally:
        edge.stop()
        hub.stop()
