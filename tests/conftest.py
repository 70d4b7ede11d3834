"""Shared test setup: development settings, named people, and a headless Chromium."""

from __future__ import annotations

import os

import pytest
from django.core.cache import caches

# The suite runs in development mode (make test sets it too); settings refuse to start otherwise.
os.environ.setdefault("DEBUG", "1")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """A test database per test run, so that runs side by side (a developer's and CI's, or
    several terminals) never share or drop each other's database."""
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_marginalia_{os.getpid()}"


@pytest.fixture(autouse=True)
def fresh_page_cache():
    """Each test starts with no reading page cached (its keys could not meet another test's
    anyway: ids and change stamps only grow, but a test should not depend on that)."""
    caches["pages"].clear()


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    """Tests build a lot of content quickly as one person; the rate-limit tests set their own
    limits (after this) to check what a reader over the limit meets."""
    settings.RATE_LIMITS = {action: [(60, 100_000)] for action in ("post", "flag")}
