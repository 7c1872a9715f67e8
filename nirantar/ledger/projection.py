"""Projections: the tables screens read, computed from events.

A projection's state must be a function of the *set* of events, not of the
order they arrived in. Each handler follows one of the rules in DESIGN.md
(create keyed by an unforgeable id, last-writer-wins per field by HLC, monotone
status, append-only collection). The property test in tests/ledger checks it.

Handlers are registered with ``@handles("module.something_happened")`` in each
module's ``projections.py``; the tables they write are registered with
``register_models`` so ``rebuild`` and ``dump`` know them.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models as dj_models
from django.db import transaction

from nirantar.ledger.bulk import collector_paused
from nirantar.ledger.events import Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]
# A batch handler applies many events at once and returns those it could not apply.
BatchHandler = Callable[[list[Event]], list[tuple[Event, str]]]
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_handlers: dict[str, list[Handler]] = defaultdict(list)
_batch_handlers: dict[str, list[BatchHandler]] = defaultdict(list)
# Every batch handler in the order registered: a module's handler that reads another's
# tables (duplicate detection reads the patients) runs after it, as apps are listed.
_batch_order: list[BatchHandler] = []
_models: list[type[dj_models.Model]] = []
_dump_only: list[type[dj_models.Model]] = []
_upcasters: dict[tuple[str, int], Upcaster] = {}
_current_versions: dict[str, int] = {}
# Set up for a bulk load; each returns the function that finishes it afterwards.
_bulk_hooks: list[Callable[[str], Callable[[], None]]] = []
# Pure work a bulk load does on events beside the ingest: (type, work, take).
_beside: list[
    tuple[str, Callable[[dict[str, Any]], Any], Callable[[list[tuple[str, Any]]], None]]
] = []


class ProjectionFailed(Exception):
    pass


def handles(*types: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in types:
            _handlers[name].append(handler)
        return handler

    return register


def handles_batch(*types: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register a handler that applies a whole batch of these types in a few statements.

    Sync and rebuild move events by the thousand; one query per event per table
    is what made them slow. A batch handler must give the same tables as applying
    the events one by one, in any order - the convergence tests run both ways.

    Several modules may handle one type; their handlers run in the order registered.
    """

    def register(handler: BatchHandler) -> BatchHandler:
        for name in types:
            if handler not in _batch_handlers[name]:
                _batch_handlers[name].append(handler)
        if handler not in _batch_order:
            _batch_order.append(handler)
        return handler

    return register


def register_models(*models: type[dj_models.Model]) -> None:
    """Declare tables that are projections: rebuilt from the log, compared in dumps.

    Register them parents first; rebuild empties them in reverse order.
    """
    for model in models:
        if model not in _models:
            _models.append(model)


def register_dump_only(*models: type[dj_models.Model]) -> None:
    """Tables derived from the log by the ledger itself: compared in dumps, not rebuilt."""
    for model in models:
        if model not in _dump_only:
            _dump_only.append(model)


def defer_in_bulk(
    hook: Callable[[str], Callable[[], None]],
) -> Callable[[str], Callable[[], None]]:
    """Register work a projection would rather do once after a bulk load than per row.

    ``hook(after)`` runs before the load (say, dropping a trigger that indexes each row)
    and returns what puts things right after it (recreating the trigger, indexing every
    row at once). Only for loads into empty tables by one process: a restore. ``after``
    says whether work the node does not need in order to serve (the duplicate worklist)
    is to be done "now", before the load ends, "later", by the node once it serves, or
    as its size says ("auto").
    """
    _bulk_hooks.append(hook)
    return hook


def beside_bulk(
    event_type: str,
    work: Callable[[dict[str, Any]], Any],
    take: Callable[[list[tuple[str, Any]]], None],
) -> None:
    """Have a restore run ``work`` on every event of ``event_type`` in the process that
    opens the backup (beside the one that ingests), and hand what it returns to ``take``
    here - work the loading process would otherwise do itself.

    ``work`` gets the event's fields as its line gives them (``body`` and ``hlc`` as
    lists and maps); it must be picklable (a module-level function, or a partial of one),
    need no Django and no database (it runs in a process of its own, on an event not yet
    verified), and return a picklable value or None. ``take`` gets, batch by batch and
    before the batch is ingested, (content hash, value) of each: a value is for the event
    whose content has that hash, and only for it. Values are hints: what is projected
    must come out the same if ``take`` is never called.
    """
    _beside.append((event_type, work, take))


def beside_work() -> list[tuple[str, Callable[[dict[str, Any]], Any]]]:
    """The ``beside_bulk`` work, (event type, work) in the order registered, to send to
    the process that opens a backup."""
    return [(event_type, work) for event_type, work, _ in _beside]


def take_beside(results: dict[int, list[tuple[str, Any]]]) -> None:
    """Hand what each ``beside_work`` (by its place in that list) made of a batch to its
    taker."""
    for index, (_, _, take) in enumerate(_beside):
        if results.get(index):
            take(results[index])


AFTER = ("now", "later", "auto")


@contextmanager
def bulk_loading(after: str = "now") -> Iterator[None]:
    """Defer the registered per-row work until the end of the block, even if it fails,
    with the cyclic garbage collector paused throughout (``bulk.collector_paused``).
    ``after``: see ``defer_in_bulk``."""
    if after not in AFTER:
        raise ValueError(f"after must be one of {AFTER}")
    finishers: list[Callable[[], None]] = []
    with collector_paused():
        try:
            for hook in _bulk_hooks:
                finishers.append(hook(after))
            yield
        finally:
            for finish in reversed(finishers):
                finish()


def event_version(type: str, version: int) -> None:
    """Declare the current body version of an event type."""
    _current_versions[type] = version


def upcaster(type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that upgrades a body from ``from_version`` to the next."""

    def register(fn: Upcaster) -> Upcaster:
        _upcasters[(type, from_version)] = fn
        return fn

    return register


def current_version(type: str) -> int:
    return _current_versions.get(type, 1)


def upcast(event: Event) -> dict[str, Any]:
    """The body of ``event`` at the current version of its type (old events stay as stored)."""
    body = event.body
    version = body.get("v", 1)
    target = current_version(event.type)
    while isinstance(version, int) and version < target:
        fn = _upcasters.get((event.type, version))
        if fn is None:
            raise ProjectionFailed(f"no upcaster for {event.type} v{version}")
        body = fn(dict(body))
        version += 1
        body["v"] = version
    return body


def known_types() -> set[str]:
    return set(_handlers) | set(_batch_handlers) | set(_current_versions)


def apply(event: Event) -> None:
    """Apply one event to every projection that wants it (inside the caller's transaction)."""
    for batch in _batch_handlers.get(event.type, ()):
        for _, error in batch([event]):
            raise ProjectionFailed(error)
    for handler in _handlers.get(event.type, ()):
        handler(event)


def apply_many(events: list[Event]) -> list[tuple[Event, str]]:
    """Apply events from elsewhere in bulk; returns those that could not be projected.

    Events of types with a batch handler go through it together; if the batch as a
    whole fails, its events are retried one by one so one bad event can't hold
    back the rest. Order does not matter: projections are functions of the set.
    """
    failures: list[tuple[Event, str]] = []
    groups: dict[BatchHandler, list[Event]] = {}
    singles: list[Event] = []
    for event in events:
        handlers = _batch_handlers.get(event.type)
        if not handlers:
            singles.append(event)
        for handler in handlers or ():
            groups.setdefault(handler, []).append(event)
    failed: dict[str, Event] = {}
    for handler in sorted(groups, key=_batch_order.index):
        group = groups[handler]
        try:
            with transaction.atomic():
                failures += handler(group)
        except Exception:  # noqa: BLE001 - retried one by one below, each failure reported
            log.exception("batch projection failed; applying %d events one by one", len(group))
            # Applied again whole (every handler of its type): each is idempotent.
            failed.update((e.id, e) for e in group)
    singles += failed.values()
    for event in singles:
        error = apply_isolated(event)
        if error is not None:
            failures.append((event, error))
    return failures


def apply_isolated(event: Event) -> str | None:
    """Apply an event that came from elsewhere; a failing handler is undone, not fatal.

    A signed event from an enrolled node is kept even if this version of the
    code can't project it (say, a newer event type): it is in the log, and a
    later rebuild will project it. Returns the error, if any.
    """
    if not _handlers.get(event.type) and event.type not in _batch_handlers:
        return None
    try:
        with transaction.atomic():
            apply(event)
    except Exception as exc:  # noqa: BLE001 - any handler error is reported, not raised
        log.exception("projecting %s#%s (%s) failed", event.origin, event.seq, event.type)
        return f"{type(exc).__name__}: {exc}"
    return None


def models() -> list[type[dj_models.Model]]:
    return list(_models)


def clear() -> None:
    for model in reversed(_models):
        model._default_manager.all().delete()


def rebuild(
    events: Iterable[Event],
    progress: Callable[[int], None] | None = None,
    failures: list[tuple[Event, str]] | None = None,
) -> int:
    """Empty every projection and replay ``events``. Call inside a write transaction.

    Each event is applied in isolation, as ingest applies remote events: one that
    can't be projected is reported in ``failures``, not allowed to stop the rest.
    """
    clear()
    count = 0
    chunk: list[Event] = []

    def flush() -> None:
        found = apply_many(chunk)
        if failures is not None:
            failures.extend(found)
        chunk.clear()

    for event in events:
        chunk.append(event)
        count += 1
        if len(chunk) == 1000:
            flush()
            if progress is not None:
                progress(count)
    flush()
    return count


def _value(value: Any) -> str:
    # JSON columns compare by content: key order in a stored map is not state.
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return repr(value)


def _row(values: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, _value(v)) for k, v in values.items()))


def dump() -> dict[str, list[tuple[tuple[str, str], ...]]]:
    """Every projection row, without surrogate ids, in a stable order.

    Two nodes holding the same set of events must produce equal dumps.
    """
    result: dict[str, list[tuple[tuple[str, str], ...]]] = {}
    for model in [*_dump_only, *_models]:
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if not isinstance(f, dj_models.AutoField) and not getattr(f, "dump_exclude", False)
        ]
        rows = model._default_manager.values(*fields)
        result[model._meta.label] = sorted(_row(row) for row in rows)
    return result
