"""Shared test setup: development settings, named people, and a headless Chromium."""

from __future__ import annotations

import os

# The suite runs in development mode (make test sets it too); settings refuse to start otherwise.
os.environ.setdefault("DEBUG", "1")
