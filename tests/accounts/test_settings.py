"""Security settings that the test settings relax must hold in production settings."""

import importlib
import os
import stat

from django.conf import settings


def test_production_hashes_passwords_with_argon2id():
    production = importlib.import_module("nirantar.settings")
    assert production.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]


def test_the_secret_key_is_generated_per_node_and_private():
    path = settings.DATA_DIR / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(settings.SECRET_KEY) >= 50


def test_the_node_key_is_private():
    assert stat.S_IMODE(os.stat(settings.DATA_DIR / "node.key").st_mode) == 0o600


def test_a_world_readable_key_is_refused(tmp_path):
    from nirantar.config import ConfigError, read_secret_file

    path = tmp_path / "key"
    path.write_text("x")
    path.chmod(0o644)
    try:
        read_secret_file(path)
    except ConfigError as exc:
        assert "chmod 600" in str(exc)
    else:
        raise AssertionError("a readable key was accepted")
