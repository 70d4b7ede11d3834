"""Settings are safe by default: no DEBUG, no start without a real SECRET_KEY, deploy-clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reader.database import database_settings, describe_url

ROOT = Path(__file__).resolve().parents[3]
STRONG_KEY = "k" * 20 + "9f8e7d6c5b4a3928171605f4e3d2c1b0a9" + "z" * 10


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    dropped = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_without_variables_the_site_refuses_to_start():
    result = manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_weak_secret_key_is_refused_in_production():
    result = manage("check", SECRET_KEY="django-insecure-short")
    assert result.returncode != 0
    assert "too weak" in result.stderr


def test_production_mode_passes_check_deploy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="marginalia.example.org",
        SECURE_HSTS_PRELOAD="true",  # the one HTTPS setting left to the operator's choice
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_unless_asked():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        SECRET_KEY=STRONG_KEY,
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


@pytest.mark.parametrize(
    ("entries", "backend"), [("0", "DummyCache"), ("5", "LocMemCache"), ("", "LocMemCache")]
)
def test_page_cache_entries_sets_the_pages_cache(entries, backend):
    env = {"PAGE_CACHE_ENTRIES": entries} if entries else {}
    result = manage(
        "shell",
        "-c",
        "from django.core.cache import caches; c = caches['pages']; "
        "print(type(c).__name__, c._max_entries if hasattr(c, '_cache') else '-')",
        SECRET_KEY=STRONG_KEY,
        **env,
    )
    expected = {"0": "-", "5": "5", "": "64"}[entries]
    assert result.stdout.strip().splitlines()[-1] == f"{backend} {expected}", result.stderr


def test_database_url_is_used_and_described_without_its_password(tmp_path):
    config = database_settings("postgres://ann:s3cret@db.example.org:6543/marginalia", tmp_path)
    assert config["HOST"] == "db.example.org" and config["PORT"] == 6543
    assert config["NAME"] == "marginalia"
    assert config["OPTIONS"]["pool"]
    assert "s3cret" not in config["DESCRIPTION"]
    assert "db.example.org:6543" in describe_url("postgres://ann:s3cret@db.example.org:6543/m")


def test_random_page_cost_is_set_unless_the_url_sets_it(tmp_path):
    config = database_settings("postgres://ann@db.example.org/marginalia", tmp_path)
    assert config["OPTIONS"]["options"] == "-c random_page_cost=1.1"
    url = "postgres://ann@db.example.org/marginalia?options=-c%20random_page_cost%3D2"
    assert database_settings(url, tmp_path)["OPTIONS"]["options"] == "-c random_page_cost=2"
    url = "postgres://ann@db.example.org/marginalia?options=-c%20work_mem%3D8MB"
    options = database_settings(url, tmp_path)["OPTIONS"]["options"]
    assert options == "-c work_mem=8MB -c random_page_cost=1.1"


def test_sqlite_is_refused(tmp_path):
    with pytest.raises(ValueError, match="PostgreSQL"):
        database_settings("sqlite:///db.sqlite3", tmp_path)
