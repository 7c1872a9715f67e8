from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.node import NodeProcess


@pytest.fixture
def lone_node(tmp_path: Path) -> Iterator[NodeProcess]:
    node = NodeProcess(tmp_path / "counter-7", "counter-7", 107)
    node.init()
    node.start()
    yield node
    node.stop()
