"""The docs are kept honest: every command, setting and event type the code has is documented."""

import dataclasses
import re
from pathlib import Path

import click

from nirantar import config
from nirantar.cli import main
from nirantar.ledger import projection

DOCS = Path(__file__).resolve().parent.parent / "docs"
ROOT = DOCS.parent


def commands(group: click.Group, prefix: str = "nirantar") -> list[str]:
    found = []
    for name, command in group.commands.items():
        if command.hidden:  # internal helpers, not for operators
            continue
        found.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            found += commands(command, f"{prefix} {name}")
    return found


def test_every_command_is_in_the_operator_guide():
    guide = (DOCS / "operator.md").read_text()
    missing = [c for c in commands(main) if f"`{c}" not in guide and f"{c} " not in guide]
    assert not missing


def test_every_node_setting_and_environment_variable_is_documented():
    guide = (DOCS / "operator.md").read_text()
    for field in dataclasses.fields(config.NodeConfig):
        assert f"`{field.name}`" in guide, field.name
    settings_source = (ROOT / "nirantar" / "settings.py").read_text()
    for variable in set(re.findall(r'"(NIRANTAR_[A-Z_]+)"', settings_source)):
        assert f"`{variable}`" in guide, variable


def test_every_event_type_is_documented(hospital):
    catalogue = (DOCS / "events.md").read_text()
    missing = [t for t in projection.known_types() if f"`{t}`" not in catalogue]
    assert not missing
