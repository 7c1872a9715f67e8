"""One headless Chromium (Debian's) for the browser tests, driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from nirantar.printing.renderer import CHROMIUM_ARGS


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (make install-test installs it)")
    # Playwright's sync API keeps an asyncio loop running in this thread, which makes
    # Django refuse database calls here ("async context") although nothing is async.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-IN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    if page.locator("#slip-frame").count():  # let the slip finish before the database is reset
        page.wait_for_selector("#slip-frame[data-loaded]", state="attached")
    context.close()
