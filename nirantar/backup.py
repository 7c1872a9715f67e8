"""Encrypted, append-only backups of the event log, and restore onto a fresh node.

A **backup key pair** (X25519) is made once, away from the nodes: ``PREFIX.pub`` goes on
each node, ``PREFIX.key`` stays offline with the hospital's IT team. A node encrypts to
the public half (HPKE, RFC 9180: X25519, HKDF-SHA256, AES-256-GCM), so a node taken over
by an attacker can write backups but cannot read them; and since each manifest must
include everything the one before it listed, it cannot make a restore drop what was
backed up before it was taken.

A backup destination holds two kinds of file, and none is ever rewritten or deleted:

* ``segments/HASH.seg`` - a run of events (canonical JSON lines, zlib), encrypted; named
  by the SHA-256 of its bytes, so a changed byte is found before anything is decrypted;
* ``manifests/NODE/NNNNNNNN.json`` - the node's signed account of the backup so far: the
  hospital (its genesis hash), the node and its public key, the version vector covered,
  every segment in order, and the hash of the manifest before it (a chain).

``backup`` is incremental: it reads the newest manifest, checks it is this node's own, and
writes the events after its vector. ``restore`` checks the chain of manifests, every
segment's hash, decrypts, and ingests the events through the one ingest path (every
chain link and the signatures that vouch for them are verified there), then checks that
the manifests were signed with the key the restored log enrols for their node.
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import hashlib
import json
import marshal
import multiprocessing
import os
import queue
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import shared_memory
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from nirantar.ledger import keys
from nirantar.ledger.canonical import canonical_text
from nirantar.ledger.events import AUTHORITY, Event, check_line, from_checked
from nirantar.workers import start as start_worker

if TYPE_CHECKING:
    from nirantar.ledger.store import EventStore

T = TypeVar("T")
FORMAT = "nirantar-backup 1"
SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
INFO = b"nirantar backup segment v1"
SEGMENT_EVENTS = 20_000  # events per segment: ~5 MB of JSON before compression
# After each backup the node records it in its own log (stream backup:NODE): every node
# learns of it by sync, so a destination later rolled back to an older state is caught.
BACKUP_WRITTEN = "backup.written"


class BackupError(Exception):
    """The backup can't be made or trusted; the message says what is wrong."""


# -- keys --------------------------------------------------------------------------------


def new_key_pair(prefix: Path) -> tuple[Path, Path]:
    """Write PREFIX.key (private, mode 0600) and PREFIX.pub; refuse to overwrite either."""
    private_path, public_path = (
        prefix.with_name(prefix.name + ".key"),
        prefix.with_name(prefix.name + ".pub"),
    )
    for path in (private_path, public_path):
        if path.exists():
            raise BackupError(f"{path} exists: a backup key is never overwritten")
    private = X25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    public_path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def load_public(path: Path) -> X25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, OSError) as exc:
        raise BackupError(f"{path} is not a backup public key: {exc}") from exc
    if not isinstance(key, X25519PublicKey):
        raise BackupError(f"{path} is not a backup public key (X25519)")
    return key


def load_private(path: Path) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, OSError, TypeError) as exc:
        raise BackupError(f"{path} is not a backup private key: {exc}") from exc
    if not isinstance(key, X25519PrivateKey):
        raise BackupError(f"{path} is not a backup private key (X25519)")
    return key


def fingerprint(key: X25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# -- where backups go ----------------------------------------------------------------------


class Directory:
    """A directory (an external disk, a NAS mount). Files are created, never replaced."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # How the node's log names this destination (its rollback check looks it up).
        self.label = f"dir:{root.resolve()}"

    def __str__(self) -> str:
        return str(self.root)

    def put(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        temporary = Path(partial)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)  # fails if the name exists: nothing is overwritten
        except FileExistsError as exc:
            if path.read_bytes() != data:
                raise BackupError(f"{name} exists with other content; not overwritten") from exc
        finally:
            temporary.unlink()
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new name survives a power cut, not only its bytes
        finally:
            os.close(directory)

    def get(self, name: str) -> bytes:
        try:
            return (self.root / name).read_bytes()
        except FileNotFoundError as exc:
            raise BackupError(f"{name} is missing from {self.root}") from exc

    def exists(self, name: str) -> bool:
        return (self.root / name).exists()

    def names(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )


class ObjectStore:
    """S3-compatible object storage with Object Lock: every object is written with a
    COMPLIANCE retention, so not even the account's owner can delete or shorten it before
    it expires - the copy ransomware cannot reach. Objects are never overwritten (a put
    sends If-None-Match: *). The bucket must have been created with Object Lock on.

    ``s3://BUCKET/PREFIX``; the endpoint from NIRANTAR_S3_ENDPOINT (empty: AWS), the
    credentials as boto3 finds them (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). The
    node's credentials need only write, list and set retention - not read or delete.
    """

    def __init__(self, url: str, retain_days: int, endpoint: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        rest = url.removeprefix("s3://")
        self.bucket, _, prefix = rest.partition("/")
        if not self.bucket:
            raise BackupError(f"{url}: say the bucket, s3://BUCKET/PREFIX")
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.retain_days = retain_days
        self.label = f"s3:{self.bucket}/{self.prefix}"
        self.endpoint = (
            endpoint if endpoint is not None else os.environ.get("NIRANTAR_S3_ENDPOINT", "")
        )
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint or None,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5}),
        )

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def put(self, name: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        until = datetime.now(UTC) + timedelta(days=self.retain_days)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + name,
                Body=data,
                IfNoneMatch="*",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=until,
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "412") and self.get(name) == data:
                return  # already there, the same: a repeated put changes nothing
            raise BackupError(f"{self}{name}: the store refused it ({code}: {exc})") from exc

    def get(self, name: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise BackupError(f"{name} is missing from {self}") from exc
            raise BackupError(f"{self}{name}: {code}: {exc}") from exc
        return bytes(found["Body"].read())

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + name)
        except ClientError:
            return False
        return True

    def names(self, prefix: str) -> list[str]:
        found = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                found.append(item["Key"][len(self.prefix) :])
        return sorted(found)


Destination = Directory | ObjectStore


def destination(target: str, retain_days: int = 90) -> Destination:
    """A directory path, or s3://BUCKET/PREFIX."""
    if target.startswith("s3://"):
        return ObjectStore(target, retain_days)
    return Directory(Path(target))


# -- making a backup ---------------------------------------------------------------------


def _manifest_name(node: str, number: int) -> str:
    return f"manifests/{node}/{number:08d}.json"


def _signed_bytes(manifest: dict[str, Any]) -> bytes:
    return b"nirantar backup manifest\n" + canonical_text(manifest).encode()


def read_manifest(dest: Destination, name: str) -> tuple[dict[str, Any], str, bytes]:
    """(manifest, signature, the file's bytes) - parsed, not yet trusted."""
    raw = dest.get(name)
    try:
        envelope = json.loads(raw)
        manifest, signature = envelope["manifest"], envelope["signature"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{name} is not a backup manifest") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{name} is not a backup manifest of this format")
    problem = _malformed(manifest, name)
    if problem or not isinstance(signature, str):
        raise BackupError(f"{name} is not a well-formed backup manifest ({problem or 'signature'})")
    return manifest, signature, raw


SEGMENT_NAME = re.compile(r"\A[0-9a-f]{64}\.seg\Z")
MANIFEST_NAME = re.compile(r"\Amanifests/([a-z][a-z0-9-]{0,39})/(\d{8})\.json\Z")


def _malformed(m: dict[str, Any], name: str) -> str:
    """What is wrong with a manifest's shape, or "" - before any field is trusted or used."""
    for key in ("hospital", "node", "node_key", "recipient", "prev", "made_at"):
        if not isinstance(m.get(key), str):
            return f"{key} is not text"
    for key in ("number", "events"):
        if not isinstance(m.get(key), int) or isinstance(m.get(key), bool) or m[key] < 0:
            return f"{key} is not a count"
    vector, segments = m.get("vector"), m.get("segments")
    if not isinstance(vector, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in vector.items()
    ):
        return "vector is not origin: seq"
    if not isinstance(segments, list) or not all(
        isinstance(g, dict)
        and isinstance(g.get("name"), str)
        and SEGMENT_NAME.match(g["name"])
        and isinstance(g.get("events"), int)
        for g in segments
    ):
        return "segments are not named by their hashes with their counts"
    if sum(g["events"] for g in segments) != m["events"]:
        return "its events are not its segments' events"
    found = MANIFEST_NAME.match(name)
    if found is None or found.group(1) != m["node"] or int(found.group(2)) != m["number"]:
        return "its name is not manifests/NODE/NUMBER.json of its own node and number"
    return ""


@dataclass
class Made:
    manifest: str
    number: int
    segments: int  # new this time
    events: int  # new this time
    total_events: int
    seconds: float


def make_backup(
    dest: Destination,
    public_key: X25519PublicKey,
    progress: Callable[[int], None] | None = None,
) -> Made:
    """Write this node's events not yet in ``dest``, and a new signed manifest."""
    from nirantar.ledger.writer import node

    started = time.perf_counter()
    local = node()
    store = local.store
    genesis = store.get(AUTHORITY, 1)
    if genesis is None:
        raise BackupError("this node holds no hospital yet (no genesis event)")
    own_key = local.public_key
    previous = sorted(dest.names(f"manifests/{local.name}/"))
    recorded = last_recorded(dest, local.name)
    numbers = [int(m.group(2)) for m in map(MANIFEST_NAME.match, previous) if m]
    newest = max(numbers, default=0)
    if recorded and newest < recorded[0]:
        raise BackupError(
            f"{dest} has been rolled back: this node wrote manifest #{recorded[0]} there "
            f"(recorded in its log), but the newest there now is #{newest}. Nothing written; "
            "check the destination, or back up to a new one"
        )
    if recorded:
        # The number alone is not enough: a copy of the destination taken from elsewhere,
        # or a manifest rewritten, can have the same numbers. The log has its hash.
        number, digest = recorded
        name = _manifest_name(local.name, number)
        if hashlib.sha256(dest.get(name)).hexdigest() != digest:
            raise BackupError(
                f"{dest}: {name} is not the manifest this node wrote there (its log records "
                "another hash): the destination was replaced or altered. Nothing written; "
                "check the destination, or back up to a new one"
            )
    prior: dict[str, Any] | None = None
    prior_raw = b""
    if previous:
        prior, signature, prior_raw = read_manifest(dest, previous[-1])
        if prior.get("node_key") != own_key or not keys.verify(
            own_key, signature, _signed_bytes(prior)
        ):
            raise BackupError(
                f"{previous[-1]} in {dest} was not signed by this node: refusing to continue "
                "another's backup (use another destination, or check the directory)"
            )
        if prior.get("hospital") != genesis.hash:
            raise BackupError(f"{previous[-1]} is another hospital's backup")
    covered: dict[str, int] = dict(prior["vector"]) if prior else {}
    segments: list[dict[str, Any]] = list(prior["segments"]) if prior else []
    recipient = fingerprint(public_key)
    target = store.vector()
    new_segments = new_events = 0
    if prior is not None and _only_its_own_record(store, local.name, covered, target):
        return Made(previous[-1], prior["number"], 0, 0, prior["events"], 0.0)

    def flush(batch: list[Event]) -> None:
        nonlocal new_segments, new_events
        lines = "\n".join(canonical_text(e.to_wire()) for e in batch).encode()
        sealed = SUITE.encrypt(zlib.compress(lines, 1), public_key, info=INFO)
        digest = hashlib.sha256(sealed).hexdigest()
        dest.put(f"segments/{digest}.seg", sealed)
        reach: dict[str, list[int]] = {}
        for event in batch:
            low, high = reach.get(event.origin, [event.seq, event.seq])
            reach[event.origin] = [min(low, event.seq), max(high, event.seq)]
        segments.append({"name": f"{digest}.seg", "events": len(batch), "seqs": reach})
        new_segments += 1
        new_events += len(batch)
        if progress is not None:
            progress(new_events)

    batch: list[Event] = []
    for event in store.events_after(covered):
        if event.seq > target.get(event.origin, 0):
            continue  # written after this backup began: the next one takes it
        batch.append(event)
        if len(batch) >= SEGMENT_EVENTS:
            flush(batch)
            batch = []
    if batch:
        flush(batch)
    number = (prior["number"] + 1) if prior else 1
    manifest = {
        "format": FORMAT,
        "hospital": genesis.hash,
        "node": local.name,
        "node_key": own_key,
        "recipient": recipient,
        "number": number,
        "prev": hashlib.sha256(prior_raw).hexdigest() if prior else "",
        "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "vector": {**covered, **target},
        "segments": segments,
        "events": sum(s["events"] for s in segments),
    }
    envelope = {"manifest": manifest, "signature": keys.sign(local.key, _signed_bytes(manifest))}
    name = _manifest_name(local.name, number)
    data = json.dumps(envelope, ensure_ascii=False, indent=1).encode()
    dest.put(name, data)
    from nirantar.ledger.writer import NotEnrolled, writing

    try:
        with writing() as w:
            w.emit(
                BACKUP_WRITTEN,
                f"backup:{local.name}",
                {
                    "destination": dest.label,
                    "number": number,
                    "manifest": hashlib.sha256(data).hexdigest(),
                    "events": manifest["events"],
                },
                actor="backup",
            )
    except NotEnrolled:
        pass  # a node not (yet) enrolled writes no events: its backup goes unrecorded
    return Made(
        name, number, new_segments, new_events, manifest["events"], time.perf_counter() - started
    )


def _only_its_own_record(
    store: Any, name: str, covered: dict[str, int], target: dict[str, int]
) -> bool:
    """Nothing happened since the last backup but its own record in the log: no backup."""
    changed = {o for o, seq in target.items() if seq > covered.get(o, 0)}
    if not changed:
        return True
    if changed != {name} or target[name] - covered.get(name, 0) != 1:
        return False
    only = store.get(name, target[name])
    return only is not None and only.type == BACKUP_WRITTEN


def last_recorded(dest: Destination, node: str) -> tuple[int, str] | None:
    """(number, manifest hash) of the newest backup ``node`` recorded writing to ``dest``,
    as this node's log knows it."""
    from nirantar.ledger.models import Event as EventRow

    rows = EventRow.objects.filter(
        type=BACKUP_WRITTEN, stream=f"backup:{node}", origin=node
    ).order_by("-seq")
    for row in rows.values_list("body", flat=True).iterator():
        body = json.loads(row)
        if body.get("destination") == dest.label:
            return int(body["number"]), str(body["manifest"])
    return None


# -- restoring ---------------------------------------------------------------------------


@dataclass
class Restored:
    manifest: str
    node: str
    events: int = 0
    duplicates: int = 0
    held: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    origins: int = 0
    seconds: float = 0.0
    # Of ``seconds``: until every event was in (decrypt, verify, ingest, project), and
    # the work deferred to the end (the name index, the duplicate worklist).
    ingest_seconds: float = 0.0
    deferred_seconds: float = 0.0
    hospital: str = ""  # as its genesis names it
    problems: list[str] = field(default_factory=list)


def newest_chain(
    dest: Destination, node: str | None = None
) -> list[tuple[str, dict[str, Any], str]]:
    """The newest manifest (of ``node``, or of the node with the newest) and every manifest
    before it, each linked to the one before by hash - or BackupError naming the break."""
    names = dest.names("manifests/")
    if node:
        names = [n for n in names if n.startswith(f"manifests/{node}/")]
    if not names:
        raise BackupError(f"no backup manifests in {dest}")
    nodes = sorted({n.split("/")[1] for n in names})
    if len(nodes) > 1:
        raise BackupError(
            f"{dest} holds the backups of {', '.join(nodes)}: say whose to restore (--of NODE)"
        )
    chain: list[tuple[str, dict[str, Any], str]] = []
    following: dict[str, Any] | None = None
    for name in sorted(names, reverse=True):
        manifest, signature, raw = read_manifest(dest, name)
        if following is not None:
            if following["prev"] != hashlib.sha256(raw).hexdigest():
                raise BackupError(
                    f"{chain[-1][0]} does not follow {name} (its hash of the manifest before "
                    "differs): a manifest was altered or put there from another backup"
                )
            if manifest["hospital"] != following["hospital"] or manifest.get(
                "node_key"
            ) != following.get("node_key"):
                raise BackupError(f"{name} belongs to another hospital or node than its successor")
            # A later manifest only adds: every segment before, every event before. One
            # that lists less - even signed by the node - would drop what was backed up.
            earlier = manifest["segments"]
            if following["segments"][: len(earlier)] != earlier or any(
                following["vector"].get(origin, 0) < seq
                for origin, seq in manifest["vector"].items()
            ):
                raise BackupError(
                    f"{chain[-1][0]} does not include all that {name} backed up: refused"
                )
        if not keys.verify(str(manifest.get("node_key")), signature, _signed_bytes(manifest)):
            raise BackupError(f"{name}: its signature does not verify (altered)")
        chain.append((name, manifest, signature))
        following = manifest
    numbers = [m["number"] for _, m, _ in chain]
    if numbers != list(range(numbers[0], 0, -1)):
        raise BackupError(f"manifests are missing: found numbers {sorted(numbers)}")
    return chain


Checked = list[tuple[str, int, int] | None]  # per line: content hash, body start, end


def _open_segment(
    name: str,
    sealed: bytes,
    private_raw: bytes,
    expected: int,
    beside: list[tuple[str, Callable[[dict[str, Any]], Any]]] | None = None,
) -> tuple[bytes, Any]:
    """Check, decrypt and decompress one segment, and check each event line's form and
    hash (``check_line``); and run the projections' ``beside`` work (see
    ``projection.beside_bulk``) on well-formed lines. Runs in a process of its own: it
    needs no Django. Returns the lines, and what was found of them, as ``_handed_back``
    sends them."""
    if hashlib.sha256(sealed).hexdigest() + ".seg" != name.removeprefix("segments/"):
        raise BackupError(f"{name}: its content does not match its name (altered)")
    private = X25519PrivateKey.from_private_bytes(private_raw)
    try:
        lines = zlib.decompress(SUITE.decrypt(sealed, private, info=INFO))
    except Exception as exc:  # noqa: BLE001 - InvalidTag, zlib.error: either way unreadable
        raise BackupError(
            f"{name} can't be decrypted with this key ({exc.__class__.__name__})"
        ) from exc
    checked: Checked = []
    results: dict[int, list[tuple[str, Any]]] = {}
    works: dict[str, list[tuple[int, Callable[[dict[str, Any]], Any]]]] = {}
    for index, (event_type, work) in enumerate(beside or ()):
        works.setdefault(event_type, []).append((index, work))
    for line in lines.split(b"\n"):
        if line:
            found = check_line(line)
            checked.append(None if found is None else found[1:])
            if found is None or not (todo := works.get(found[0]["type"])):
                continue
            for index, work in todo:
                try:
                    result = work(found[0])
                except Exception:  # noqa: BLE001 - a hint only: the ingest judges the event
                    result = None
                if result is not None:
                    results.setdefault(index, []).append((found[1], result))
    if len(checked) != expected:
        raise BackupError(f"{name} holds {len(checked)} events, its manifest says {expected}")
    return _handed_back(lines, _packed((checked, results)))


def _handed_back(lines: bytes, packed: Any) -> Any:
    """An opened segment as it goes back to the restoring process: its lines and what was
    found of them (``_packed``'s bytes) in a block of shared memory, which that process
    reads and frees (``_taken_back``); only the block's name goes through the pipe.

    Sent through the pipe, the tens of megabytes were copied four times (pickled, sent,
    received, unpickled), 1.1 s of this process and 1.8 s of the restoring process's at
    1M events. What ``marshal`` could not pack goes through the pipe as before."""
    if not isinstance(packed, bytes):
        return lines, packed
    block = shared_memory.SharedMemory(create=True, size=len(lines) + len(packed) + 1)
    try:
        block.buf[: len(lines)] = lines
        block.buf[len(lines) : len(lines) + len(packed)] = packed
    except BaseException:
        block.close()
        block.unlink()
        raise
    block.close()
    return _SHARED, block.name, len(lines), len(packed)


_SHARED = "shared"


def _taken_back(result: Any) -> tuple[bytes, Any]:
    """The lines and what was found of them, of a segment ``_handed_back`` sent; its
    block of shared memory freed."""
    if result[0] != _SHARED:
        lines, packed = result
        return lines, _unpacked(packed)
    _, name, size, packed_size = result
    block = shared_memory.SharedMemory(name=name)
    try:
        lines = bytes(block.buf[:size])
        with block.buf[size : size + packed_size] as packed:
            found = marshal.loads(packed)  # noqa: S302 - made by our own process
    finally:
        block.close()
        block.unlink()
    return lines, found


def _let_go(result: Any) -> None:
    """Free the block of a segment sent back but never taken (a restore stopped)."""
    if result[0] == _SHARED:
        block = shared_memory.SharedMemory(name=result[1])
        block.close()
        block.unlink()


def _packed(found: tuple[Checked, dict[int, list[tuple[str, Any]]]]) -> Any:
    """What ``_open_segment`` found, as it is sent back to the restoring process: by
    ``marshal`` where it can be (plain values: the rows made beside), which packs and
    unpacks them faster than pickle (a segment of 20,000 events: 0.059 s against 0.098 s,
    and 0.032 s against 0.040 s); as it is otherwise, for pickle to send."""
    try:
        return marshal.dumps(found, 4)
    except ValueError:  # a value marshal does not know (a date, an instance): pickle it
        return found


def _unpacked(packed: Any) -> Any:
    if isinstance(packed, bytes):
        return marshal.loads(packed)  # noqa: S302 - made by our own process, as pickle's are
    return packed


def _segment_events(name: str, lines: bytes, checked: Checked) -> list[Event]:
    """The events of an opened segment. Lines ``_open_segment`` passed are trusted and
    parsed once more, all but their bodies (each parsed only if something reads it:
    most are projected from rows made beside); any other goes the careful way, as sync
    reads a peer's events."""
    events: list[Event] = []
    for count, (line, found) in enumerate(zip(_lines(lines), checked, strict=True), start=1):
        try:
            if found is None:
                events.append(Event.from_line(line))
            else:
                content_hash, start, end = found
                data = orjson.loads(line[:start] + b"0" + line[end:])
                del data["body"]
                events.append(from_checked(Event, data, content_hash, line[start:end]))
        except ValueError as exc:
            raise BackupError(f"{name}: event {count} is not well formed ({exc})") from exc
    return events


def _lines(data: bytes) -> Iterator[bytes]:
    return (line for line in data.split(b"\n") if line)


def _read_ahead(
    dest: Destination,
    segments: list[dict[str, Any]],
    private: X25519PrivateKey,
    beside: list[tuple[str, Callable[[dict[str, Any]], Any]]] | None = None,
) -> Generator[tuple[list[Event], dict[int, list[tuple[str, Any]]]], None, None]:
    """Each segment's events, opened and checked by another process two segments ahead,
    with what the projections' ``beside`` work made of them there.

    Decrypting, and checking each line's form and hash, is a third of a restore's work;
    done in a second process it overlaps the ingest in this one (threads would not: the
    work is Python, and holds Python's lock). The process touches no database. A problem
    with a segment is raised here, in order, when its turn comes.
    """
    private_raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    context = multiprocessing.get_context("spawn")
    # The process lives for one restore, its caches of name keys growing (the blocking keys
    # worked out beside): without the cyclic collector, as the restoring process.
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=start_worker
    ) as pool:
        pending: collections.deque[tuple[str, concurrent.futures.Future[Any]]] = collections.deque()
        upcoming = iter(segments)
        try:
            while True:
                while len(pending) < 2 and (segment := next(upcoming, None)) is not None:
                    name = f"segments/{segment['name']}"
                    sealed = dest.get(name)
                    pending.append(
                        (
                            name,
                            pool.submit(
                                _open_segment,
                                name,
                                sealed,
                                private_raw,
                                segment["events"],
                                beside,
                            ),
                        )
                    )
                if not pending:
                    return
                name, future = pending.popleft()
                lines, (checked, results) = _taken_back(future.result())
                yield _segment_events(name, lines, checked), results
        finally:
            for _, future in pending:
                if not future.cancel() and future.exception() is None:
                    _let_go(future.result())


def _ahead_in_a_thread(items: Generator[T, None, None]) -> Iterator[T]:
    """``items``, each made in a thread of its own while the caller works on the one
    before (one ahead, no more: a restore's segment holds tens of megabytes).

    A restore's next segment is made ready (its events parsed from the lines the other
    process checked, what that process made of them unpickled) while the restoring
    thread waits for the database to store the segment before: SQLite's inserts and
    PostgreSQL's round trips let go of Python's lock, and this work takes it. An
    exception in ``items`` is raised here, in turn. Leaving early stops the thread,
    which closes ``items`` (the other process with it)."""
    made: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
    wanted = threading.Semaphore(1)  # released as the caller takes each one
    stop = threading.Event()

    def make() -> None:
        # The items handed on, kept until the caller is done with them: the last reference
        # to each goes here, and its objects are freed in this thread while the caller
        # stores the next (a restore of 1M events freed them in the restoring thread: 1.6 s
        # of its time there).
        handed: collections.deque[T] = collections.deque()
        try:
            while True:
                while not wanted.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                item = next(items, made)  # ``made``: none left
                if item is made:
                    made.put((False, None))
                    return
                # The one before the last handed on: the caller took the last a while ago
                # (and wanted this one), so it is done with that one.
                while len(handed) > 1:
                    handed.popleft()
                handed.append(item)
                made.put((True, item))
        except BaseException as exc:  # noqa: BLE001 - raised to the caller, in turn
            made.put((False, exc))
        finally:
            items.close()

    thread = threading.Thread(target=make, name="restore-ahead", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = made.get()
            if not ok:
                if item is None:
                    return
                raise item
            wanted.release()
            yield item
    finally:
        stop.set()
        thread.join()


def restore(
    dest: Destination,
    private: X25519PrivateKey,
    progress: Callable[[int, int], None] | None = None,
    node: str | None = None,
    authority: str | None = None,
    stage: Callable[[str], None] | None = None,
    after: str = "now",
) -> Restored:
    """Ingest the newest backup into this (fresh) node through the one ingest path.
    ``stage`` is told when the events are in and the work deferred to the end (the name
    index, the duplicate worklist) begins, which at a million events takes minutes.
    ``after``: whether the work the node does not need to serve (the duplicate
    worklist) is done "now", left to the node "later", or as the size says ("auto")."""
    from nirantar.ledger import projection
    from nirantar.ledger.bulk import unjournaled
    from nirantar.ledger.models import Held, Origin
    from nirantar.ledger.writer import node as local_node

    started = time.perf_counter()
    chain = newest_chain(dest, node)
    name, manifest, _ = chain[0]
    report = Restored(name, manifest["node"])
    for segment in manifest["segments"]:
        if not dest.exists(f"segments/{segment['name']}"):
            raise BackupError(f"segments/{segment['name']} is missing from {dest}")
    store = local_node().store
    # Onto a fresh node, per-row indexing (the name search) is done once at the end.
    with unjournaled(), projection.bulk_loading(after):
        _restore_segments(dest, manifest, private, store, report, progress, authority)
        report.ingest_seconds = time.perf_counter() - started
        if stage is not None:
            stage("events in; indexing names and working out the duplicate worklist")
    report.deferred_seconds = time.perf_counter() - started - report.ingest_seconds
    report.held = Held.objects.using(store.db).count()
    genesis = store.get(AUTHORITY, 1)
    report.hospital = str(genesis.body.get("hospital", "")) if genesis else ""
    if genesis is None or genesis.hash != manifest["hospital"]:
        report.problems.append("the restored log's genesis is not the hospital the manifest names")
    signer = Origin.objects.using(store.db).filter(name=manifest["node"]).first()
    if signer is not None and signer.revoked_after_seq is not None:
        report.problems.append(f"{manifest['node']}, whose backup this is, was revoked")
    if signer is None or signer.public_key != manifest["node_key"]:
        report.problems.append(
            f"the manifest was signed with a key the hospital never enrolled for {manifest['node']}"
        )
    vector = store.vector()
    short = {o: s for o, s in manifest["vector"].items() if vector.get(o, 0) < s}
    if short:
        report.problems.append(f"events the manifest lists did not arrive: {short}")
    report.origins = len(vector)
    report.seconds = time.perf_counter() - started
    return report


def _restore_segments(
    dest: Destination,
    manifest: dict[str, Any],
    private: X25519PrivateKey,
    store: EventStore,
    report: Restored,
    progress: Callable[[int, int], None] | None,
    authority: str | None,
) -> None:
    from nirantar.ledger import projection
    from nirantar.ledger.sync import ingest_remote

    total = manifest["events"]
    beside = projection.beside_work()
    for events, results in _ahead_in_a_thread(
        _read_ahead(dest, manifest["segments"], private, beside)
    ):
        # The authority's chain (genesis, enrolments) first and on its own: a batch is vouched
        # for by one signature per origin only once that origin's key is known.
        roster = [e for e in events if e.origin == AUTHORITY]
        genesis_event = next((e for e in roster if e.seq == 1), None)
        if (
            authority is not None
            and genesis_event is not None
            and (genesis_event.body.get("authority_key") != authority)
        ):
            raise BackupError(
                "this backup is of another hospital: its genesis names another authority key "
                "than the one given; nothing restored"
            )
        rest = [e for e in events if e.origin != AUTHORITY] if roster else events
        projection.take_beside(results)  # before the ingest: projections take hints
        for batch in (roster, rest) if roster else (rest,):
            result = ingest_remote(store, batch, source=f"backup:{manifest['node']}")
            report.events += len(result.accepted)
            report.duplicates += result.duplicates
            report.rejected.extend(result.rejected)
        if progress is not None:
            progress(report.events + report.duplicates, total)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
