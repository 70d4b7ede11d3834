"""Which PostgreSQL Marginalia talks to: the one DATABASE_URL names, else an embedded one.

The embedded server comes from the `pgserver` package (PostgreSQL binaries in a wheel) and keeps
its data under `var/pgdata`, so a second `make run` finds the same documents and accounts.
There is no SQLite fallback: every code path, the tests included, runs on PostgreSQL.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

EMBEDDED_DIR_NAME = "pgdata"
RANDOM_PAGE_COST = 1.1


def database_settings(url: str | None, var_dir: Path) -> dict:
    """Django's DATABASES["default"] for `url`, or for the embedded server when it is None."""
    if url:
        config = dj_database_url.parse(url, conn_max_age=0)
        if not config["ENGINE"].endswith("postgresql"):
            raise ValueError(f"DATABASE_URL must name a PostgreSQL database, not {url!r}.")
        config["DESCRIPTION"] = describe_url(url)
    else:
        config = _embedded(var_dir / EMBEDDED_DIR_NAME)
    options = config.setdefault("OPTIONS", {})
    # Django's built-in psycopg 3 pool: connections are reused across requests and threads.
    options["pool"] = {"min_size": 1, "max_size": 20, "timeout": 10}
    # The planner's default cost of a random page read (4) is that of a spinning disk. On an
    # SSD, or with the working set in memory, 1.1 is the usual setting. With the default, when
    # one document holds much of the table, PostgreSQL reads its rows from the table and sorts
    # them, instead of taking them in order from the reading page's index alone, at twice the
    # time. A random_page_cost in the URL's own options is kept.
    server_options = options.get("options", "")
    if "random_page_cost" not in server_options:
        options["options"] = f"{server_options} -c random_page_cost={RANDOM_PAGE_COST}".strip()
    return config


def describe_url(url: str) -> str:
    """The URL with any password masked, for saying at start which database is in use."""
    parts = urlsplit(url)
    host = parts.hostname or "local socket"
    port = f":{parts.port}" if parts.port else ""
    return f"PostgreSQL {parts.path.lstrip('/')} at {host}{port} (from DATABASE_URL)"


def _embedded(data_dir: Path) -> dict:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as on servers and in CI): harmless.
        warnings.simplefilter("ignore")
        import pgserver  # imported here: only needed when no DATABASE_URL is given

        data_dir.mkdir(parents=True, exist_ok=True)
        # cleanup_mode="stop": the server stops when the last process using it exits; the data
        # stays under data_dir for the next run.
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    info = server.get_postmaster_info()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or ""),
        "CONN_MAX_AGE": 0,
        "DESCRIPTION": f"embedded PostgreSQL (pgserver) with data in {data_dir}",
    }
