"""What every benchmark shares: Django on a throwaway database, a live server, timers, reports.

Benchmarks are scripts (`make bench`), not tests. Each figure is printed next to a baseline
measured in the same run, so the README can quote ratios that hold on any machine.

Import this module before any project code: it puts the project on sys.path, sets the
benchmark's environment (BENCH_ENV: DEBUG off, as in production) and sets Django up. Then call
`setup()` before the first query: it points Django at `marginalia_bench`.
"""

from __future__ import annotations

import atexit
import http.client
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

BASE_DIR = Path(__file__).resolve().parents[2]
# Run as `python tests/bench/x.py`, only tests/bench is on sys.path; the project is needed too.
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

# Every benchmark is measured as production runs: DEBUG off (debug mode logs every SQL
# statement and skews timings and memory). What production mode needs besides, for this process
# and the servers it starts (they inherit the environment), and nothing else: a strong key of
# this run's own (logins are sessions signed with it, made here and read by the server), the
# hosts the benchmarks use, and plain HTTP on 127.0.0.1 (no redirect to HTTPS, cookies not
# marked Secure). Set over whatever the shell has: a DEBUG=1 left there would skew the figures.
BENCH_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
}
os.environ.update(BENCH_ENV)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reader.settings")

import django  # noqa: E402  (the environment above must be set first)

django.setup()

import dj_database_url  # noqa: E402
import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from psycopg import sql  # noqa: E402

# MARGINALIA_BENCH_DB names another throwaway database (and server dir), so that two people
# benchmarking on one machine never drop each other's; unset, it is marginalia_bench.
BENCH_DB = os.environ.get("MARGINALIA_BENCH_DB") or "marginalia_bench"
OUT_DIR = Path(settings.VAR_DIR) / "bench"
# The live server's own var dir (MARGINALIA_VAR_DIR): its STATIC_ROOT is staticfiles/ in it,
# where collect_static() puts the collected files and their manifest, as `manage.py serve` does
# in production. This process renders pages with the same manifest: its STATIC_ROOT points there
# too (set before anything opened the static files storage; nothing else here reads it).
SERVER_VAR_DIR = OUT_DIR / ("server" if BENCH_DB == "marginalia_bench" else f"server-{BENCH_DB}")
SERVER_STATIC_DIR = SERVER_VAR_DIR / "staticfiles"
settings.STATIC_ROOT = SERVER_STATIC_DIR

if settings.DEBUG:
    raise RuntimeError("The benchmarks must run with DEBUG off.")

_bench_url: str | None = None
_static_collected = False
_servers_running = 0


# ------------------------------------------------------------------------------ database


def setup() -> str:
    """Recreate the bench database, point Django at it, migrate. Returns its DATABASE_URL.

    Idempotent: run_all calls it once and every benchmark calls it again for itself.
    """
    global _bench_url
    if _bench_url:
        return _bench_url
    default = settings.DATABASES["default"]
    # The maintenance database `postgres`: the one place to drop and create others from.
    with psycopg.connect(**_server_params(default, "postgres"), autocommit=True) as admin:
        name = sql.Identifier(BENCH_DB)
        # FORCE: a server left over from an interrupted run must not keep the database alive.
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    # Django reads this very dict (connections["default"].settings_dict) when it first connects,
    # and nothing has connected yet, so renaming it here moves every query to the bench database.
    connection.close()
    default["NAME"] = BENCH_DB
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (current,) = cursor.fetchone()
    if current != BENCH_DB:
        raise RuntimeError(f"Django is connected to {current!r}, not {BENCH_DB!r}.")
    call_command("migrate", interactive=False, verbosity=0)
    _bench_url = _database_url(default, BENCH_DB)
    collect_static()
    return _bench_url


def close() -> None:
    """Give the pool's connections back before exit (the embedded server stops at exit)."""
    connection.close()
    connection.close_pool()


def collect_static() -> None:
    """`collectstatic` into SERVER_STATIC_DIR, once per process; removed again at exit.

    With DEBUG off whitenoise serves only what is in STATIC_ROOT when the server starts, and
    templates name files through the manifest (CompressedManifestStaticFilesStorage), in this
    process as in the server. A leftover of an interrupted run is cleared first.
    """
    global _static_collected
    if _static_collected:
        return
    shutil.rmtree(SERVER_VAR_DIR, ignore_errors=True)
    SERVER_STATIC_DIR.mkdir(parents=True)
    atexit.register(shutil.rmtree, SERVER_VAR_DIR, ignore_errors=True)
    call_command("collectstatic", interactive=False, verbosity=0)
    _static_collected = True


def _server_params(config: dict, dbname: str) -> dict:
    params = {
        "dbname": dbname,
        "user": config["USER"],
        "password": config["PASSWORD"],
        "host": config["HOST"],
        "port": config["PORT"],
    }
    options = {k: v for k, v in config.get("OPTIONS", {}).items() if k != "pool"}
    return {k: v for k, v in {**params, **options}.items() if v not in ("", None)}


def _database_url(config: dict, dbname: str) -> str:
    """A DATABASE_URL for `dbname` on the same server, for the live server's environment."""
    user = quote(config["USER"] or "", safe="")
    password = quote(config["PASSWORD"] or "", safe="")
    # A Unix socket directory goes in the host part percent-encoded; dj-database-url decodes it.
    host = quote(str(config["HOST"] or ""), safe="")
    port = f":{config['PORT']}" if config["PORT"] else ""
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    options = {k: v for k, v in config.get("OPTIONS", {}).items() if isinstance(v, str)}
    query = f"?{urlencode(options)}" if options else ""
    url = f"postgres://{credentials}{host}{port}/{dbname}{query}"
    parsed = dj_database_url.parse(url)
    wanted = (str(config["HOST"] or ""), str(config["PORT"] or ""), dbname)
    if (str(parsed["HOST"] or ""), str(parsed["PORT"] or ""), parsed["NAME"]) != wanted:
        raise RuntimeError(f"Built a DATABASE_URL that does not parse back: {url}")
    return url


# ---------------------------------------------------------------------------- live server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(timeout: float = 30.0, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the app under uvicorn on the bench database; yield its base URL.

    The app as `manage.py serve` serves it in production (reader.asgi, DEBUG off, static files
    collected), with BENCH_ENV. Whitenoise serves what SERVER_STATIC_DIR holds when it starts
    (the collected files, and any static_file() entered before), under STATIC_URL. `env` adds
    environment variables (settings) for the server process only.
    """
    global _servers_running
    url = setup()
    collect_static()  # setup() does, unless generate.open_database() chose the database
    port = _free_port()
    # Django's ASGI handler warns once that whitenoise's file iterator is synchronous: known
    # (it can only make the static baseline slower, never faster), so kept off the report.
    quiet = "ignore:StreamingHttpResponse must consume synchronous iterators"
    python_warnings = ",".join(w for w in (os.environ.get("PYTHONWARNINGS"), quiet) if w)
    env = {
        **os.environ,
        **BENCH_ENV,
        "DATABASE_URL": url,
        # Its STATIC_ROOT (and MEDIA_ROOT) land under var/bench/server, away from dev files.
        "MARGINALIA_VAR_DIR": str(SERVER_VAR_DIR),
        "PYTHONWARNINGS": python_warnings,
        **(env or {}),
    }
    command = [sys.executable, "-m", "uvicorn", "reader.asgi:application"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env)
    base = f"http://127.0.0.1:{port}"
    _servers_running += 1
    try:
        _wait_until_up(process, base, timeout)
        yield base
    finally:
        _servers_running -= 1
        process.terminate()  # uvicorn finishes in-flight requests and exits on SIGTERM
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen, base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:  # it answers, but not as the benchmarks need
            raise RuntimeError(f"uvicorn answered GET / with {error.code}") from error
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer at {base} within {timeout:g} s")


@contextmanager
def static_file(name: str, data: bytes) -> Iterator[str]:
    """Put `data` where the live server serves static files; yield its URL path; remove it.

    Enter it before serve(): with DEBUG off whitenoise lists its files once, when the server
    starts (WHITENOISE_AUTOREFRESH off), so a file added to a running server is never served.
    """
    if _servers_running:
        raise RuntimeError("static_file() must be entered before serve() starts the server.")
    collect_static()
    path = SERVER_STATIC_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        yield settings.STATIC_URL + name
    finally:
        path.unlink(missing_ok=True)


def session_for(user) -> str:
    """A logged-in session (stored in the bench database) for `user`: its cookie value."""
    from django.test import Client

    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def server_pid(base: str) -> int:
    """The uvicorn process serving `base` (serve() started it with --port <port>)."""
    port = str(urlsplit(base).port).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"uvicorn" in arg for arg in args) and port in args:
            return int(proc.name)
    raise RuntimeError(f"No uvicorn process found for {base}")


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """The numbers of /proc/<pid>/status (VmRSS, VmHWM, Threads...), as the file gives them:
    sizes in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        first = value.split()[:1]
        if first and first[0].isdigit():
            found[name] = int(first[0])
    return found


# ---------------------------------------------------------------------------------- timing


def summarize(seconds: list[float]) -> dict:
    """p50/p95/p99/mean/min in milliseconds (percentiles interpolated between ranks)."""
    ordered = sorted(seconds)

    def percentile(q: float) -> float:
        k = (len(ordered) - 1) * q
        low = math.floor(k)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (k - low)

    return {
        "n": len(ordered),
        "p50_ms": percentile(0.50) * 1000,
        "p95_ms": percentile(0.95) * 1000,
        "p99_ms": percentile(0.99) * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
        "min_ms": ordered[0] * 1000,
    }


def time_call(fn: Callable[[], Any], *, n: int = 30, warmup: int = 3) -> dict:
    """Call `fn` `warmup` times untimed, then `n` times timed; see summarize()."""
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return summarize(seconds)


def time_get(
    url: str, *, n: int = 30, warmup: int = 5, headers: dict[str, str] | None = None
) -> tuple[dict, bytes]:
    """GET `url` over one kept-alive connection; time request sent to last byte read.

    On loopback with the connection already open this is server time plus copying the body.
    `headers` are sent with every request (e.g. a session cookie). Returns the timings and the
    (last) body.
    """
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    body = b""

    def get() -> None:
        nonlocal body
        client.request("GET", path, headers=headers or {})
        response = client.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {url} answered {response.status}")

    try:
        return time_call(get, n=n, warmup=warmup), body
    finally:
        client.close()


def query_count(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Run `fn` in-process; return (number of SQL queries it made, its result)."""
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    return len(captured.captured_queries), result


# --------------------------------------------------------------------------------- reports


def machine() -> dict:
    """What the figures were measured on: printed under every table and kept in the JSON."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024 / 1024  # the file counts kB
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (pg_version,) = cursor.fetchone()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_gib, 1),
        "postgresql": pg_version.split()[0],
        "database": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded pgserver",
        "python": platform.python_version(),
        "django": django.get_version(),
        "debug": settings.DEBUG,
    }


def machine_line(info: dict | None = None) -> str:
    info = info or machine()
    return (
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']:g} GiB RAM; "
        f"PostgreSQL {info['postgresql']} ({info['database']}); "
        f"Python {info['python']}, Django {info['django']}; "
        f"DEBUG {'on' if info.get('debug', True) else 'off'}."
    )


def markdown(result: dict) -> str:
    """A result's rows as a Markdown table, under a heading with its title."""
    lines = [
        f"### {result['title']}",
        "",
        "| Measure | Result | Baseline (same run) | Ratio | Bar |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        bar = row.get("bar", "")
        if bar and "passed" in row:
            bar += " ✓" if row["passed"] else " ✗ (missed)"
        cells = [row["measure"], row["result"], row.get("baseline", ""), row.get("ratio", ""), bar]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def record(name: str, result: dict) -> dict:
    """Write `result` (with the machine) to var/bench/<name>.json and print its table."""
    result = {
        **result,
        "name": name,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\n{markdown(result)}\n\n{machine_line(result['machine'])}\n(written to {path})")
    return result


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.1f}×" if baseline else "n/a"  # noqa: RUF001


def csrf_from_page(host: str, port: int, path: str, cookies: dict[str, str]) -> str:
    """GET `path` like a browser with `cookies` (updated with what the server sets) and return
    the page's CSRF form token: what a writer needs before it can POST."""
    connection = http.client.HTTPConnection(host, port, timeout=120)
    try:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        html = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        cookies.update({name: morsel.value for name, morsel in jar.items()})
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if not match or settings.CSRF_COOKIE_NAME not in cookies:
            raise RuntimeError(f"{path} gave no CSRF token.")
        return match.group(1)
    finally:
        connection.close()
