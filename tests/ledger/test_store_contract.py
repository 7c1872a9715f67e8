"""The event store's contract, written once and run on SQLite and on PostgreSQL.

Each case ingests hand-built signed events - as an honest or a dishonest peer
would send them - through the one ingest path, and checks what the store keeps.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

import pytest
from django.db import connections

from nirantar.ledger import keys, models
from nirantar.ledger.ingest import Ingestor, Outcome
from nirantar.ledger.models import Alarm, Held, Quarantine
from nirantar.ledger.store import EventStore, store_for
from nirantar.ledger.verify import verify
from tests.ledger.factory import Hospital


def alias_for(vendor: str) -> str | None:
    for alias in connections:
        if connections[alias].vendor == vendor:
            return alias
    return None


@pytest.mark.django_db(databases="__all__")
class StoreContract:
    vendor = ""

    @pytest.fixture
    def store(self) -> EventStore:
        alias = alias_for(self.vendor)
        if alias is None:
            pytest.fail(f"no {self.vendor} database configured for the contract tests")
        store = store_for(alias)
        if store.head("authority")[0]:  # the suite's own hospital lives on the default database
            from django.db import transaction

            with transaction.atomic(using=alias):
                from nirantar.ledger import models

                for model in (models.Event, models.Head, models.Origin):
                    model.objects.using(alias).all().delete()
        return store

    def ingest(self, store: EventStore, *events):
        ingestor = Ingestor(store)
        outcomes = []
        with store.atomic():
            for event in events:
                store.lock(event.origin)
                outcomes.append(ingestor.ingest(event))
        return outcomes

    def founded(self, store: EventStore):
        hospital = Hospital()
        enrolment, chain = hospital.enrol("ward-7", 7)
        assert self.ingest(store, hospital.genesis, enrolment) == [Outcome.ACCEPTED] * 2
        return hospital, chain

    # -- honest peers ----------------------------------------------------
    def test_it_keeps_an_enrolled_nodes_events_in_order(self, store):
        _, chain = self.founded(store)
        first, second = chain.next(), chain.next()
        assert self.ingest(store, first, second) == [Outcome.ACCEPTED] * 2
        assert store.get("ward-7", 2) == second
        assert store.vector() == {"authority": 2, "ward-7": 2}

    def test_a_batch_keeps_the_time_each_event_was_received(self, store):
        """A batch goes into the table at once (``EventStore.insert_many``; by COPY on
        PostgreSQL, the time as text formatted once for every row)."""
        _, chain = self.founded(store)
        before = datetime.now(UTC)
        with store.atomic():
            for origin in ("authority", "ward-7"):
                store.lock(origin)
            report = Ingestor(store).ingest_many([chain.next() for _ in range(3)])
        after = datetime.now(UTC)
        assert len(report.accepted) == 3
        received = models.Event.objects.using(store.db).filter(origin="ward-7")
        times = list(received.values_list("received_at", flat=True))
        assert len(times) == 3 and all(before <= t <= after for t in times), times

    def test_the_same_event_twice_is_a_no_op(self, store):
        _, chain = self.founded(store)
        event = chain.next()
        assert self.ingest(store, event, event) == [Outcome.ACCEPTED, Outcome.DUPLICATE]
        assert store.count() == 3

    def test_an_event_after_a_gap_is_held_until_the_gap_is_filled(self, store):
        _, chain = self.founded(store)
        first, second, third = chain.next(), chain.next(), chain.next()
        assert self.ingest(store, third, second) == [Outcome.HELD, Outcome.HELD]
        assert store.vector()["authority"] == 2 and "ward-7" not in store.vector()
        assert self.ingest(store, first) == [Outcome.ACCEPTED]
        assert store.vector()["ward-7"] == 3
        assert not Held.objects.using(store.db).exists()

    def test_events_of_a_node_not_yet_enrolled_wait_for_its_enrolment(self, store):
        hospital = Hospital()
        enrolment, chain = hospital.enrol("lab-main", 9)
        event = chain.next()
        assert self.ingest(store, hospital.genesis, event) == [Outcome.ACCEPTED, Outcome.HELD]
        assert self.ingest(store, enrolment) == [Outcome.ACCEPTED]
        assert store.vector() == {"authority": 2, "lab-main": 1}

    def test_events_after_a_vector_are_exactly_what_the_peer_lacks(self, store):
        hospital, chain = self.founded(store)
        sent = [chain.next() for _ in range(5)]
        self.ingest(store, *sent)
        lacking = list(store.events_after({"authority": 2, "ward-7": 2}))
        assert lacking == sent[2:]
        assert list(store.events_after({}))[:2] == [hospital.genesis, store.get("authority", 2)]

    # -- dishonest peers -------------------------------------------------
    def test_a_forged_signature_is_rejected_and_raises_an_alarm(self, store):
        _, chain = self.founded(store)
        honest = chain.next()
        forged = dataclasses.replace(
            honest, sig=keys.sign(keys.generate(), bytes.fromhex(honest.hash))
        )
        assert self.ingest(store, forged) == [Outcome.REJECTED]
        assert store.count() == 2
        assert Alarm.objects.using(store.db).filter(kind="forged", origin="ward-7").exists()

    def test_an_event_altered_after_signing_is_rejected(self, store):
        _, chain = self.founded(store)
        honest = chain.next(body={"amount": 100})
        altered = dataclasses.replace(honest, body={"v": 1, "amount": 900})
        assert self.ingest(store, altered) == [Outcome.REJECTED]
        assert Alarm.objects.using(store.db).filter(kind="tampered").exists()
        assert self.ingest(store, honest) == [Outcome.ACCEPTED]

    def test_an_equivocating_origin_is_quarantined(self, store):
        _, chain = self.founded(store)
        first = chain.next()
        self.ingest(store, first)
        chain.seq, chain.prev = 0, first.prev
        second_version = chain.next(body={"other": True})
        assert second_version.seq == first.seq and second_version != first
        assert self.ingest(store, second_version) == [Outcome.REJECTED]
        assert Quarantine.objects.using(store.db).filter(origin="ward-7").exists()
        assert Alarm.objects.using(store.db).filter(kind="equivocation", origin="ward-7").exists()
        assert store.get("ward-7", 1) == first  # the honest data is untouched
        assert self.ingest(store, chain.next()) == [Outcome.REJECTED]  # until an admin acts

    def test_a_rewritten_past_is_refused(self, store):
        _, chain = self.founded(store)
        self.ingest(store, chain.next())
        chain.prev = "f" * 64  # continue from a history that never was
        assert self.ingest(store, chain.next()) == [Outcome.REJECTED]
        assert Quarantine.objects.using(store.db).filter(origin="ward-7").exists()

    def test_a_revoked_nodes_new_events_are_refused(self, store):
        hospital, chain = self.founded(store)
        kept = chain.next()
        self.ingest(store, kept)
        self.ingest(store, hospital.revoke("ward-7", after_seq=1))
        assert self.ingest(store, chain.next()) == [Outcome.REJECTED]
        assert store.get("ward-7", 1) == kept
        assert Alarm.objects.using(store.db).filter(kind="revoked_origin").exists()

    def test_a_node_cannot_enrol_another(self, store):
        _, chain = self.founded(store)
        sneaky = chain.next(
            "ledger.node_enrolled",
            {"node": "rogue", "number": 66, "public_key": keys.public_text(keys.generate())},
        )
        assert self.ingest(store, sneaky) == [Outcome.REJECTED]
        assert "rogue" not in store.vector()

    def test_another_hospitals_genesis_is_refused(self, store):
        self.founded(store)
        assert self.ingest(store, Hospital().genesis) == [Outcome.REJECTED]
        assert Alarm.objects.using(store.db).filter(kind="foreign_genesis").exists()

    def test_a_number_is_never_enrolled_twice(self, store):
        hospital, _ = self.founded(store)
        enrolment, _ = hospital.enrol("ward-8", 7)
        assert self.ingest(store, enrolment) == [Outcome.REJECTED]

    def test_a_copied_event_id_does_not_lock_the_honest_event_out(self, store):
        hospital, chain = self.founded(store)
        enrolment, rogue = hospital.enrol("rogue", 66)
        self.ingest(store, enrolment)
        honest = chain.next()
        copy = rogue.next()
        copy = dataclasses.replace(copy, id=honest.id)  # re-sign with the stolen id
        from nirantar.ledger import events

        copy = events.build(
            rogue.key,
            origin="rogue",
            seq=1,
            hlc=copy.hlc,
            actor="x",
            type="test.noted",
            stream="s",
            body={"v": 1},
            prev=copy.prev,
            id=honest.id,
        )
        assert self.ingest(store, copy, honest) == [Outcome.ACCEPTED, Outcome.ACCEPTED]
        assert store.get("ward-7", 1) == honest

    def test_a_revocation_voids_later_events_whatever_the_order_they_met_in(self, store):
        hospital, chain = self.founded(store)
        kept, late = chain.next(), chain.next()
        revocation = hospital.revoke("ward-7", after_seq=1)
        # This node received the late event before the revocation...
        assert self.ingest(store, kept, late, revocation) == [Outcome.ACCEPTED] * 3
        # ...and now agrees with nodes that received the revocation first.
        assert store.vector()["ward-7"] == 1
        assert [e.seq for e in store.events_after({"authority": 3})] == [1]
        assert late not in list(store.in_causal_order())
        assert Alarm.objects.using(store.db).filter(kind="revocation_voided").exists()

    def test_an_origin_whose_clock_runs_backwards_along_its_chain_is_refused(self, store):
        from nirantar.ledger.hlc import HLC

        _, chain = self.founded(store)
        first = chain.next()
        second = chain.next(hlc=HLC(first.hlc.wall, first.hlc.counter))
        assert self.ingest(store, first, second) == [Outcome.ACCEPTED, Outcome.REJECTED]
        assert Alarm.objects.using(store.db).filter(kind="clock_regressed").exists()

    def test_verify_passes_on_what_ingest_accepted(self, store):
        _, chain = self.founded(store)
        self.ingest(store, *[chain.next() for _ in range(4)])
        result = verify(using=store.db)
        assert result.ok, result.problems
        assert result.events == 6


class TestSQLiteStore(StoreContract):
    vendor = "sqlite"


class TestPostgresStore(StoreContract):
    vendor = "postgresql"


class ConcurrentWriters:
    """Several threads, each with its own connection, append as one node."""

    vendor = ""

    @pytest.mark.django_db(transaction=True, databases="__all__")
    def test_two_writers_never_share_a_seq(self):
        from nirantar.ledger.writer import LocalNode, writing

        alias = alias_for(self.vendor)
        store = store_for(alias)
        if store.head("authority")[0]:  # the suite's hospital, founded on this database
            from nirantar.ledger.writer import node

            local = dataclasses.replace(node(), store=store)
        else:
            hospital = Hospital()
            enrolment, chain = hospital.enrol("opd-1", 11)
            ingestor = Ingestor(store)
            with store.atomic():
                store.lock("authority")
                ingestor.ingest(hospital.genesis)
                ingestor.ingest(enrolment)
            local = LocalNode(name="opd-1", key=chain.key, authority_key=None, store=store)
        start = store.head(local.name)[0]
        errors = []

        def write(n: int) -> None:
            try:
                for i in range(n):
                    with writing(local) as w:
                        w.emit("test.noted", "test:1", {"i": i}, actor="t")
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=write, args=(15,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert store.vector()[local.name] == start + 60
        assert verify(using=alias).ok


class TestConcurrentSQLiteWriters(ConcurrentWriters):
    vendor = "sqlite"


class TestConcurrentPostgresWriters(ConcurrentWriters):
    vendor = "postgresql"
