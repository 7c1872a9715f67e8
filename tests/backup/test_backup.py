"""Backups through the commands an IT team types: `nirantar backup-key new`, `nirantar
backup --to DIR --key PREFIX.pub`, and `nirantar restore --from DIR --key PREFIX.key`
onto a fresh data directory. Real node processes on SQLite; the backup is a directory.

Every way a backup can be spoiled that the issue names is tried: a changed byte (in a
segment, in a manifest), a missing segment, a manifest from another hospital, and a
destination rolled back to an older state."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
from pathlib import Path

import psycopg
import pytest

from tests.system.node import NodeProcess

pytestmark = pytest.mark.system


def patients(node: NodeProcess) -> list[str]:
    with sqlite3.connect(node.data_dir / "nirantar.sqlite3") as db:
        rows = db.execute("SELECT uhid FROM registration_patient ORDER BY uhid").fetchall()
    return [r[0] for r in rows]


def events(node: NodeProcess) -> int:
    with sqlite3.connect(node.data_dir / "nirantar.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM ledger_event").fetchone()[0])


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | NodeProcess]:
    """A hub with patients, backed up twice to a directory (two manifests, a chain)."""
    root = tmp_path_factory.mktemp("backup")
    hub = NodeProcess(root / "hub", "hub", 1)
    hub.init()
    hub.run("demo-seed", "--patients", "6")
    out = hub.run("backup-key", "new", str(root / "hospital")).stdout
    assert "fingerprint" in out
    assert oct((root / "hospital.key").stat().st_mode & 0o777) == "0o600"
    first = hub.run("backup", "--to", str(root / "dest"), "--key", str(root / "hospital.pub"))
    assert "manifests/hub/00000001.json" in first.stdout
    hub.run("demo-seed", "--patients", "4")  # the seed adds to a node only once ...
    hub.run(
        "user",
        "add",
        "nurse",
        "--role",
        "nurse",
        "--password-file",
        "-",
        input="nurse-has-a-long-passphrase\n",
    )
    second = hub.run("backup", "--to", str(root / "dest"), "--key", str(root / "hospital.pub"))
    assert "manifests/hub/00000002.json" in second.stdout
    return {"root": root, "hub": hub, "dest": root / "dest"}


_changes = iter(range(1, 1000))


def change(node: NodeProcess) -> None:
    """Something new on the node (a user added), so that a backup has something to write."""
    name = f"staff{next(_changes)}"
    node.run(
        "user",
        "add",
        name,
        "--role",
        "nurse",
        "--password-file",
        "-",
        input=f"{name}-has-a-long-passphrase\n",
    )


def copy_of(backed_up: dict, name: str) -> Path:
    copy = Path(backed_up["root"]) / name
    shutil.copytree(backed_up["dest"], copy)
    return copy


def restore(backed_up: dict, source: Path, name: str, *more: str) -> tuple[NodeProcess, object]:
    node = NodeProcess(Path(backed_up["root"]) / name, name)
    result = node.run(
        "restore",
        "--from",
        str(source),
        "--key",
        str(Path(backed_up["root"]) / "hospital.key"),
        "--node",
        name,
        *more,
        check=False,
    )
    return node, result


def test_a_restore_onto_a_fresh_node_brings_back_every_event_and_record(backed_up):
    hub = backed_up["hub"]
    node, result = restore(backed_up, backed_up["dest"], "hub-2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "refused 0" in result.stdout and "held 0" in result.stdout
    # The work left to the end is announced, not done silently after a full bar.
    assert "indexing names and working out the duplicate worklist" in result.stderr
    # The restore wrote with its journal in memory; the file it
    # leaves has its write-ahead log back, before any other command opens it.
    with sqlite3.connect(node.data_dir / "nirantar.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Every event the hub held at its last backup, bar the record of that backup itself.
    assert events(node) == events(hub) - 1
    assert patients(node) == patients(hub) and len(patients(node)) == 6
    verified = node.run("verify")
    assert verified.stdout.startswith("OK:"), verified.stdout
    # A restore projects in bulk (the worklist worked out once at the end): the tables it
    # leaves are those of replaying the log event batch by event batch.
    rebuilt = node.run("rebuild", "--check")
    assert rebuilt.stdout.startswith("OK:"), rebuilt.stdout + rebuilt.stderr
    # The restored node is a new node: it serves, but mints nothing until enrolled.
    assert "not enrolled" in result.stdout
    refused = node.run("demo-seed", "--patients", "1", check=False)
    assert refused.returncode != 0 and "not enrolled" in refused.stderr
    # With the hospital's authority key (kept offline) it enrols itself under a new number.
    assert node.run("enrol", "self", "--number", "5", check=False).returncode != 0  # no key
    wrong = NodeProcess(Path(backed_up["root"]) / "elsewhere", "elsewhere", 1)
    wrong.init()
    shutil.copy(wrong.data_dir / "authority.key", node.data_dir / "authority.key")
    forged = node.run("enrol", "self", "--number", "5", check=False)
    assert forged.returncode != 0, forged.stdout  # another hospital's authority key
    shutil.copy(Path(hub.data_dir) / "authority.key", node.data_dir / "authority.key")
    enrolled = node.run("enrol", "self", "--number", "5")
    assert "number 5" in enrolled.stdout
    node.run("demo-seed", "--patients", "1")
    assert [u for u in patients(node) if u.startswith("005-")]


def test_a_restore_into_postgresql_is_kept_there_and_never_into_a_used_database(
    backed_up, pg_database
):
    """A hub runs on PostgreSQL: its replacement is restored into a new database, which
    the new node's node.json names, so every later command finds it. A database that
    already holds tables (another node's, the damaged copy) is refused untouched."""
    node, result = restore(backed_up, backed_up["dest"], "hub-pg", "--database", pg_database)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((node.data_dir / "node.json").read_text())["database"] == pg_database
    assert not (node.data_dir / "nirantar.sqlite3").exists()
    verified = node.run("verify")  # no environment to remember: node.json says where
    assert verified.stdout.startswith("OK:"), verified.stdout
    rebuilt = node.run("rebuild", "--check")
    assert rebuilt.stdout.startswith("OK:"), rebuilt.stdout + rebuilt.stderr
    with psycopg.connect(pg_database) as db:
        uhids = [r[0] for r in db.execute("SELECT uhid FROM registration_patient ORDER BY uhid")]
        count = db.execute("SELECT count(*) FROM ledger_event").fetchone()
    assert uhids == patients(backed_up["hub"]) and count == (events(backed_up["hub"]) - 1,)

    again, refused = restore(backed_up, backed_up["dest"], "hub-pg-2", "--database", pg_database)
    assert refused.returncode != 0
    assert "already holds" in refused.stderr and "Nothing restored" in refused.stderr
    assert not any(again.data_dir.iterdir()), "the refused restore left files behind"
    with psycopg.connect(pg_database) as db:
        assert db.execute("SELECT count(*) FROM ledger_event").fetchone() == count
    missing = pg_database.rsplit("/", 1)[0] + "/no_such_database"
    _, unreachable = restore(backed_up, backed_up["dest"], "hub-pg-3", "--database", missing)
    assert unreachable.returncode != 0 and "can't be opened" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_a_restore_can_leave_the_duplicate_worklist_to_the_serving_node(backed_up):
    """At hundreds of thousands of patients the worklist's pairs take minutes and the
    counters need none of them: `--worklist later` files the keys, and the node works the
    pairs out beside its service (``nirantar dedupe backfill``)."""
    node, result = restore(backed_up, backed_up["dest"], "later", "--worklist", "later")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "name index and blocking keys" in result.stdout
    assert "left to the node" in result.stdout
    marker = node.data_dir / "worklist-pending"
    assert json.loads(marker.read_text())["patients"] == len(patients(node))
    assert "still being worked out" in node.run("status").stdout
    node.start()
    try:
        deadline = time.monotonic() + 60
        while marker.exists() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not marker.exists(), (node.data_dir / "serve.log").read_text()
    finally:
        node.stop()
    assert "still being worked out" not in node.run("status").stdout
    assert "Nothing to do" in node.run("dedupe", "backfill").stdout
    rebuilt = node.run("rebuild", "--check")
    assert rebuilt.stdout.startswith("OK:"), rebuilt.stdout + rebuilt.stderr


def test_the_worklist_left_by_a_restore_is_worked_out_by_the_command_as_a_program(backed_up):
    """`nirantar dedupe backfill` run by the IT team: it says what it listed, exits 0 -
    ending at once, without taking its records apart (``cli.run``) - and the worklist
    it wrote is the one every projection rebuilt from the log gives."""
    node, result = restore(backed_up, backed_up["dest"], "by-hand", "--worklist", "later")
    assert result.returncode == 0, result.stdout + result.stderr
    filled = node.run("dedupe", "backfill")
    assert filled.returncode == 0, filled.stdout + filled.stderr
    assert "duplicate worklist worked out in" in filled.stdout
    assert not (node.data_dir / "worklist-pending").exists()
    rebuilt = node.run("rebuild", "--check")
    assert rebuilt.stdout.startswith("OK:"), rebuilt.stdout + rebuilt.stderr


def test_the_backup_can_not_be_read_without_its_private_key(backed_up):
    segment = next(Path(backed_up["dest"], "segments").iterdir())
    data = segment.read_bytes()
    assert b"registration" not in data and b"patient" not in data
    other = NodeProcess(Path(backed_up["root"]) / "x", "x")
    other.run("backup-key", "new", str(Path(backed_up["root"]) / "other"))
    result = other.run(
        "restore",
        "--from",
        str(backed_up["dest"]),
        "--key",
        str(Path(backed_up["root"]) / "other.key"),
        "--node",
        "x",
        check=False,
    )
    assert result.returncode != 0
    assert "can't be decrypted with this key" in result.stderr


def test_a_changed_byte_in_a_segment_is_found(backed_up):
    copy = copy_of(backed_up, "dest-byte")
    segment = sorted(Path(copy, "segments").iterdir())[0]
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x01
    segment.write_bytes(bytes(data))
    node, result = restore(backed_up, copy, "hub-byte")
    assert result.returncode != 0
    assert "does not match its name (altered)" in result.stderr
    # What was made before the problem is marked unfinished: no node starts from it.
    assert "did not finish" in result.stderr
    for command in (["status"], ["serve", "--port", "1"]):
        refused = node.run(*command, check=False)
        assert refused.returncode != 0
        assert "did not finish" in refused.stderr and "restore again" in refused.stderr


def test_a_changed_byte_in_a_manifest_is_found(backed_up):
    copy = copy_of(backed_up, "dest-manifest")
    path = Path(copy, "manifests/hub/00000002.json")
    envelope = json.loads(path.read_text())
    envelope["manifest"]["made_at"] = "2026-01-01T00:00:00+00:00"  # well-formed, altered
    path.write_text(json.dumps(envelope, indent=1))
    node, result = restore(backed_up, copy, "hub-manifest")
    assert result.returncode != 0
    assert "signature does not verify" in result.stderr


def test_a_missing_segment_is_found(backed_up):
    copy = copy_of(backed_up, "dest-missing")
    sorted(Path(copy, "segments").iterdir())[-1].unlink()
    node, result = restore(backed_up, copy, "hub-missing")
    assert result.returncode != 0
    assert "is missing from" in result.stderr


def test_a_manifest_from_another_hospital_is_found(backed_up, tmp_path):
    other = NodeProcess(tmp_path / "other-hub", "hub", 1)
    other.init("--hospital", "Another Hospital")
    other.run(
        "backup",
        "--to",
        str(tmp_path / "other-dest"),
        "--key",
        str(Path(backed_up["root"]) / "hospital.pub"),
    )
    copy = copy_of(backed_up, "dest-foreign")
    # The other hospital's hub is also called "hub": its manifest #1 slipped in as #3.
    shutil.copy(
        tmp_path / "other-dest/manifests/hub/00000001.json",
        Path(copy, "manifests/hub/00000003.json"),
    )
    for segment in Path(tmp_path, "other-dest/segments").iterdir():
        shutil.copy(segment, Path(copy, "segments", segment.name))
    node, result = restore(backed_up, copy, "hub-foreign")
    assert result.returncode != 0
    assert any(
        reason in result.stderr
        for reason in ("does not follow", "another hospital", "not a well-formed")
    ), result.stderr


def test_a_destination_rolled_back_to_an_older_state_is_found_at_the_next_backup(
    backed_up, tmp_path
):
    hub = backed_up["hub"]
    dest = tmp_path / "rolled"
    key = str(Path(backed_up["root"]) / "hospital.pub")
    hub.run("backup", "--to", str(dest), "--key", key)
    older = tmp_path / "older"
    shutil.copytree(dest, older)
    change(hub)
    hub.run("backup", "--to", str(dest), "--key", key)
    # The attacker puts back the older copy (the newest manifest gone).
    shutil.rmtree(dest)
    shutil.copytree(older, dest)
    result = hub.run("backup", "--to", str(dest), "--key", key, check=False)
    assert result.returncode != 0
    assert "rolled back" in result.stderr
    assert sorted(p.name for p in Path(dest, "manifests/hub").iterdir()) == ["00000001.json"]


def test_a_backup_never_rewrites_what_it_wrote(backed_up, tmp_path):
    hub = backed_up["hub"]
    dest = tmp_path / "append-only"
    key = str(Path(backed_up["root"]) / "hospital.pub")
    hub.run("backup", "--to", str(dest), "--key", key)
    before = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    again = hub.run("backup", "--to", str(dest), "--key", key)
    assert "0 new events" in again.stdout  # nothing new: nothing written
    assert {p for p in dest.rglob("*") if p.is_file()} == set(before)
    change(hub)
    hub.run("backup", "--to", str(dest), "--key", key)
    after = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert all(after[p] == data for p, data in before.items())
    assert len(after) > len(before)


# -- object storage with Object Lock ------------------------------------------------------
def test_a_backup_to_object_storage_is_locked_and_restores(backed_up, s3_server, tmp_path):
    from tests.backup.conftest import make_client

    client = make_client(s3_server["endpoint"])
    client.create_bucket(Bucket="nirantar-backups", ObjectLockEnabledForBucket=True)
    env = {
        "NIRANTAR_S3_ENDPOINT": s3_server["endpoint"],
        "AWS_ACCESS_KEY_ID": s3_server["access_key"],
        "AWS_SECRET_ACCESS_KEY": s3_server["secret_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    hub: NodeProcess = backed_up["hub"]
    hub.extra_env.update(env)
    key = str(Path(backed_up["root"]) / "hospital.pub")
    made = hub.run(
        "backup", "--to", "s3://nirantar-backups/aiims", "--key", key, "--retain-days", "30"
    )
    assert "manifests/hub/00000001.json" in made.stdout
    objects = client.list_objects_v2(Bucket="nirantar-backups", Prefix="aiims/")["Contents"]
    names = [o["Key"] for o in objects]
    assert "aiims/manifests/hub/00000001.json" in names
    segment = next(n for n in names if n.startswith("aiims/segments/"))
    # Locked: COMPLIANCE, about 30 days; no one may delete it or shorten the lock.
    retention = client.get_object_retention(Bucket="nirantar-backups", Key=segment)["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    version = client.head_object(Bucket="nirantar-backups", Key=segment)["VersionId"]
    with pytest.raises(client.exceptions.ClientError) as refused:
        client.delete_object(Bucket="nirantar-backups", Key=segment, VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # Incremental: a second backup adds a manifest and writes no segment twice.
    change(hub)
    hub.run("backup", "--to", "s3://nirantar-backups/aiims", "--key", key)
    objects = client.list_objects_v2(Bucket="nirantar-backups", Prefix="aiims/")["Contents"]
    assert "aiims/manifests/hub/00000002.json" in [o["Key"] for o in objects]

    node = NodeProcess(tmp_path / "from-s3", "from-s3", extra_env=env)
    result = node.run(
        "restore",
        "--from",
        "s3://nirantar-backups/aiims",
        "--key",
        str(Path(backed_up["root"]) / "hospital.key"),
        "--node",
        "from-s3",
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert patients(node) == patients(hub)


def test_a_serving_node_backs_itself_up_on_schedule(backed_up, tmp_path):
    import time

    node = NodeProcess(tmp_path / "ward", "ward", 9)
    node.init()
    dest = tmp_path / "scheduled"
    key = str(Path(backed_up["root"]) / "hospital.pub")
    node.start(extra=("--backup-to", str(dest), "--backup-key", key, "--backup-every", "0.05"))

    def manifests(count: int) -> list[Path]:
        deadline = time.monotonic() + 60
        made: list[Path] = []
        while time.monotonic() < deadline:
            made = sorted(Path(dest, "manifests/ward").glob("*.json")) if dest.exists() else []
            if len(made) >= count:
                break
            time.sleep(0.5)
        return made

    try:
        assert len(manifests(1)) == 1, (node.data_dir / "serve.log").read_text()[-2000:]
        time.sleep(4)  # a round (3 s) with nothing new writes nothing
        assert len(manifests(1)) == 1
        status, _ = node.json(
            "POST", "/api/v1/patients", {"name_en": "Ram Kumar", "sex": "M", "age_years": 40}
        )
        assert status == 201
        assert len(manifests(2)) == 2
        status, body = node.json("GET", "/api/v1/status")
        assert status == 200
        assert not [a for a in body.get("alarms", []) if a.get("kind") == "backup_failed"]
    finally:
        node.stop()


# -- found in review ----------------------------------------------------------------------
def test_a_manifest_signed_by_the_node_that_backs_up_less_than_before_is_refused(backed_up):
    """The node's key in an attacker's hands: a new manifest #3, validly signed, that lists
    only #1's segments (dropping what #2 added). Restore must not take it."""
    import hashlib

    from nirantar import backup as backups
    from nirantar.ledger import keys

    copy = copy_of(backed_up, "dest-shorter")
    first = json.loads(Path(copy, "manifests/hub/00000001.json").read_text())["manifest"]
    second_raw = Path(copy, "manifests/hub/00000002.json").read_bytes()
    forged = {**first, "number": 3, "prev": hashlib.sha256(second_raw).hexdigest()}
    node_key = keys.load_private(Path(backed_up["hub"].data_dir) / "node.key")
    signature = keys.sign(node_key, backups._signed_bytes(forged))
    Path(copy, "manifests/hub/00000003.json").write_text(
        json.dumps({"manifest": forged, "signature": signature})
    )
    node, result = restore(backed_up, copy, "hub-shorter")
    assert result.returncode != 0
    assert "does not include all that" in result.stderr
    assert not node.data_dir.exists()  # refused before anything was made


def test_backups_of_several_nodes_in_one_place_need_saying_whose(backed_up, tmp_path):
    copy = copy_of(backed_up, "dest-several")
    other = NodeProcess(tmp_path / "ward", "ward", 9)
    other.init()
    other.run("backup", "--to", str(copy), "--key", str(Path(backed_up["root"]) / "hospital.pub"))
    node, result = restore(backed_up, copy, "hub-several")
    assert result.returncode != 0 and "--of NODE" in result.stderr
    chosen = node.run(
        "restore",
        "--from",
        str(copy),
        "--key",
        str(Path(backed_up["root"]) / "hospital.key"),
        "--node",
        "hub-several",
        "--of",
        "hub",
        check=False,
    )
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr


@pytest.mark.parametrize(
    "change",
    [
        {"number": "2"},
        {"vector": ["hub"]},
        {"segments": [{"name": "../../../dev/zero", "events": 1}]},
        {"events": 1},
    ],
)
def test_a_malformed_manifest_is_refused_with_a_reason_not_a_crash(backed_up, change):
    copy = copy_of(backed_up, f"dest-malformed-{sorted(change)[0]}")
    path = Path(copy, "manifests/hub/00000002.json")
    envelope = json.loads(path.read_text())
    envelope["manifest"].update(change)
    path.write_text(json.dumps(envelope))
    node, result = restore(backed_up, copy, f"hub-malformed-{sorted(change)[0]}")
    assert result.returncode != 0
    assert "not a well-formed backup manifest" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_rebuild_hub_refuses_another_hospitals_backup_before_restoring_it(backed_up, tmp_path):
    other = NodeProcess(tmp_path / "other-hub", "hub", 1)
    other.init("--hospital", "Another Hospital")
    other.run(
        "backup",
        "--to",
        str(tmp_path / "theirs"),
        "--key",
        str(Path(backed_up["root"]) / "hospital.pub"),
    )
    node = NodeProcess(tmp_path / "hub-2", "hub-2")
    result = node.run(
        "rebuild-hub",
        "--from",
        str(tmp_path / "theirs"),
        "--key",
        str(Path(backed_up["root"]) / "hospital.key"),
        "--node",
        "hub-2",
        "--number",
        "11",
        "--authority-key",
        str(Path(backed_up["hub"].data_dir) / "authority.key"),
        check=False,
    )
    assert result.returncode != 0
    assert "another hospital" in result.stderr


def test_a_destination_swapped_for_another_copy_with_the_same_numbers_is_found(backed_up, tmp_path):
    hub = backed_up["hub"]
    key = str(Path(backed_up["root"]) / "hospital.pub")
    first, second = tmp_path / "first", tmp_path / "second"
    hub.run("backup", "--to", str(first), "--key", key)
    change(hub)
    hub.run("backup", "--to", str(second), "--key", key)
    # Each holds a manifest #1, validly signed by the hub; the attacker puts the second
    # where the first was. The numbers agree with the hub's log; the hash does not.
    shutil.rmtree(first)
    shutil.copytree(second, first)
    change(hub)
    result = hub.run("backup", "--to", str(first), "--key", key, check=False)
    assert result.returncode != 0
    assert "not the manifest this node wrote there" in result.stderr
    assert sorted(p.name for p in Path(first, "manifests/hub").iterdir()) == ["00000001.json"]


def test_restore_checks_the_hospital_it_is_told_before_restoring(backed_up):
    hub = backed_up["hub"]
    shown = re.search(r"hospital genesis ([0-9a-f]{16})", hub.run("status").stdout)
    assert shown, "status shows the hospital's genesis for the runbook to note down"
    other = NodeProcess(Path(backed_up["root"]) / "other-hospital", "other", 1)
    other.init()
    theirs = re.search(r"hospital genesis ([0-9a-f]{16})", other.run("status").stdout).group(1)
    node, result = restore(backed_up, backed_up["dest"], "hub-wrong", "--genesis", theirs)
    assert result.returncode != 0
    assert "backup of another hospital" in result.stderr and "nothing restored" in result.stderr
    assert not node.data_dir.exists()
    node, result = restore(backed_up, backed_up["dest"], "hub-right", "--genesis", shown.group(1))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"genesis {shown.group(1)}" in result.stdout
