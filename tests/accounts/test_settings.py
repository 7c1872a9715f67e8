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


def _init(data_dir, *args):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIRANTAR_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-m", "nirantar.cli", "--data-dir", str(data_dir), "init", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_new_data_directory_is_private_to_the_node(tmp_path):
    data_dir = tmp_path / "node"
    data_dir.mkdir(mode=0o755)  # made beforehand by an operator, readable by all
    result = _init(data_dir, "--node", "ward-1", "--number", "7")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700


def test_a_bad_ca_certificate_is_refused_before_anything_is_written(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    data_dir = tmp_path / "node"
    result = _init(data_dir, "--node", "ward-1", "--number", "7", "--tls-ca", str(bad))
    assert result.returncode != 0
    assert "is not a PEM certificate" in result.stderr
    assert not data_dir.exists() or not any(data_dir.iterdir())
