"""The `nirantar` command. Every command finds its node through --data-dir or NIRANTAR_DATA_DIR."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from nirantar.accounts.permissions import ROLES

DEFAULT_DEMO_DIR = "demo-data"
# The roles as `user add --role` spells them (the module needs no Django set-up).
ROLE_NAMES = list(ROLES)


def _point_at_node(data_dir: Path | None) -> None:
    """The node's data directory and settings module for Django, from ``--data-dir`` or
    the environment."""
    if data_dir is not None:
        os.environ["NIRANTAR_DATA_DIR"] = str(data_dir)
    if not os.environ.get("NIRANTAR_DATA_DIR"):
        raise click.UsageError("say which node: --data-dir DIR or NIRANTAR_DATA_DIR")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")


def setup_django(data_dir: Path | None) -> None:
    """Configure Django for the node in ``data_dir`` (unless this process already is one)."""
    import django
    from django.apps import apps

    if apps.ready:
        return
    _point_at_node(data_dir)
    from nirantar.config import ConfigError

    try:
        django.setup()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def configure_settings(data_dir: Path | None) -> None:
    """Read the node's settings without setting Django's apps up (see `serve`)."""
    _point_at_node(data_dir)
    import logging.config

    from django.conf import settings

    from nirantar.config import ConfigError

    try:
        # Only the node's own logging: Django's defaults bring its error-mail handler and
        # with it django.http and the ORM, which this process does not use.
        logging.config.dictConfig(settings.LOGGING)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="NIRANTAR_DATA_DIR",
    help="The node's data directory (default: $NIRANTAR_DATA_DIR).",
)
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """Nirantar: a hospital information system that keeps working through any outage."""
    ctx.obj = {"data_dir": data_dir.resolve() if data_dir else None}


def _data_dir(ctx: click.Context) -> Path | None:
    return ctx.obj["data_dir"]  # type: ignore[no-any-return]


# -- init ------------------------------------------------------------------
@main.command()
@click.option("--node", "node_name", required=True, help="Short node name, e.g. opd-counter-3.")
@click.option("--number", type=click.IntRange(1, 999), help="Enrolment number, 1-999.")
@click.option("--hub", is_flag=True, help="This node is the hospital's hub (holds its genesis).")
@click.option(
    "--join", "join_url", metavar="HUB_URL", help="Ask the hub at HUB_URL to enrol this node."
)
@click.option("--url", "own_url", default="", help="Where other nodes can reach this one.")
@click.option("--hospital", default="Nirantar Demo Hospital", show_default=True)
@click.option("--hospital-hi", default="निरंतर प्रदर्शन अस्पताल", show_default=True)
@click.option(
    "--counter-letter",
    default="A",
    show_default=True,
    help="Prefix of this counter's OPD tokens; unique in the hospital.",
)
@click.option("--database", default="", help="Database URL (default: SQLite in the data dir).")
@click.option("--time-zone", default="Asia/Kolkata", show_default=True)
@click.option(
    "--catalogue",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Departments as JSON (default: the demo catalogue).",
)
@click.option(
    "--tls-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA certificate (PEM) that signed the hospital's node certificates; peers reached "
    "over https:// must present a certificate it signed.",
)
@click.pass_context
def init(
    ctx: click.Context,
    node_name: str,
    number: int | None,
    hub: bool,
    join_url: str | None,
    own_url: str,
    hospital: str,
    hospital_hi: str,
    counter_letter: str,
    database: str,
    time_zone: str,
    catalogue: Path | None,
    tls_ca: Path | None,
) -> None:
    """Create a node: with --number, one that founds a new hospital; with --join HUB_URL,
    one that asks an existing hospital's hub to enrol it."""
    from nirantar import config
    from nirantar.ledger import keys

    data_dir = _data_dir(ctx)
    if data_dir is None:
        raise click.UsageError("say where: --data-dir DIR or NIRANTAR_DATA_DIR")
    if join_url and (number is not None or hub):
        raise click.UsageError("a joining node gets its number from the hub's administrator")
    if not join_url and number is None:
        raise click.UsageError("give --number N to found a hospital, or --join HUB_URL")
    if (data_dir / "node.json").exists():
        fail(f"{data_dir} already holds a node; choose an empty directory")
    node_config = config.NodeConfig(
        node=node_name,
        hospital=hospital,
        hospital_hi=hospital_hi,
        counter_letter=counter_letter.upper(),
        time_zone=time_zone,
        database=database,
    )
    try:
        node_config.validate()
    except config.ConfigError as exc:
        raise click.BadParameter(str(exc)) from exc
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(time_zone)
    except Exception as exc:  # noqa: BLE001 - any failure means an unusable zone
        raise click.BadParameter(f"unknown time zone {time_zone!r}") from exc
    departments = None
    if catalogue is not None:
        departments = json.loads(catalogue.read_text(encoding="utf-8"))
    if tls_ca is not None:
        _check_ca(tls_ca)  # before anything is written: a bad CA leaves nothing behind

    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if any(data_dir.iterdir()):
        fail(f"{data_dir} is not empty; choose an empty directory")
    # The database holds password hashes and second-factor secrets: only the node's
    # own user may look inside (mkdir's mode does not apply to an existing directory).
    data_dir.chmod(0o700)
    config.save(data_dir, node_config)
    if tls_ca is not None:
        (data_dir / "tls-ca.pem").write_bytes(tls_ca.read_bytes())
    config.create_secret_key(data_dir)
    keys.save_private(data_dir / "node.key", keys.generate())
    if not join_url:
        keys.save_private(data_dir / "authority.key", keys.generate())

    setup_django(data_dir)
    _refuse_a_used_database(data_dir, "Nothing created.")
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from nirantar import operations

    if join_url:
        try:
            code = operations.request_join(data_dir, join_url, own_url)
        except operations.JoinFailed as exc:
            _forget_new_node(data_dir, database)
            fail(f"{exc}\nNothing was kept: run the command again once the hub can be reached.")
        click.echo(f"Created node {node_name} in {data_dir}; it asked {join_url} to enrol it.")
        click.echo("An administrator approves it on the hub (the Enrolment screen, or")
        click.echo("`nirantar enrol approve CODE --number N`) after checking this code.")
        click.echo("Until then the node will not issue numbers. The code:")
        click.echo(code)
        return
    assert number is not None
    operations.found(hospital=hospital, number=number, departments=departments)
    kind = "hub" if hub else "node"
    click.echo(f"Created {kind} {node_name} (number {number}) of {hospital} in {data_dir}")
    click.echo("The hospital's authority key is in authority.key: keep a copy offline.")
    click.echo("Next: nirantar user add NAME --role admin, then nirantar serve")


def _forget_new_node(data_dir: Path, database: str) -> None:
    """Undo a join that never reached the hub: the directory was empty, and its keys
    were never shown to anyone. (A PostgreSQL database keeps its empty tables.)"""
    import shutil

    from django.db import connections

    connections.close_all()
    for entry in data_dir.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    if database:
        click.echo(f"note: the tables made in {database} stay, empty of events", err=True)


def _check_ca(path: Path) -> None:
    import ssl

    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError) as exc:
        raise click.BadParameter(f"{path} is not a PEM certificate: {exc}") from exc


# -- serve -----------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--sync-interval",
    default=2.0,
    show_default=True,
    help="Seconds between sync rounds with each peer.",
)
@click.option(
    "--certfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve HTTPS with this certificate (PEM, with any intermediates).",
)
@click.option(
    "--keyfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The certificate's private key (PEM).",
)
@click.option(
    "--backup-to",
    default=None,
    help="Back up beside serving, to this directory or s3://BUCKET/PREFIX (with --backup-key).",
)
@click.option(
    "--backup-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The backup public key, PREFIX.pub.",
)
@click.option(
    "--backup-every",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Minutes between backups.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    workers: int,
    threads: int,
    sync_interval: float,
    certfile: Path | None,
    keyfile: Path | None,
    backup_to: str | None,
    backup_key: Path | None,
    backup_every: float,
) -> None:
    """Serve the screens and APIs with gunicorn, and sync with peers beside them."""
    if (certfile is None) != (keyfile is None):
        raise click.UsageError("give both --certfile and --keyfile, or neither")
    if (backup_to is None) != (backup_key is None):
        raise click.UsageError("give both --backup-to and --backup-key, or neither")
    if certfile is not None and keyfile is not None:
        _check_tls_pair(certfile, keyfile)
        # Before Django reads its settings: secure cookies and HSTS.
        os.environ["NIRANTAR_HTTPS"] = "yes"
    # Settings only, not django.setup(): gunicorn's master then holds no app (~50 MB
    # less, and nothing for its workers to inherit); server.run migrates in a child.
    configure_settings(_data_dir(ctx))
    from nirantar import server

    server.run(
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        sync_interval=sync_interval,
        tls=(str(certfile), str(keyfile)) if certfile and keyfile else None,
        backup=(backup_to, str(backup_key), backup_every) if backup_to and backup_key else None,
    )


def _check_tls_pair(certfile: Path, keyfile: Path) -> None:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(certfile), str(keyfile))
    except (ssl.SSLError, OSError) as exc:
        raise click.BadParameter(
            f"{certfile} and {keyfile} are not a certificate and its key: {exc}"
        ) from exc


# -- users -----------------------------------------------------------------
@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLE_NAMES),
)
@click.option("--full-name", default="", help="Name shown on screens and printouts.")
@click.option(
    "--password-file", type=click.File("r"), help="Read the password from a file ('-' for stdin)."
)
@click.pass_context
def user_add(
    ctx: click.Context, username: str, role: str, full_name: str, password_file: Any
) -> None:
    """Add a user (the password is asked for unless --password-file is given)."""
    password = _read_password(password_file, "Password")
    _user_action(ctx, lambda: _accounts().do_add_user("cli", username, role, password, full_name))
    click.echo(f"Added {username} ({role}).")


def _user_action(ctx: click.Context, call: Any) -> Any:
    """Run an accounts action for the CLI; errors name their field and exit 2."""
    setup_django(_data_dir(ctx))
    from nirantar.errors import ActionError

    try:
        return call()
    except ActionError as exc:
        for field, message in exc.fields.items() or [("", exc.message)]:
            click.echo(f"error: {field + ': ' if field else ''}{message}", err=True)
        sys.exit(2)


def _known_user(username: str) -> None:
    """Exit 2 unless USERNAME is a user here: a typo must not look like "nothing to do"."""
    from nirantar.accounts.models import User

    if not User.objects.filter(username=username).exists():
        click.echo(f"error: username: no user {username}", err=True)
        sys.exit(2)


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the users as JSON.")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """List users, their roles and whether they may sign in."""
    setup_django(_data_dir(ctx))
    from nirantar.accounts import queries, signin

    locked = signin.locked_usernames()
    rows = [
        {
            "username": u.username,
            "full_name": u.full_name,
            "role": u.role,
            "active": u.is_active,
            "second_factor": bool(u.totp_secret),
            "locked_here": u.username in locked,
        }
        for u in queries.users()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        flags = (
            ("" if row["active"] else " DISABLED")
            + (" 2FA" if row["second_factor"] else "")
            + (" LOCKED" if row["locked_here"] else "")
        )
        click.echo(f"{row['username']:<20} {row['role']:<12} {row['full_name']}{flags}")


@user.command("disable")
@click.argument("username")
@click.pass_context
def user_disable(ctx: click.Context, username: str) -> None:
    """Refuse USERNAME at sign-in and for every API token, at every node the news reaches."""
    _user_action(ctx, lambda: _accounts().do_change_user("cli", username, active=False))
    click.echo(f"Disabled {username}.")


@user.command("enable")
@click.argument("username")
@click.pass_context
def user_enable(ctx: click.Context, username: str) -> None:
    """Let a disabled USERNAME sign in again."""
    _user_action(ctx, lambda: _accounts().do_change_user("cli", username, active=True))
    click.echo(f"Enabled {username}.")


@user.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLE_NAMES))
@click.pass_context
def user_role(ctx: click.Context, username: str, role: str) -> None:
    """Give USERNAME another role."""
    _user_action(ctx, lambda: _accounts().do_change_user("cli", username, role=role))
    click.echo(f"{username} is now {role}.")


@user.command("registration-no")
@click.argument("username")
@click.argument("number")
@click.pass_context
def user_registration_no(ctx: click.Context, username: str, number: str) -> None:
    """Set a doctor's medical council registration number (printed on prescriptions)."""
    _user_action(ctx, lambda: _accounts().do_change_user("cli", username, registration_no=number))
    click.echo(f"Registration number of {username}: {number.strip() or '(none)'}.")


@user.command("password")
@click.argument("username")
@click.option(
    "--password-file", type=click.File("r"), help="Read the password from a file ('-' for stdin)."
)
@click.pass_context
def user_password(ctx: click.Context, username: str, password_file: Any) -> None:
    """Set a new password for USERNAME (its screen sessions end)."""
    password = _read_password(password_file, "New password")
    _user_action(ctx, lambda: _accounts().do_change_user("cli", username, password=password))
    click.echo(f"Password of {username} changed.")


@user.command("unlock")
@click.argument("username")
@click.pass_context
def user_unlock(ctx: click.Context, username: str) -> None:
    """Forget USERNAME's failed sign-ins at this node, lifting a lockout."""
    setup_django(_data_dir(ctx))
    from nirantar.accounts import signin

    _known_user(username)
    count = signin.unlock(username)
    click.echo(f"Unlocked {username} ({count} failed attempts forgotten).")


@user.command("totp")
@click.argument("username")
@click.option("--off", is_flag=True, help="Remove the second factor.")
@click.pass_context
def user_totp(ctx: click.Context, username: str, off: bool) -> None:
    """Require a six-digit authenticator code from USERNAME after the password.

    Prints the secret and an otpauth:// link for the authenticator app, once.
    """
    setup_django(_data_dir(ctx))
    from django.conf import settings

    from nirantar.accounts import signin

    secret = "" if off else _accounts().new_totp_secret()
    changed = _user_action(
        ctx, lambda: _accounts().do_change_user("cli", username, totp_secret=secret)
    )
    if off:
        click.echo(f"{username} signs in with a password alone.")
        return
    click.echo(f"Secret for {username}'s authenticator app: {secret}")
    click.echo(signin.provisioning_uri(changed, settings.NODE.hospital))


@user.command("tokens")
@click.argument("username")
@click.pass_context
def user_tokens(ctx: click.Context, username: str) -> None:
    """List USERNAME's API tokens (never the secrets)."""
    setup_django(_data_dir(ctx))
    from nirantar.accounts.models import ApiToken
    from nirantar.timeutil import from_ms, local

    _known_user(username)
    for row in ApiToken.objects.filter(username=username).order_by("issued_at_ms"):
        state = "revoked" if row.revoked else ""
        expires = (
            local(from_ms(row.expires_at_ms)).strftime("%Y-%m-%d") if row.expires_at_ms else ""
        )
        issued = local(from_ms(row.issued_at_ms)).strftime("%Y-%m-%d")
        click.echo(f"{row.token_id}  issued {issued}  expires {expires}  {state:<8} {row.label}")


@user.command("revoke-token")
@click.argument("token_id")
@click.pass_context
def user_revoke_token(ctx: click.Context, token_id: str) -> None:
    """Revoke an API token (by the id `user tokens` shows) at every node."""
    _user_action(ctx, lambda: _accounts().do_revoke_token("cli", token_id))
    click.echo(f"Revoked token {token_id}.")


def _read_password(password_file: Any, prompt: str) -> str:
    if password_file is not None:
        return str(password_file.readline().rstrip("\r\n"))
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))


def _accounts() -> Any:
    from nirantar.accounts import actions

    return actions


@main.command()
@click.argument("username")
@click.option("--label", default="", help="What the token is for.")
@click.option(
    "--days", default=90, show_default=True, type=click.IntRange(1, 3650), help="Valid for."
)
@click.pass_context
def token(ctx: click.Context, username: str, label: str, days: int) -> None:
    """Print a new API bearer token for USERNAME (shown only this once)."""
    setup_django(_data_dir(ctx))
    from nirantar.accounts import actions
    from nirantar.errors import ActionError

    try:
        click.echo(actions.do_issue_token("cli", username, label, days=days))
    except ActionError as exc:
        fail(exc.fields.get("username", exc.message), 2)


# -- the ledger --------------------------------------------------------------
@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def verify(ctx: click.Context, as_json: bool) -> None:
    """Re-check every event's hash, chain link and signature."""
    setup_django(_data_dir(ctx))
    from nirantar.ledger.verify import verify as run_verify

    def progress(n: int) -> None:
        if not as_json:
            click.echo(f"  {n:,} events checked", err=True)

    result = run_verify(progress=progress)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "events": result.events,
                    "origins": result.origins,
                    "problems": [p.__dict__ for p in result.problems],
                }
            )
        )
    elif result.ok:
        click.echo(
            f"OK: {result.events:,} events from {len(result.origins)} origins; "
            "every hash, chain link and signature verified."
        )
    else:
        for problem in result.problems:
            click.echo(f"FAILED: {problem}", err=True)
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option(
    "--check", is_flag=True, help="Rebuild, compare with the live tables, change nothing."
)
@click.pass_context
def rebuild(ctx: click.Context, check: bool) -> None:
    """Recompute every projection from the event log."""
    setup_django(_data_dir(ctx))
    from nirantar import operations as setup

    def progress(n: int) -> None:
        click.echo(f"  {n:,} events replayed", err=True)

    count, differences = setup.rebuild(check=check, progress=progress)
    if check:
        from nirantar.dedupe import backfill
        from nirantar.dedupe.models import DuplicatePair

        # The rebuild works the worklist out in full; the node may not have yet.
        left = backfill.pending()
        worklist = DuplicatePair._meta.label
        if left is not None and worklist in differences:
            differences.remove(worklist)
            click.echo(
                f"PENDING: {worklist}: the duplicate worklist a restore left to this node "
                f"({left['patients']:,} patients) is still being worked out "
                "(nirantar dedupe backfill); compare it once that is done."
            )
        if differences:
            for table in differences:
                click.echo(f"DIFFERENT: {table}", err=True)
            sys.exit(1)
        tables = "every other table" if left is not None else "every table"
        click.echo(f"OK: rebuilding from {count:,} events reproduces {tables}.")
    else:
        click.echo(f"Rebuilt every projection from {count:,} events.")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--digest", is_flag=True, help="Add a fingerprint of every table (slow on big nodes)."
)
@click.pass_context
def status(ctx: click.Context, as_json: bool, digest: bool) -> None:
    """This node's identity, version vector, peers and alarms."""
    setup_django(_data_dir(ctx))
    from nirantar import operations

    info = operations.status()
    if digest:
        info["digest"] = operations.digest()
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    click.echo(f"node {info['node']} (number {info['number']}) of {info['hospital']}")
    if info["genesis"]:
        click.echo(f"hospital genesis {info['genesis'][:16]} (note it down: restore checks it)")
    if info["joining"]:
        click.echo(
            f"waiting for the hub {info['joining']['hub']} to approve join code "
            f"{info['joining']['code']}"
        )
    for origin, seq in sorted(info["vector"].items()):
        click.echo(f"  {origin:<24} {seq:>10,}")
    for row in info["peers"]:
        error = f", error: {row['last_error']}" if row["last_error"] else ""
        click.echo(
            f"  peer {row['url']} ({row['name'] or '?'}): last contact "
            f"{row['last_contact'] or 'never'}, ahead {row['ahead']}, behind {row['behind']}{error}"
        )
    if info["worklist_pending"] is not None:
        click.echo(
            "duplicate worklist: the restore's pairs are still being worked out "
            f"(since {info['worklist_pending'].get('since')}; nirantar dedupe backfill)"
        )
    click.echo(f"held events: {info['held']}   alarms: {len(info['alarms'])}")
    for alarm in info["alarms"]:
        click.echo(f"  ALARM {alarm['kind']} {alarm['origin']}: {alarm['detail']}")
    for late in info["after_disable"]:
        click.echo(
            f"  {late['username']} was disabled by {late['disabled_by']} at "
            f"{late['disabled_on']} but did {len(late['events'])} things after, where the "
            "news had not arrived:"
        )
        for e in late["events"]:
            click.echo(f"    {e['origin']}#{e['seq']} {e['type']} {e['stream']}")
    if "digest" in info:
        click.echo(f"digest: {info['digest']}")


# -- demo ------------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65533),
    help="The hub's port; the two counters take the next two.",
)
@click.option("--no-serve", is_flag=True, help="Set the demo hospital up and exit.")
@click.pass_context
def demo(ctx: click.Context, host: str, port: int, no_serve: bool) -> None:
    """A demo hospital on SQLite: a hub and two counter nodes that sync with each other."""
    from nirantar.demo import DemoHospital

    root = _data_dir(ctx) or Path(DEFAULT_DEMO_DIR).resolve()
    hospital = DemoHospital(root, host, port)
    hospital.run(serve=not no_serve)


@main.command("demo-seed", hidden=True)
@click.option("--users", is_flag=True)
@click.option("--patients", default=0)
@click.pass_context
def demo_seed(ctx: click.Context, users: bool, patients: int) -> None:
    """Add demo users and sample patients to this node (used by `nirantar demo`)."""
    setup_django(_data_dir(ctx))
    from django.conf import settings

    from nirantar import demo as demo_data

    if users:
        demo_data.ensure_users(Path(settings.DATA_DIR))
    if patients:
        seed = zlib.crc32(settings.NODE.node.encode())
        click.echo(f"added {demo_data.ensure_patients(patients, seed=seed)} patients")


# -- enrolment, peers, sync ---------------------------------------------------------
@main.group()
def enrol() -> None:
    """Admit nodes to this hospital (run on the hub, which holds the authority key)."""


@enrol.command("list")
@click.pass_context
def enrol_list(ctx: click.Context) -> None:
    """Join requests waiting for a decision."""
    setup_django(_data_dir(ctx))
    from nirantar.ledger import enrolment

    rows = enrolment.pending()
    if not rows:
        click.echo("No join requests are waiting.")
    for row in rows:
        click.echo(f"{row.code}  {row.node:<24} from {row.address or '?'}  {row.url}")


@enrol.command("approve")
@click.argument("code")
@click.option("--number", required=True, type=click.IntRange(1, 999))
@click.pass_context
def enrol_approve(ctx: click.Context, code: str, number: int) -> None:
    """Enrol the node that asked with CODE under NUMBER (never reused)."""
    setup_django(_data_dir(ctx))
    from nirantar.ledger import enrolment
    from nirantar.ledger.writer import NotEnrolled, node

    try:
        event = enrolment.approve(node(), code, number, actor="cli")
    except (enrolment.EnrolmentError, NotEnrolled) as exc:
        fail(str(exc), 2)
    click.echo(f"Enrolled {event.body['node']} as number {number}.")


@enrol.command("refuse")
@click.argument("code")
@click.pass_context
def enrol_refuse(ctx: click.Context, code: str) -> None:
    """Refuse the join request with CODE."""
    setup_django(_data_dir(ctx))
    from nirantar.ledger import enrolment

    try:
        enrolment.refuse(code)
    except enrolment.EnrolmentError as exc:
        fail(str(exc), 2)
    click.echo(f"Refused {code}.")


@enrol.command("revoke")
@click.argument("name")
@click.option("--reason", default="", help="Why, for the record.")
@click.pass_context
def enrol_revoke(ctx: click.Context, name: str, reason: str) -> None:
    """Revoke node NAME: every peer refuses its new events once the news arrives."""
    setup_django(_data_dir(ctx))
    from nirantar.ledger import enrolment
    from nirantar.ledger.writer import NotEnrolled, node

    try:
        event = enrolment.revoke(node(), name, actor="cli", reason=reason)
    except (enrolment.EnrolmentError, NotEnrolled) as exc:
        fail(str(exc), 2)
    click.echo(f"Revoked {name}: its events after #{event.body['after_seq']} are refused.")


def _enrol_self(number: int) -> None:
    """Enrol this node under ``number`` with the authority key in its data directory."""
    from nirantar.ledger import bootstrap
    from nirantar.ledger.ingest import Rejected
    from nirantar.ledger.writer import NotEnrolled, node

    local = node()
    if local.authority_key is None:
        fail("copy the hospital's authority key into this node's data directory as authority.key")
    if local.enrolled():
        fail(f"{local.name} is enrolled already (number {local.number()})")
    try:
        bootstrap.enrol(
            local, node=local.name, number=number, public_key=local.public_key, actor="cli"
        )
    except (ValueError, NotEnrolled, Rejected) as exc:
        fail(f"not enrolled: {exc}", 2)


@enrol.command("self")
@click.option("--number", required=True, type=click.IntRange(1, 999), help="A number never used.")
@click.pass_context
def enrol_self(ctx: click.Context, number: int) -> None:
    """Enrol this node under a new NUMBER with the hospital's authority key, copied into its
    data directory as authority.key (a hub restored from a backup, say)."""
    setup_django(_data_dir(ctx))
    from nirantar.ledger.writer import node

    _enrol_self(number)
    click.echo(f"Enrolled {node().name} as number {number}: it issues numbers from now on.")


@main.group()
def peer() -> None:
    """The nodes this node syncs with."""


@peer.command("add")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.pass_context
def peer_add(ctx: click.Context, urls: tuple[str, ...]) -> None:
    """Sync with the node(s) at URL (http://host:port)."""
    setup_django(_data_dir(ctx))
    from nirantar import operations

    for url in urls:
        try:
            operations.add_peer(url)
        except ValueError as exc:
            fail(str(exc), 2)
        click.echo(f"Added peer {url}.")


@peer.command("remove")
@click.argument("url")
@click.pass_context
def peer_remove(ctx: click.Context, url: str) -> None:
    """Stop syncing with the node at URL."""
    setup_django(_data_dir(ctx))
    from nirantar.ledger.models import Peer

    if not Peer.objects.filter(url=url.rstrip("/")).delete()[0]:
        fail(f"{url} is not a peer", 2)
    click.echo(f"Removed peer {url}.")


@peer.command("list")
@click.pass_context
def peer_list(ctx: click.Context) -> None:
    """Peers, with their last contact and what they lack or have."""
    setup_django(_data_dir(ctx))
    from nirantar import operations

    for row in operations.status()["peers"]:
        contact = row["last_contact"] or "never"
        click.echo(
            f"{row['url']:<32} {row['name'] or '?':<20} last contact {contact}  "
            f"ahead {row['ahead']} behind {row['behind']}  {row['last_error']}"
        )


@main.command("sync")
@click.option("--forever", is_flag=True, help="Keep syncing (what `serve` runs beside the web).")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between rounds.")
@click.pass_context
def sync_command(ctx: click.Context, forever: bool, interval: float) -> None:
    """Exchange events with every peer now (or, with --forever, all the time)."""
    setup_django(_data_dir(ctx))
    import signal
    import threading

    from django.conf import settings

    from nirantar.ledger.syncer import Syncer
    from nirantar.ledger.writer import node

    syncer = Syncer(node(), Path(settings.DATA_DIR), interval=interval)
    if forever:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        syncer.run_forever(stop)
        return
    result = syncer.run_once(force=True)
    if result.join_status:
        click.echo(f"enrolment: {result.join_status}")
    for done in result.exchanged:
        held = f", held {done.held}" if done.held else ""
        click.echo(f"{done.peer}: pulled {done.pulled}, pushed {done.pushed}{held}")
    for url, error in result.failed:
        click.echo(f"{url}: {error}", err=True)
    sys.exit(1 if result.failed else 0)


@main.group()
def quarantine() -> None:
    """Origins this node refuses events from (after equivocation)."""


@quarantine.command("lift")
@click.argument("name")
@click.pass_context
def quarantine_lift(ctx: click.Context, name: str) -> None:
    """Accept events from NAME again, after investigating (its conflicting events stay out)."""
    setup_django(_data_dir(ctx))
    from nirantar import operations

    if not operations.lift_quarantine(name, actor="cli"):
        fail(f"{name} is not quarantined", 2)
    click.echo(f"Lifted the quarantine of {name}.")


# -- the laboratory ------------------------------------------------------------------
@main.group()
def lab() -> None:
    """The laboratory: the analyser listener and report checks."""


@lab.command("listen")
@click.option("--port", type=int, default=2575, show_default=True, help="MLLP port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.pass_context
def lab_listen(ctx: click.Context, port: int, host: str) -> None:
    """Receive analyser results over HL7 v2 MLLP (ORU^R01); answer each with an ACK."""
    setup_django(_data_dir(ctx))
    import asyncio

    from nirantar.lab import hl7in

    def ready(server: Any) -> None:
        click.echo(f"Listening for HL7 (MLLP) on {host}:{port}", err=True)

    import contextlib

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(hl7in.serve(host, port, ready=ready))


@lab.command("check-report")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def lab_check_report(ctx: click.Context, path: Path) -> None:
    """Say whether a laboratory report PDF is genuine and unaltered (exit 1 if not)."""
    setup_django(_data_dir(ctx))
    from nirantar.lab import report

    result = report.check_pdf(path.read_bytes())
    click.echo(("GENUINE: " if result.genuine else "NOT GENUINE: ") + result.message)
    sys.exit(0 if result.genuine else 1)


@main.group()
def wards() -> None:
    """Wards and beds: the layout every node shows on its bed board."""


@wards.command("layout")
@click.argument(
    "path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--demo", is_flag=True, help="The demo hospital's nine wards (186 beds).")
@click.option("--as", "actor", default="admin", show_default=True, help="Recorded as the author.")
@click.pass_context
def wards_layout(ctx: click.Context, path: Path | None, demo: bool, actor: str) -> None:
    """Define wards and their beds from a JSON file (a list of wards, as PUT
    /api/v1/wards/{code} takes them) or the demo's. A ward defined again is replaced."""
    setup_django(_data_dir(ctx))
    from nirantar.errors import ActionError
    from nirantar.wards import actions as ward_actions
    from nirantar.wards import catalogue as ward_catalogue

    if demo == (path is not None):
        raise click.UsageError("give a JSON file or --demo")
    layout = ward_catalogue.demo_wards() if demo else json.loads(path.read_text())  # type: ignore[union-attr]
    if not isinstance(layout, list):
        raise click.UsageError("the file must hold a JSON list of wards")
    beds = 0
    for number, ward in enumerate(layout, start=1):
        try:
            ward_actions.do_define_ward(actor, ward)
        except ActionError as exc:
            code = ward.get("code") if isinstance(ward, dict) else None
            detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
            raise click.ClickException(f"ward {number} ({code}): {exc.message} ({detail})") from exc
        beds += len(ward["beds"])
    click.echo(f"defined {len(layout)} wards, {beds} beds")


# -- backups ------------------------------------------------------------------------------
@main.group("backup-key")
def backup_key() -> None:
    """The key pair backups are encrypted to (made once, away from the nodes)."""


@backup_key.command("new")
@click.argument("prefix", type=click.Path(dir_okay=False, path_type=Path))
def backup_key_new(prefix: Path) -> None:
    """Write PREFIX.pub (for the nodes) and PREFIX.key (keep it offline: it reads backups)."""
    from nirantar import backup as backups

    try:
        private, public = backups.new_key_pair(prefix)
    except backups.BackupError as exc:
        fail(str(exc))
    click.echo(f"wrote {public} (give it to the nodes) and {private} (keep it offline)")
    click.echo(f"fingerprint {backups.fingerprint(backups.load_public(public))}")


@main.command("backup")
@click.option(
    "--to",
    "destination",
    required=True,
    help="A directory (an external disk, a NAS mount), or s3://BUCKET/PREFIX (Object Lock; "
    "endpoint in NIRANTAR_S3_ENDPOINT, credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).",
)
@click.option(
    "--retain-days",
    default=90,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="On object storage: how long each object is locked (COMPLIANCE) against deletion.",
)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The backup public key, PREFIX.pub.",
)
@click.option(
    "--every",
    "every",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Keep going: a backup every this many minutes (a failed one raises an alarm "
    "on the node's status and is tried again next time).",
)
@click.pass_context
def backup_command(
    ctx: click.Context, destination: str, key_path: Path, retain_days: int, every: float | None
) -> None:
    """Write this node's events not yet backed up there, encrypted, and a signed manifest."""
    setup_django(_data_dir(ctx))
    from nirantar import backup as backups

    try:
        public = backups.load_public(key_path)
        dest = backups.destination(destination, retain_days)
    except backups.BackupError as exc:
        fail(str(exc))
    while True:
        try:
            made = backups.make_backup(dest, public)
        except Exception as exc:  # noqa: BLE001 - reported, and the loop goes on
            if every is None:
                fail(str(exc))
            from nirantar.ledger.ingest import raise_alarm

            raise_alarm("backup_failed", f"backup to {dest} failed: {exc}")
            click.echo(f"backup to {dest} failed: {exc}", err=True)
        else:
            click.echo(
                f"{made.manifest}: {made.events:,} new events in {made.segments} segments "
                f"({made.total_events:,} in the backup) in {made.seconds:.1f} s"
            )
        if every is None:
            return
        time.sleep(every * 60)


def _restore_onto(
    data_dir: Path | None,
    source: str,
    key_path: Path,
    node_name: str,
    backed_up: str | None,
    genesis: str | None,
    authority: str | None = None,
    after: str = "auto",
    database: str = "",
) -> Any:
    """Make a fresh node in ``data_dir`` and restore the newest backup into it (the report),
    or fail saying why. ``after``: when the duplicate worklist is worked out (``--worklist``).
    ``database``: a PostgreSQL database to restore into (an empty one:
    ``_refuse_a_used_database``), kept in the new node's ``node.json``; empty for SQLite
    in the data directory."""
    from nirantar import backup as backups
    from nirantar import config
    from nirantar.ledger import keys

    if data_dir is None:
        raise click.UsageError("say where: --data-dir DIR or NIRANTAR_DATA_DIR")
    if data_dir.exists() and any(data_dir.iterdir()):
        fail(f"{data_dir} is not empty: restore onto a fresh node")
    node_config = config.NodeConfig(node=node_name, database=database)
    try:
        node_config.validate()
    except config.ConfigError as exc:
        raise click.BadParameter(str(exc)) from exc
    if genesis is not None and not re.fullmatch(r"[0-9a-f]{16,64}", genesis.strip().lower()):
        raise click.BadParameter("16 to 64 hex digits, as `nirantar status` shows it", "--genesis")
    try:
        private = backups.load_private(key_path)
        dest = backups.destination(source)
        name, manifest, _ = backups.newest_chain(dest, backed_up)[0]
    except backups.BackupError as exc:
        fail(str(exc))
    if genesis is not None and not manifest["hospital"].startswith(genesis.strip().lower()):
        fail(
            f"{name} is the backup of another hospital (genesis {manifest['hospital'][:16]}, "
            f"not {genesis.strip().lower()[:16]}): nothing restored"
        )
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    # Until the restore has finished, no node starts from this directory.
    unfinished = data_dir / config.UNFINISHED
    unfinished.write_text(
        f"A restore from {source} began here at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC. "
        "This file is removed when it finishes.\n"
    )
    config.restoring_here()
    config.save(data_dir, node_config)
    config.create_secret_key(data_dir)
    keys.save_private(data_dir / "node.key", keys.generate())
    if database:  # what node.json now says, whatever the environment said before
        os.environ["NIRANTAR_DATABASE_URL"] = database
    setup_django(data_dir)
    _refuse_a_used_database(data_dir)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    click.echo(
        f"restoring {name} ({manifest['events']:,} events of {manifest['node']}, "
        f"made {manifest['made_at']})",
        err=True,
    )
    with click.progressbar(length=manifest["events"], label="events", file=sys.stderr) as bar:
        done = [0]

        def step(count: int, total: int) -> None:
            bar.update(count - done[0])
            done[0] = count

        def stage(what: str) -> None:
            bar.render_finish()
            click.echo(f"{what} ...", err=True)

        try:
            report = backups.restore(
                dest,
                private,
                progress=step,
                node=manifest["node"],
                authority=authority,
                stage=stage,
                after=after,
            )
        except backups.BackupError as exc:
            fail(
                f"{exc}\nThe restore did not finish: {data_dir} is marked unfinished and no node "
                "starts from it. Delete it and restore again (from another copy, if this one "
                "is damaged)."
            )
    unfinished.unlink()
    return report


def _refuse_a_used_database(data_dir: Path, undone: str = "Nothing restored.") -> None:
    """A new node (made by init, or by a restore, which projects in bulk) starts from an
    empty database: refuse one that can't be opened, holds a node's events (another
    node's, or a damaged copy) or tables not Nirantar's, before anything is written to
    it, and leave the data directory empty again. Nirantar's tables without an event
    (a join that never reached the hub leaves them) are taken as they are."""
    from django.db import DatabaseError, connection

    try:
        tables = set(connection.introspection.table_names())
        held = 0
        if "ledger_event" in tables:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM ledger_event")
                held = int(cursor.fetchone()[0])
    except DatabaseError as exc:
        _forget_new_node(data_dir, "")
        fail(f"the database can't be opened ({exc}). {undone}")
    if held or (tables and "ledger_event" not in tables):
        _forget_new_node(data_dir, "")
        what = (
            f"a node's {held:,} events"
            if held
            else f"{len(tables)} tables not Nirantar's ({', '.join(sorted(tables)[:3])})"
        )
        fail(
            f"the database already holds {what}: a new node starts from an empty database. "
            f"Create a new one, or drop this one if it is a damaged copy. {undone}"
        )


def report_genesis(report: Any) -> str:
    """The restored hospital's genesis hash, short: the hospital's identity, which no other
    hospital shares."""
    from nirantar.ledger.events import AUTHORITY
    from nirantar.ledger.writer import node

    genesis = node().store.get(AUTHORITY, 1)
    return genesis.hash[:16] if genesis else "none"


def _print_restored(report: Any) -> None:
    from nirantar.dedupe import backfill

    left = backfill.pending()
    click.echo(
        f"restored {report.events:,} events of {report.origins} origins "
        f"in {report.seconds:.1f} s from {report.manifest} (events in after "
        f"{report.ingest_seconds:.1f} s; name index and "
        f"{'duplicate worklist' if left is None else 'blocking keys'} "
        f"{report.deferred_seconds:.1f} s)"
    )
    click.echo(f"hospital: {report.hospital} (genesis {report_genesis(report)})")
    if left is not None:
        click.echo(
            f"duplicate worklist: the pairs among {left['patients']:,} restored patients are "
            "left to the node - `nirantar serve` works them out beside its service, or "
            "`nirantar dedupe backfill` now; nothing else waits for them"
        )
    click.echo(
        f"duplicates {report.duplicates}, held {report.held}, refused {len(report.rejected)}"
    )
    for ref, reason in report.rejected[:50]:
        click.echo(f"  refused {ref}: {reason}")
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}")
    if report.rejected or report.problems or report.held:
        sys.exit(1)


def _restore_options(command: Any) -> Any:
    """The options of `restore` and `rebuild-hub`: which backup, its key, the new node."""
    for option in reversed(
        [
            click.option(
                "--from",
                "source",
                required=True,
                help="The backup: a directory, or s3://BUCKET/PREFIX.",
            ),
            click.option(
                "--key",
                "key_path",
                required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="The backup private key, PREFIX.key.",
            ),
            click.option(
                "--node",
                "node_name",
                required=True,
                help="This new node's name (a restored node is a new node: it is "
                "enrolled under a new number before it writes).",
            ),
            click.option(
                "--of", "backed_up", default=None, help="Whose backup, if several nodes' are there."
            ),
            click.option(
                "--genesis",
                default=None,
                help="The hospital's genesis (16+ hex digits, as `nirantar status` shows it): "
                "a backup of any other hospital is refused before anything is restored.",
            ),
            click.option(
                "--database",
                default="",
                envvar="NIRANTAR_DATABASE_URL",
                help="PostgreSQL to restore into, postgresql://user:pass@host:5432/name, an "
                "empty database (default: NIRANTAR_DATABASE_URL, else SQLite in the data "
                "directory). The new node's node.json keeps it.",
            ),
            click.option(
                "--worklist",
                type=click.Choice(["now", "later", "auto"]),
                default="auto",
                show_default=True,
                help="When to work out the duplicate worklist among the restored patients: "
                "now, before the restore ends; later, by the node once it serves (or "
                "`nirantar dedupe backfill` at once); auto: later from 100,000 patients. "
                "Nothing else waits for it.",
            ),
        ]
    ):
        command = option(command)
    return command


@main.command("restore")
@_restore_options
@click.pass_context
def restore_command(
    ctx: click.Context,
    source: str,
    key_path: Path,
    node_name: str,
    backed_up: str | None,
    genesis: str | None,
    database: str,
    worklist: str,
) -> None:
    """Restore the newest backup onto a fresh node (an empty data directory): check every
    manifest and segment, decrypt, ingest every event through the ingest path, rebuild."""
    report = _restore_onto(
        _data_dir(ctx),
        source,
        key_path,
        node_name,
        backed_up,
        genesis,
        after=worklist,
        database=database,
    )
    _print_restored(report)
    click.echo(
        f"{node_name} is not enrolled: it serves what was restored read-only until it is "
        "enrolled under a new number (nirantar enrol self, with the authority key)"
    )


@main.command("rebuild-hub")
@_restore_options
@click.option(
    "--number", required=True, type=click.IntRange(1, 999), help="A node number never used."
)
@click.option(
    "--authority-key",
    "authority_key",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The hospital's authority key (the offline copy).",
)
@click.option(
    "--peer", "peers", multiple=True, help="An edge node's URL (repeat): it syncs with the new hub."
)
@click.pass_context
def rebuild_hub(
    ctx: click.Context,
    source: str,
    key_path: Path,
    node_name: str,
    backed_up: str | None,
    genesis: str | None,
    database: str,
    worklist: str,
    number: int,
    authority_key: Path,
    peers: tuple[str, ...],
) -> None:
    """A new hub from the newest backup and every node that kept working: restore, enrol
    under a new number with the authority key, and take the edges as peers. Serve it at the
    old hub's address: each edge then gives it everything written since the backup."""
    import shutil

    from nirantar.ledger import keys

    data_dir = _data_dir(ctx)
    try:
        authority = keys.public_text(keys.load_private(authority_key))
    except (ValueError, OSError) as exc:
        raise click.BadParameter(f"{authority_key} is not an authority key: {exc}") from exc
    report = _restore_onto(
        data_dir,
        source,
        key_path,
        node_name,
        backed_up,
        genesis,
        authority,
        after=worklist,
        database=database,
    )
    _print_restored(report)
    assert data_dir is not None
    shutil.copy(authority_key, data_dir / "authority.key")
    (data_dir / "authority.key").chmod(0o600)
    from nirantar import operations
    from nirantar.ledger.writer import reset_node

    reset_node()  # loaded before the authority key was there
    _enrol_self(number)
    click.echo(f"Enrolled {node_name} as number {number}.")
    for url in peers:
        try:
            operations.add_peer(url)
        except ValueError as exc:
            fail(str(exc), 2)
        click.echo(f"Added peer {url}.")
    click.echo(
        "Next: nirantar serve at the old hub's address (the edges' peer entries find it); "
        "each edge gives it everything since the backup on its next sync round."
    )


@main.group()
def dedupe() -> None:
    """Duplicate patients: the worklist medical records staff review."""


@dedupe.command("backfill")
@click.option("--quiet", is_flag=True, help="Say nothing unless something fails (for serve).")
@click.pass_context
def dedupe_backfill(ctx: click.Context, quiet: bool) -> None:
    """Work out the duplicate worklist a restore left for later (`restore --worklist`),
    while the node serves: registrations meanwhile score their own pairs as always."""
    setup_django(_data_dir(ctx))
    from nirantar.dedupe import backfill

    left = backfill.pending()
    if left is None:
        if not quiet:
            click.echo("Nothing to do: no restore left the duplicate worklist for later.")
        return
    shown: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if quiet or (done < total and now - shown.get(stage, 0.0) < 5):
            return
        shown[stage] = now
        if stage == "read":
            click.echo(f"  records read: {total:,} candidate pairs to judge", err=True)
            return
        click.echo(
            f"  candidate pairs judged, the likely ones listed: {done:,} of {total:,}", err=True
        )

    if not quiet:
        click.echo(f"working out the duplicate worklist of {left['patients']:,} patients ...")
    try:
        done = backfill.backfill(progress=progress, keep=_done["program"])
    except Exception as exc:  # noqa: BLE001 - raised as an alarm for IT, then reported
        from nirantar.ledger.ingest import raise_alarm

        raise_alarm("worklist_backfill_failed", f"{exc.__class__.__name__}: {exc}")
        fail(f"the duplicate worklist could not be worked out: {exc}")
    if not quiet:
        click.echo(
            f"duplicate worklist worked out in {done.seconds:.1f} s: {done.patients:,} "
            f"patients, {done.candidates:,} candidate pairs ({done.screened:,} scored in "
            f"full), {done.written:,} likely pairs "
            f"listed ({done.skipped:,} left to the registrations made meanwhile; "
            f"{done.rechecked:,} checked again against the records as they were then)"
        )
    _done["leave_at_once"] = True


@main.group()
def drill() -> None:
    """Rehearsals of the worst nights, on a demo cluster of real processes."""


@drill.command("ransomware")
@click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("drill-data"),
    show_default=True,
    help="Where the cluster lives (emptied).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=8100,
    show_default=True,
    type=click.IntRange(1, 65533),
    help="The hub's port; the two counters take the next two.",
)
@click.option(
    "--patients",
    default=5,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Patients registered at each step.",
)
def drill_ransomware(root: Path, host: str, port: int, patients: int) -> None:
    """Encrypt the hub's and a counter's databases, keep registering on the survivor, restore
    a new hub from the backup, and count: `lost: 0` is the only pass (exit 0)."""
    import shutil

    from nirantar import drill as drills

    if root.exists():
        shutil.rmtree(root)
    report = drills.ransomware(root.resolve(), host, port, patients)
    click.echo(drills.text(report))
    sys.exit(0 if report.lost == 0 and report.refused == 0 else 1)


# "leave_at_once": set by a command whose process holds a big working set to its end (the
# backfill: half a million records, and the matcher's caches), once its work is done and
# said. "program": set by ``run``, so that such a command may keep that working set.
_done = {"leave_at_once": False, "program": False}


def run() -> None:
    """`nirantar` as a program (the installed command, ``python -m nirantar.cli``).

    A command that set ``leave_at_once`` and succeeded ends its process without taking
    its working set apart object by object at exit (a second of the backfill's 20 at
    500,000 patients), as the worker processes of bulk jobs do (``workers.start``): its
    output is flushed, its logs and database connections closed, then it leaves. Anything
    else - a failure, any other command - exits as usual. Not used when a command runs
    inside another program (the tests' CliRunner): that program goes on."""
    _done["program"] = True  # run as a program, not inside another (which goes on)
    try:
        main()
    except SystemExit as ended:
        if _done["leave_at_once"] and ended.code in (0, None):
            _leave()
        raise


def _leave() -> None:
    import logging

    from django.db import connections

    connections.close_all()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":  # pragma: no cover
    run()
