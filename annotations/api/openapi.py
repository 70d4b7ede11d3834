"""The API's OpenAPI 3.1 description, served at /api/schema/ and shown at /api/.

Written out rather than generated: the API speaks W3C JSON-LD, whose shapes no serializer
library models. It is data, kept in openapi.json beside this module; only the server's address
is filled in per request. Tests check it is valid OpenAPI and run schemathesis against the API
with it (tests/integration/annotations/api/test_openapi.py).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

# Beside this module in the checkout and in an installed package (pyproject's package-data).
DATA = Path(__file__).with_name("openapi.json")


@cache
def _stored() -> str:
    return DATA.read_text(encoding="utf-8")


def description(base: str) -> dict:
    """The description for a server at `base` (the file itself says "/"). A fresh dict each
    call, so that no caller can change another's."""
    spec = json.loads(_stored())
    spec["servers"] = [{"url": base}]
    return spec
