"""Settings for the test suite: a throwaway data directory and, when available, PostgreSQL.

The default database is SQLite unless NIRANTAR_TEST_DB=postgres. The other
engine is configured as the ``other`` alias so that contract tests (the event
store, search) run on both in one session.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from nirantar import config
from nirantar.ledger import keys

_data_dir = Path(tempfile.mkdtemp(prefix="nirantar-test-"))
# Its keys and secret are the session's alone: gone with the process that made them.
atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)
os.environ["NIRANTAR_DATA_DIR"] = str(_data_dir)
config.save(_data_dir, config.NodeConfig(node="test-counter", counter_letter="A"))
config.create_secret_key(_data_dir)
keys.save_private(_data_dir / "node.key", keys.generate())
keys.save_private(_data_dir / "authority.key", keys.generate())

from nirantar.settings import *  # noqa: E402,F403
from nirantar.settings import database_from_url  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; argon2 is tested
_sqlite = database_from_url(f"sqlite:///{_data_dir / 'test.sqlite3'}", _data_dir)
_sqlite["TEST"] = {"NAME": str(_data_dir / "test-db.sqlite3")}

from tests import pgserver  # noqa: E402

_pg_dsn = pgserver.ensure_started()
_postgres = database_from_url(_pg_dsn, _data_dir) if _pg_dsn else None

if os.environ.get("NIRANTAR_TEST_DB") == "postgres":
    if _postgres is None:
        raise RuntimeError("NIRANTAR_TEST_DB=postgres but no PostgreSQL server was started")
    DATABASES = {"default": _postgres, "other": _sqlite}
else:
    DATABASES = {"default": _sqlite}
    if _postgres is not None:
        DATABASES["other"] = _postgres
