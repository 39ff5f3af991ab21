"""Headless Chromium for the console's browser tests and screenshots: Debian's ``chromium`` with
its ``chromium-driver`` (selenium), nothing downloaded. ``skip_reason()`` says why it cannot run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


def _binary() -> str | None:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    return None


def skip_reason() -> str | None:
    """None when a browser test can run, else what is missing and how to install it."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: python3 -m pip install -e '.[dev]'"
    missing = [name for name, found in (("chromium", _binary()), ("chromedriver", shutil.which(DRIVER))) if not found]
    if missing:
        return (f"{' and '.join(missing)} not found on PATH: the console's browser tests need Debian's packages "
                "(apt-get install chromium chromium-driver)")
    return None


@contextmanager
def chrome(width: int = 1440, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium under chromedriver with an empty profile, closed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    profile = tempfile.mkdtemp(prefix="console-chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = _binary() or "chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=DriverService(executable_path=shutil.which(DRIVER) or DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
