"""GET /api/v1/status, the status screen and the enrolment screen."""

from django.test import Client

from nirantar.ledger import keys
from nirantar.ledger.ingest import raise_alarm
from nirantar.ledger.models import JoinRequest, Origin, Peer
from tests.conftest import PASSWORD


def signed_in(user):
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_any_signed_in_role_sees_the_nodes_status(api_as, clerk):
    raise_alarm("clock_skew", "ward-7's clock is 600 s ahead of this node's", "ward-7")
    answer = api_as(clerk).get("/api/v1/status").json()
    assert answer["node"] == "test-counter" and answer["number"] == 101
    assert answer["vector"]["test-counter"] >= 1
    assert answer["alarms"][0]["kind"] == "clock_skew"
    assert answer["peers"] == [] and "digest" not in answer or answer["digest"] is None


def test_only_an_administrator_may_ask_for_the_digest(api_as, clerk, admin):
    assert api_as(clerk).get("/api/v1/status?digest=true").status_code == 403
    digest = api_as(admin).get("/api/v1/status?digest=true").json()["digest"]
    assert len(digest) == 64


def test_the_status_screen_names_peers_and_alarms(clerk):
    Peer.objects.create(
        url="http://hub:8000",
        name="hub",
        added_at="2026-01-01T00:00Z",
        last_error="http://hub:8000 is unreachable: ConnectError",
        their_vector={"test-counter": 1},
    )
    raise_alarm("equivocation", "ward-7 signed two different events with seq 3", "ward-7")
    html = signed_in(clerk).get("/status/").content.decode()
    assert "is unreachable" in html and "ward-7 signed two different events" in html


def test_an_administrator_approves_a_join_on_the_enrolment_screen(admin):
    public = keys.public_text(keys.generate())
    JoinRequest.objects.create(
        code="ABCD-EFGH", node="ward-9", public_key=public, requested_at="2026-01-01T00:00Z"
    )
    client = signed_in(admin)
    assert "ABCD-EFGH" in client.get("/enrolment/").content.decode()
    response = client.post(
        "/enrolment/", {"action": "approve", "code": "ABCD-EFGH", "number": "9"}, follow=True
    )
    assert "Enrolled ward-9 as number 9" in response.content.decode()
    assert Origin.objects.get(name="ward-9").number == 9


def test_a_taken_number_is_refused_with_a_reason(admin):
    JoinRequest.objects.create(
        code="WXYZ-2345",
        node="ward-9",
        public_key=keys.public_text(keys.generate()),
        requested_at="2026-01-01T00:00Z",
    )
    response = signed_in(admin).post(
        "/enrolment/", {"action": "approve", "code": "WXYZ-2345", "number": "101"}, follow=True
    )
    assert "already taken" in response.content.decode()
    assert not Origin.objects.filter(name="ward-9").exists()


def test_a_clerk_cannot_open_the_enrolment_screen(clerk):
    assert signed_in(clerk).get("/enrolment/").status_code == 403
