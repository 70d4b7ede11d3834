"""The API's description is data: annotations/api/openapi.json, served at /api/schema/ with only
this server's address filled in. (tests/integration/annotations/api/test_openapi.py runs
schemathesis against the API with it; test_views.py checks its references and operations.)"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import schemathesis

from annotations import jsonld
from annotations.api.openapi import DATA

ROOT = Path(__file__).resolve().parents[4]


def stored() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def test_the_schema_served_is_the_data_file_with_this_servers_address(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    data = stored()
    assert data["servers"] == [{"url": "/"}]
    assert json.loads(response.content) == {**data, "servers": [{"url": "http://testserver"}]}


def test_the_data_file_is_a_valid_openapi_3_1_description():
    data = stored()
    assert data["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(data).validate()  # against the OpenAPI 3.1 meta-schema


def test_annotations_are_offered_under_the_media_type_the_api_answers_with():
    """The file spells the JSON-LD media type out; it must stay the one annotations.jsonld
    sends, or clients following the description would ask for a type the API does not serve."""
    profiled = set()

    def walk(node):
        if isinstance(node, dict):
            profiled.update(key for key in node.get("content", {}) if "profile=" in key)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    data = stored()
    walk(data)
    assert profiled == {jsonld.MEDIA_TYPE}
    one = data["paths"]["/api/annotations/{id}"]["get"]["responses"]["200"]["content"]
    assert jsonld.MEDIA_TYPE in one


def test_the_data_file_is_found_from_any_working_directory(tmp_path):
    code = "from annotations.api.openapi import description; print(description('x')['openapi'])"
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == stored()["openapi"]


def test_an_installed_package_carries_the_data_file():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert DATA.name in config["tool"]["setuptools"]["package-data"]["annotations.api"]
