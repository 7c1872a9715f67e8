"""Projections of duplicate detection: the blocking table and the worklist of likely pairs.

Both follow registration's patient events (registered, corrected) whichever node made
them: a duplicate made on two nodes apart is found on every node once both events
have arrived. They run after registration's own handler (apps are listed after
registration), so they read the patients as the batch left them.

Convergence: a pair's row is a function of the two records as they stand, and the two
records are compared again whenever either changes. The pairs looked at (``qualifies``)
are any two patients who share a *filed* key that is not crowded, or who share keys of
two different kinds of evidence (``family``): a key filed under more than ``CROWDED``
patients ("Ram", male, born 1980-84) says nothing on its own, and pairing all of its
bucket would grow with the square of its size. Both parts are symmetric and depend
only on the blocking table as it stands - the set of records, not the order they came
in - so it does not matter which of two records arrived last. That is why it is not a
cap by arrival, as at the counter: a cap would make the rows depend on what had
arrived when. What a change to one record can do to pairs it is not in: make a key's
bucket cross ``CROWDED`` (``rescore`` takes those pairs off or scores them).
"""

from __future__ import annotations

import array
import functools
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import nullcontext
from typing import Any

import numpy as np
from django.db import connection, transaction

from nirantar import sql
from nirantar.dedupe import events, scoring, screen
from nirantar.dedupe.models import BlockingKey, DuplicatePair, PairReview
from nirantar.ledger import bulk, lww
from nirantar.ledger.events import Event
from nirantar.ledger.projection import (
    beside_bulk,
    defer_in_bulk,
    event_version,
    handles,
    handles_batch,
    register_models,
)
from nirantar.registration import candidates as registry
from nirantar.registration import events as registration_events
from nirantar.registration import matching
from nirantar.registration.models import Patient

register_models(BlockingKey, DuplicatePair, PairReview)
for _type in (events.PAIR_DISMISSED, events.PAIR_REOPENED):
    event_version(_type, 1)

Failures = list[tuple[Event, str]]

# Set while a restore loads the log into empty tables: each registration is filed under
# the keys worked out beside the load, and the pairs are found once at the end.
# "beside": the latest segment's registrations, (UHID, keys) by content hash. "filed":
# each UHID a patient event named during the load: True if filed once, from its
# registration, and no other patient event named it; False if its keys are to be
# worked out again (filed twice, or corrected).
_bulk: dict[str, Any] = {"loading": False, "beside": {}, "filed": {}}

# A key filed under more than this many patients is crowded: sharing it alone does not
# make two patients a pair to score. Among 500,000 synthetic patients the year-band
# keys ("y:") of common first names hold ~190 each and gave most of 7.5 million pairs;
# a pair of true duplicates nearly always shares a rarer key too (the mobile, the two
# name words, a name with the guardian). Read when used, so a test may lower it.
CROWDED = 128


family = scoring.family


def qualifies(shared: Iterable[str], size: Callable[[str], int]) -> bool:
    """Whether two patients sharing the filed keys ``shared`` are a pair to score: they
    share a key that is not crowded, or keys of two families (whatever their sizes)."""
    listed = list(shared)
    if any(size(key) <= CROWDED for key in listed):
        return True
    return len({family(key) for key in listed}) >= 2


@handles_batch(registration_events.PATIENT_REGISTERED, registration_events.PATIENT_CORRECTED)
def on_patient_events(batch: list[Event]) -> Failures:
    """File the touched patients under their keys again and score their pairs again."""
    if _bulk["loading"]:
        _file_beside(batch)  # the pairs are worked out once at the end
        return []
    uhids = {str(e.body.get("uhid", "")) for e in batch if isinstance(e.body, dict)}
    uhids.discard("")
    records = registry.match_records(uhids)
    keys = {uhid: matching.blocking_keys(record) for uhid, (record, _) in records.items()}
    before = filed_keys(records)
    file_keys(keys)
    rescore(records, keys, before)
    return []  # registration reports a malformed event; here it only has no record


def _file_beside(batch: list[Event]) -> None:
    """During a restore: file each registration under the keys worked out beside it
    (``scoring.filed_at_registration``), and note which patients were filed, and which
    a correction (or a second filing) touched. ``rescore_all`` keeps the keys of a
    patient filed once and never corrected - its record is the one its registration
    made - and works out the keys of every other registered patient again: so a
    correction here needs nothing but that note, and a registration without keys from
    beside is filed there.

    The notes are kept only once the keys are committed: an ingest that rolls a batch
    back and tries it again event by event (``sync.ingest_remote``) must not leave a note
    of keys that are not there."""
    beside = _bulk["beside"]
    taken: list[tuple[str, list[str]]] = []
    again: list[str] = []  # named by a correction, or by a registration without keys
    for event in batch:
        registered = event.type == registration_events.PATIENT_REGISTERED
        if registered and (made := beside.get(event.hash)) is not None:
            taken.append(made)
        elif isinstance(event.body, dict):
            again.append(str(event.body.get("uhid", "")))
    if taken:
        bulk.insert_ignore(
            BlockingKey._meta.db_table,
            ("key", "uhid"),
            [(key, uhid) for uhid, keys in taken for key in keys],
        )
    if taken or again:
        filed_now = [uhid for uhid, _ in taken]
        transaction.on_commit(functools.partial(_remember_filed, filed_now, again))


def _remember_filed(filed_now: list[str], again: list[str]) -> None:
    if not _bulk["loading"]:
        return  # committed after the load ended: its keys are worked out again there
    filed = _bulk["filed"]
    for uhid in filed_now:
        filed[uhid] = uhid not in filed
    filed.update(dict.fromkeys(again, False))


def file_keys(keys: dict[str, set[str]]) -> None:
    """Replace each patient's rows in the blocking table by its present ``keys``."""
    with connection.cursor() as cursor:
        for marks, chunk in sql.in_chunks(sorted(keys)):
            cursor.execute(
                f"DELETE FROM {BlockingKey._meta.db_table} WHERE uhid IN ({marks})",  # noqa: S608
                chunk,
            )
    bulk.insert_ignore(
        BlockingKey._meta.db_table,
        ("key", "uhid"),
        ((key, uhid) for uhid, filed in keys.items() for key in sorted(filed)),
    )


def filed_keys(uhids: Iterable[str]) -> dict[str, set[str]]:
    """The keys each of ``uhids`` is filed under now."""
    found: dict[str, set[str]] = defaultdict(set)
    with connection.cursor() as cursor:
        for marks, chunk in sql.in_chunks(sorted(set(uhids))):
            cursor.execute(
                f"SELECT uhid, key FROM {BlockingKey._meta.db_table} WHERE uhid IN ({marks})",  # noqa: S608
                chunk,
            )
            for uhid, key in cursor.fetchall():
                found[uhid].add(key)
    return dict(found)


def _sizes(keys: Iterable[str]) -> dict[str, int]:
    """How many patients are filed under each key (0 for none): counted on the
    (key, uhid) index, never read into Python."""
    listed = sorted(set(keys))
    sizes = dict.fromkeys(listed, 0)
    with connection.cursor() as cursor:
        for marks, chunk in sql.in_chunks(listed):
            cursor.execute(
                f"SELECT key, COUNT(*) FROM {BlockingKey._meta.db_table} "  # noqa: S608
                f"WHERE key IN ({marks}) GROUP BY key",
                chunk,
            )
            sizes.update((key, int(count)) for key, count in cursor.fetchall())
    return sizes


def _sharing(keys: Iterable[str]) -> set[str]:
    listed = sorted(set(keys))
    if not listed:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT uhid FROM {BlockingKey._meta.db_table} "  # noqa: S608
            f"WHERE key IN ({', '.join(['%s'] * len(listed))})",
            listed,
        )
        return {row[0] for row in cursor.fetchall()}


def _sharing_two(keys: Iterable[str]) -> set[str]:
    """The UHIDs filed under keys of at least two families among ``keys``: one grouped
    query, so a crowded bucket is counted in the database, not read and scored."""
    listed = sorted(set(keys))
    families = {family(key) for key in listed}
    if len(families) < 2:
        return set()
    banded = [key for key in listed if family(key) != key]
    if banded:  # a first name's two bands count once
        whens = " ".join(["WHEN %s THEN %s"] * len(banded))
        counted = f"COUNT(DISTINCT CASE key {whens} ELSE key END)"
        params: list[str] = [x for key in banded for x in (key, family(key))]
    else:
        counted, params = "COUNT(*)", []  # (key, uhid) is unique
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT uhid FROM {BlockingKey._meta.db_table} "  # noqa: S608
            f"WHERE key IN ({', '.join(['%s'] * len(listed))}) "
            f"GROUP BY uhid HAVING {counted} >= 2",
            [*listed, *params],
        )
        return {row[0] for row in cursor.fetchall()}


def _members(key: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT uhid FROM {BlockingKey._meta.db_table} WHERE key = %s ORDER BY uhid",  # noqa: S608
            [key],
        )
        return [row[0] for row in cursor.fetchall()]


def _unsupported(crowded: Iterable[str], touched: set[str]) -> list[str]:
    """Listed pairs of untouched patients, both in a bucket of ``crowded`` (just become
    crowded), that share no qualifying key any more."""
    listed = sorted(set(crowded))
    if not listed:
        return []
    table, keys = DuplicatePair._meta.db_table, BlockingKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT p.pair, p.uhid_a, p.uhid_b FROM {table} p "  # noqa: S608
            f"JOIN {keys} x ON x.uhid = p.uhid_a JOIN {keys} y ON y.uhid = p.uhid_b "
            f"AND y.key = x.key WHERE x.key IN ({', '.join(['%s'] * len(listed))})",
            listed,
        )
        rows = [r for r in cursor.fetchall() if r[1] not in touched and r[2] not in touched]
    if not rows:
        return []
    filed = filed_keys(u for _, a, b in rows for u in (a, b))
    sizes = _sizes(k for keys_ in filed.values() for k in keys_)
    return [
        pair
        for pair, a, b in rows
        if not qualifies(filed.get(a, set()) & filed.get(b, set()), sizes.__getitem__)
    ]


def pair_key(one: str, other: str) -> tuple[str, str, str]:
    a, b = sorted((one, other))
    return f"{a}|{b}", a, b


likely = scoring.likely


def pair_row(
    a: str, ra: matching.Record, b: str, rb: matching.Record, at_ms: int
) -> tuple[Any, ...]:
    """The worklist row of a likely pair (``a`` < ``b``): record a first, so the evidence
    reads the same on every node."""
    return (f"{a}|{b}", a, b, *scoring.evidence_of(ra, rb), at_ms)


PAIR_COLUMNS = ("pair", "uhid_a", "uhid_b", "score", "evidence", "found_at_ms")


def scored_row(
    pair: tuple[str, str, float, list[dict[str, Any]]],
    changed: dict[str, tuple[matching.Record, int]],
) -> tuple[Any, ...]:
    """The worklist row of a likely pair scored in bulk (``scoring.score_pairs``), found
    when the later of its two records (``changed``: ``match_records``) took its form."""
    a, b, score, evidence = pair
    return (f"{a}|{b}", a, b, score, evidence, max(changed[a][1], changed[b][1]))


def _rows(
    pairs: Iterable[tuple[str, str]], records: dict[str, tuple[matching.Record, int]]
) -> dict[str, tuple[Any, ...]]:
    """The rows of the likely ones among ``pairs`` (each ``a`` < ``b``). When a record
    last changed is read only for those: parsing every candidate's stamps cost more than
    scoring it."""
    found = [
        (a, b)
        for a, b in pairs
        if a in records and b in records and likely(records[a][0], records[b][0])
    ]
    changed = registry.match_records({u for pair in found for u in pair})
    return {
        f"{a}|{b}": pair_row(a, records[a][0], b, records[b][0], max(changed[a][1], changed[b][1]))
        for a, b in found
        if a in changed and b in changed
    }


def rescore(
    records: dict[str, tuple[matching.Record, int]],
    keys_of: dict[str, set[str]],
    before: dict[str, set[str]],
) -> None:
    """Score every pair of a touched patient again; keep those at the threshold or above.
    ``keys_of``: each touched patient's blocking keys now; ``before``: the keys it was
    filed under before this change.

    The pairs of a touched patient are those that ``qualify`` now (``file_keys`` has
    run). Pairs of two untouched patients share the keys they shared before, so theirs
    changes only where one of those keys' buckets crossed ``CROWDED``: up, and a pair
    left with no qualifying key is taken off; down (a correction took a key away), and
    the whole bucket - at most ``CROWDED`` patients - is scored.
    """
    if not records:
        return
    grown: Counter[str] = Counter()
    for uhid, keys in keys_of.items():
        old = before.get(uhid, set())
        grown.update(dict.fromkeys(keys - old, 1))
        grown.subtract(dict.fromkeys(old - keys, 1))
    sizes = _sizes({k for keys in keys_of.values() for k in keys} | set(grown))
    limit = CROWDED
    up = [k for k, d in grown.items() if d > 0 and sizes[k] - d <= limit < sizes[k]]
    down = [k for k, d in grown.items() if d < 0 and sizes[k] <= limit < sizes[k] - d]
    pairs: set[tuple[str, str]] = set()
    for uhid, keys in keys_of.items():
        open_ = [k for k in keys if sizes[k] <= limit]
        crowded = [k for k in keys if sizes[k] > limit]
        for other in (_sharing(open_) | _sharing_two(crowded)) - {uhid}:
            _, a, b = pair_key(uhid, other)
            pairs.add((a, b))
    for key in down:
        members = _members(key)
        pairs.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    gone = _unsupported(up, set(records))
    others = registry.match_records(
        {u for pair in pairs for u in pair} - set(records), changed=False
    )
    rows = _rows(sorted(pairs), {**others, **records})
    touched = sorted(records)
    # Pairs of a touched patient that no longer qualify go; the rest are written anew.
    # Plain SQL: this runs inside every registration's write.
    table = DuplicatePair._meta.db_table
    marks = ", ".join(["%s"] * len(touched))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE uhid_a IN ({marks}) OR uhid_b IN ({marks})",  # noqa: S608
            [*touched, *touched],
        )
        for gone_marks, chunk in sql.in_chunks(gone):
            cursor.execute(f"DELETE FROM {table} WHERE pair IN ({gone_marks})", chunk)  # noqa: S608
    # A pair of a bucket that came back under CROWDED may be listed already (it shares
    # two families): its row is the same function of the same records, so it stays.
    bulk.insert_ignore(table, PAIR_COLUMNS, rows.values(), json_columns=("evidence",))


def candidate_pairs(filed: Iterable[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    """Every pair (``a`` < ``b``) that ``qualifies``, sorted, from each patient's filed
    keys (``filed`` in UHID order): ``candidate_codes`` as pairs of UHIDs."""
    uhids, codes = candidate_codes(filed)
    n = len(uhids)
    return [(uhids[code // n], uhids[code % n]) for code in codes.tolist()]


def candidate_codes(filed: Iterable[tuple[str, list[str]]]) -> tuple[list[str], np.ndarray]:
    """The UHIDs of ``filed`` (each patient's keys, in UHID order) and every pair that
    ``qualifies``, as ``i * n + j`` for the ``i``-th and ``j``-th patients (``i < j``),
    sorted: the pairs of each bucket that is not crowded, and the patients filed under
    two crowded keys of different families together. The second part never walks a
    crowded bucket pair by pair: patients are grouped by the pairs of crowded keys they
    hold, and only a group's own members are paired.

    Millions of pairs at half a million patients: they are made as arrays (numpy), a
    bucket's at a time in bulk, each pair a number, not a tuple of two strings.
    """
    filed = list(filed)
    uhids = [uhid for uhid, _ in filed]
    if any(a >= b for a, b in zip(uhids, uhids[1:], strict=False)):
        raise ValueError("candidate_pairs needs each patient once, in UHID order")
    key_ids: dict[str, int] = {}
    holder = np.fromiter((i for i, (_, keys) in enumerate(filed) for _ in keys), np.int64)
    key = np.fromiter(
        (key_ids.setdefault(k, len(key_ids)) for _, keys in filed for k in keys), np.int64
    )
    return uhids, scoring.codes_of(holder, key, list(key_ids), len(uhids), CROWDED)


def table_candidates() -> tuple[list[str], np.ndarray]:
    """``candidate_codes`` of the blocking table as it stands, but only of the patients
    who share a key with someone (no one else has a candidate): ``table_groups``, then
    ``scoring.candidates_of_groups``."""
    return scoring.candidates_of_groups(*table_groups(), CROWDED)


def table_groups() -> tuple[list[str], array.array[int], str]:
    """The blocking table grouped by key, leaving out the keys of one patient - 567,000
    of 793,000 at 500,000 patients: each other key, how many patients it holds, and
    their UHIDs - every key's, one after another - as one text (``groups_text``). The
    database groups the rows; ``scoring.candidates_of_groups`` makes the pairs of them.
    No list of each patient's keys is made (390 MB at 500,000 patients)."""
    connection.ensure_connection()
    return scoring.groups_of_text(groups_text(connection.connection, connection.vendor))


def groups_text(raw: Any, vendor: str) -> str:
    """``table_groups`` as the database writes it, as one text read on ``raw`` (a DB-API
    connection): a record (``\x1e``) a key, of the key, its size and its UHIDs (``\x1f``
    between). A backfill has it read in a thread while it builds the screen, and the text
    is cheap to send to the worker that makes the pairs (``scoring.candidates_of_text``).
    A statement, and a row, for every ``GROUPS_AT_ONCE`` keys, in their order: one text
    of every key (23 MB at 500,000 patients) would pass the databases' limit of a text
    (1 GB on either) at some twenty million. The caller makes sure nothing else uses
    ``raw`` meanwhile."""
    if vendor == "sqlite":
        uhids = "group_concat(uhid, ' ')"
        keys = "group_concat(key || char(31) || size || char(31) || uhids, char(30))"
        mark = "?"
    else:
        uhids = "string_agg(uhid, ' ')"
        keys = "string_agg(key || chr(31) || size || chr(31) || uhids, chr(30))"
        mark = "%s"
    texts: list[str] = []
    after = ""
    cursor = raw.cursor()
    try:
        while True:
            cursor.execute(
                f"SELECT max(key), count(*), {keys} FROM (SELECT key, COUNT(*) AS size, "  # noqa: S608
                f"{uhids} AS uhids FROM {BlockingKey._meta.db_table} WHERE key > {mark} "
                f"GROUP BY key HAVING COUNT(*) > 1 ORDER BY key LIMIT {GROUPS_AT_ONCE}) AS grouped",
                [after],
            )
            last, count, text = cursor.fetchone()
            if text:
                texts.append(text)
            if count < GROUPS_AT_ONCE:
                return "\x1e".join(texts)
            after = last
    finally:
        cursor.close()


GROUPS_AT_ONCE = 500_000  # keys a statement (500,000 patients share 226,000 keys: one)


def rescore_all(
    filed_during: dict[str, bool] | None = None,
    *,
    pairs: bool = True,
) -> None:
    """Work out the blocking table and the worklist of every patient at once: after a
    bulk load, which scores no pairs as patients arrive.

    Gives the rows that registering the patients one by one would give: each registered
    patient filed under the keys of its record as it stands, and every pair that
    ``qualifies`` on that table (``candidate_codes``) scored on those records. The keys
    and the scores - pure computation, most of a restore's work on a big registry - are
    shared out among the machine's cores (``scoring``); the rows are written here, in
    one transaction.

    ``filed_during``: the patients a restore named as it loaded (``_file_beside``), True
    for each filed once from its registration and named by no other patient event. Their
    keys stay: the record is the one the registration made, and the keys are of that.
    Every other registered patient's are worked out here, and the keys of a UHID that is
    not a registered patient are taken out. Only the UHIDs are read of those whose keys
    stay, a chunk at a time, so without ``pairs`` (which are left to ``backfill``) the
    memory this takes grows only with the patients worked out again. (Before, every
    record was read to compare its fields with a fingerprint of those its keys came from:
    the end of a restore of 500,000 patients took 4.1 s, now 2.8-3.0 s.) Without
    ``filed_during`` (or with nothing in it), every key is worked out afresh.
    """
    with transaction.atomic():
        # Nothing noted as filed (no restore, or its commits not yet seen): start afresh.
        afresh = not filed_during
        filed = filed_during or {}
        items: list[tuple[str, matching.Record]] = []
        if afresh:
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {BlockingKey._meta.db_table}")  # noqa: S608
            items = [(u, matching.Record(*f)) for u, f in registry.match_fields_in_turn()]
        else:
            again = [u for u in registry.registered_in_turn() if not filed.pop(u, False)]
            read = registry.match_records(again, changed=False)
            items = [(u, read[u][0]) for u in again if u in read]
            del again, read
        gone = list(filed)  # filed during the load, not a registered patient now
        worked_out: list[tuple[str, list[str]]] = []
        if items:
            big = len(items) >= scoring.PARALLEL_FROM
            with scoring.pool() if big else nullcontext() as workers:
                count = scoring._workers() if workers else 1
                shares = scoring.shares_of(items, count)
                worked_out = scoring.split(scoring.keys_of, shares, workers)
        del items
        # Those worked out again lose whatever they were filed under; the gone, all.
        file_keys({**dict.fromkeys(gone, set()), **{u: set(k) for u, k in worked_out}})
        DuplicatePair.objects.all().delete()
        if not pairs:
            return
        found = likely_pairs(registry.every_match_record(), table_candidates())
        changed = registry.match_records({u for a, b, _, _ in found for u in (a, b)})
        rows = [
            scored_row((a, b, score, evidence), changed)
            for a, b, score, evidence in found
            if a in changed and b in changed
        ]
        bulk.insert_ignore(
            DuplicatePair._meta.db_table, PAIR_COLUMNS, rows, json_columns=("evidence",)
        )


# Candidate pairs screened a round (progress is told after each). A million at a time,
# the screen's arrays took 300 MB more at the backfill's peak (500,000 patients: 1.45 GB
# against 1.15 GB), and the workers waited longer for the first round and the last
# (17.5 and 17.8 s against 18.1 and 18.5 s; 200,000 and 400,000 did as well).
SCORING_ROUND = 250_000


Pair = tuple[str, str, float, list[dict[str, Any]]]  # a likely pair: a, b, score, evidence


def likely_pairs(
    records: dict[str, matching.Record],
    candidates: tuple[list[str], np.ndarray],
    progress: Callable[[int, int], None] | None = None,
    counted: Any = None,
) -> list[Pair]:
    """The likely pairs among ``candidates`` (``candidate_codes``, ``table_candidates``),
    scored on ``records``; sorted. ``progress(done, total)`` as each round is judged. See
    ``likely_rounds``."""
    found: list[Pair] = []
    for judged, pairs in likely_rounds(records, candidates, counted):
        found += pairs
        if progress is not None:
            progress(judged, len(candidates[1]))
    return sorted(found)


def likely_rounds(
    records: dict[str, matching.Record],
    candidates: tuple[list[str], np.ndarray],
    counted: Any = None,
) -> Iterator[tuple[int, list[Pair]]]:
    """The likely pairs among ``candidates``, a round's at a time as soon as it is judged,
    each with how many candidates have been judged so far (``rounds_of``); from
    ``PARALLEL_FROM`` records, judged by worker processes started for them."""
    big = len(records) >= scoring.PARALLEL_FROM
    yield from rounds_of(records, screen_of(records), candidates, big, counted)


def screen_of(
    records: dict[str, matching.Record],
    names: dict[tuple[str, str], tuple[tuple[str, ...], ...]] | None = None,
) -> screen.Screen:
    """The ``screen`` of ``records``, in their order, and one place more for a UHID that
    has no record (``rounds_of``); ``names``: the spellings' names, if worked out."""
    return screen.Screen([*records.values(), None], names)


def rounds_of(
    records: dict[str, matching.Record],
    sieve: screen.Screen,
    candidates: tuple[list[str], np.ndarray],
    parallel: bool,
    counted: Any = None,
) -> Iterator[tuple[int, list[Pair]]]:
    """The likely pairs among ``candidates``, a round's at a time as soon as it is judged,
    each with how many candidates have been judged so far. The candidates go through
    the screen of the records (``screen_of``) in rounds, all of a round at once; those
    it lets through are judged exactly (``scoring.score_pairs``). If ``parallel``, both
    are done by worker processes forked from this one once all of it is here, a round
    each at a time - they start with the records, the screen and the candidates, so a
    round is sent as its number - while this process does, between rounds, what the
    caller does with those already judged (the backfill writes them).
    ``counted.candidates`` and ``counted.screened`` (the candidates judged exactly) are
    set."""
    uhids, codes = candidates
    if counted is not None:
        counted.candidates = len(codes)
        counted.screened = 0
    if not len(codes):
        return
    position = {uhid: i for i, uhid in enumerate(records)}
    # Each candidate's place in the screen; past the records for one filed under keys but
    # registered after the records were read (her registration scored her pairs itself).
    at = np.fromiter((position.get(u, len(position)) for u in uhids), np.int64, len(uhids))
    del position
    starts = range(0, len(codes), SCORING_ROUND)

    def taken(start: int, judged: tuple[int, list[Pair]]) -> tuple[int, list[Pair]]:
        screened, found = judged
        if counted is not None:
            counted.screened += screened
        return min(start + SCORING_ROUND, len(codes)), found

    # The names as the screen worked them out, for the rounds (the workers have them from
    # this process: its own memory of names keeps fewer).
    matching.remember_names(sieve.spellings)
    _judging.update(records=records, sieve=sieve, uhids=uhids, codes=codes, at=at)
    try:
        with scoring.forked() if parallel else nullcontext() as workers:
            if workers is None:
                for start in starts:
                    yield taken(start, _judged_round(start))
                return
            # Each worker one round ahead at most: the judged wait here to be written.
            ahead = 2 * scoring._workers()
            judging: deque[tuple[int, Future[tuple[int, list[Pair]]]]] = deque()
            for start in starts:
                judging.append((start, workers.submit(_judged_round, start)))
                while judging and (len(judging) > ahead or judging[0][1].done()):
                    begun, future = judging.popleft()
                    yield taken(begun, future.result())
            while judging:
                begun, future = judging.popleft()
                yield taken(begun, future.result())
    finally:
        _judging.clear()


# What ``rounds_of`` judges, for its worker processes: set before they are forked.
_judging: dict[str, Any] = {}


def _judged_round(start: int) -> tuple[int, list[Pair]]:
    """The round of candidates from ``start``: how many the screen let through, and the
    likely pairs among them. In a worker process forked by ``rounds_of`` (or in it)."""
    records, sieve, uhids, codes, at = (
        _judging[k] for k in ("records", "sieve", "uhids", "codes", "at")
    )
    left, right = np.divmod(codes[start : start + SCORING_ROUND], len(uhids))
    through = sieve.may_be_likely(at[left], at[right])
    round_ = [
        (uhids[a], uhids[b])
        for a, b in zip(left[through].tolist(), right[through].tolist(), strict=True)
    ]
    return len(round_), scoring.score_pairs((round_, records))


@defer_in_bulk
def _pairs_once(after: str) -> Callable[[], None]:
    """During a restore, file each registration under the keys worked out beside it and
    score no pairs as patients arrive: work them out once at the end, when every record
    stands as it will (``rescore_all``)."""
    _bulk["loading"] = True

    def finish() -> None:
        from nirantar.dedupe import backfill

        _bulk["loading"] = False
        filed, _bulk["filed"], _bulk["beside"] = _bulk["filed"], {}, {}
        patients = Patient.objects.filter(is_registered=True).count()
        later = after == "later" or (after == "auto" and patients >= backfill.LATER_FROM)
        rescore_all(filed, pairs=not later)
        if later and patients:
            backfill.leave_for_later(patients)

    return finish


def _take_filed(found: list[tuple[str, tuple[str, list[str]]]]) -> None:
    # One segment's at a time: a registration is ingested with the segment it came in
    # (one held back for a gap is filed at the end instead).
    if _bulk["loading"]:
        _bulk["beside"] = dict(found)


# A restore works out each registration's keys in the process that opens the backup.
beside_bulk(registration_events.PATIENT_REGISTERED, scoring.filed_of_event, _take_filed)


@handles(events.PAIR_DISMISSED, events.PAIR_REOPENED)
def on_pair_reviewed(event: Event) -> None:
    """A verdict on a pair: the latest (HLC, origin) stands, on every node alike."""
    body = event.body
    uhid_a, uhid_b = str(body["uhid_a"]), str(body["uhid_b"])
    key, a, b = pair_key(uhid_a, uhid_b)
    if (a, b) != (uhid_a, uhid_b) or event.stream != events.pair_stream(a, b):
        raise ValueError(f"a pair's verdict must name it in order, in stream {key}")
    stamp = lww.stamp_of(event)
    review = PairReview.objects.filter(pair=key).first()
    if review is not None and not lww.newer(stamp, review.stamp):
        return
    PairReview.objects.update_or_create(
        pair=key,
        defaults={
            "uhid_a": a,
            "uhid_b": b,
            "dismissed": event.type == events.PAIR_DISMISSED,
            "reason": str(body.get("reason", ""))[:200],
            "actor": event.actor,
            "at_ms": event.hlc.wall,
            "node": event.origin,
            "stamp": stamp,
        },
    )
