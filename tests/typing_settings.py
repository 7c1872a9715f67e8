"""The settings mypy's Django plugin loads: the test settings, without a PostgreSQL server.

mypy ends with ``os._exit``, so no ``atexit`` stop runs in its process: a server
the test settings started there would be left running, and their data directory
left in /tmp, after every run of mypy. The plugin only needs the apps and models.
"""

import os
import shutil

os.environ["NIRANTAR_TEST_NO_PG"] = "1"

from tests.settings import *  # noqa: E402,F403
from tests.settings import _data_dir  # noqa: E402

shutil.rmtree(_data_dir, ignore_errors=True)
