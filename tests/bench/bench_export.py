"""The export performance bar of issue 6: exporting 100,000 annotations as Markdown and as
JSON-LD streams, with peak memory reported and bounded (not growing with the count).

On the database of generate.py (1,000,000 annotations, kept between runs), "heavy-100000" wrote
exactly 100,000 annotations on "bench-export-100000" and "heavy-10000" 10,000 on
"bench-export-10000" (highlights and notes with the usual mix of visibility, tags and replies;
nobody else annotates those two documents). Each is exported by its author, as the document's
notes and as their own notes ("My notes"), through `annotations.exporting.stream()`.

1. In-process, each run in a fresh Python process so its memory figures are its own: after a
   warm-up (the first chunks of the same export: imports, the pool's connection), the stream is
   consumed chunk by chunk and thrown away, counting bytes. Measured: total time, notes/s,
   bytes, and peak memory two ways: tracemalloc's peak of Python allocations during the stream
   (in a second run of its own, as tracing slows Python down), and the process's peak RSS
   (VmHWM, reset just before the stream through /proc/self/clear_refs) above its RSS before.
   Bar: the peak at 100,000 is at most 1.5x the peak at 10,000 — memory does not grow with
   the count. DEBUG is off in these processes and in the server below, as in every benchmark
   and in production (DEBUG's log of every SQL statement, ~10 KB a query here, two queries a
   batch of 500 notes, would grow with the export). Baseline for time (same run, same process
   kind): reading the same notes and replies from PostgreSQL through the ORM's chunked
   iterator, writing nothing.
2. Over HTTP from uvicorn: GET /documents/<slug>/export.<fmt> as the author, read in 64 KiB
   pieces and thrown away; time to first byte, total time, bytes, and the server process's peak
   RSS during the response (sampled every 10 ms) above its RSS before it. Same bar.

An export whose small size takes longer than SLOW_S is reported with its rate, and its large
size (and the HTTP part) is not run: it would take ten times as long.

Run alone with `.venv/bin/python tests/bench/bench_export.py [--annotations N]`, or all
with `make bench`.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit

import harness  # first: puts the project on sys.path and sets Django up
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Subquery
from generate import generate_for, open_database

from annotations.models import Reply
from annotations.transfer import exporting
from reader.models import Document

MEMORY_BAR = 1.5  # peak at the large size / peak at the small size
# A small export slower than this is reported and its large size not run (it would take 10x).
SLOW_S = 120.0
CASES = (  # (scope, format); "fetch" is the baseline: reading the rows, writing nothing
    ("document", "md"),
    ("document", "jsonld"),
    ("document", "csv"),
    ("mine", "md"),
    ("mine", "jsonld"),
    ("document", "fetch"),
    ("mine", "fetch"),
)
TRACED = {"md", "jsonld", "csv"}
HTTP_FORMATS = ("md", "jsonld")
KiB = 1024
MiB = 1024 * KiB
User = get_user_model()


# ------------------------------------------------------------------------------ /proc


def reset_peak_rss() -> bool:
    """Make VmHWM start again from the current RSS (Linux 4.0+)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# ------------------------------------------------------------------------ child: one export


def child(spec: dict) -> dict:
    # DEBUG is off (the harness sees to it, as production): on, it would keep every SQL
    # statement in connection.queries (up to 9,000, ~10 KB each here), memory growing with
    # the export's size.
    open_database(spec["database"])
    user = User.objects.get(username=spec["user"])
    document = Document.objects.only("slug", "title", "author", "source").get(slug=spec["document"])
    scope = (
        exporting.Scope("document", document=document)
        if spec["scope"] == "document"
        else exporting.Scope("mine")
    )
    notes = exporting.notes(user, scope)
    counts = {
        "notes": notes.count(),
        "replies": Reply.objects.visible_to(user)
        .filter(annotation_id__in=Subquery(notes.values("pk")))
        .count(),
    }

    def chunks():
        if spec["fmt"] == "fetch":
            return fetch(user, scope)
        return exporting.stream(
            user=user, scope=scope, fmt=spec["fmt"], base_url="http://localhost:8000"
        )

    warm = chunks()
    for _ in range(2):  # imports, first queries, the connection: not the export's memory
        next(warm, None)
    warm.close()
    del warm
    gc.collect()

    before = harness.proc_status()  # KiB
    cleared = reset_peak_rss()
    if spec["traced"]:
        tracemalloc.start()
        tracemalloc.reset_peak()
    size = pieces = 0
    started = time.perf_counter()
    first = None
    for chunk in chunks():
        size += len(chunk.encode())
        pieces += 1
        if first is None:
            first = time.perf_counter() - started
    elapsed = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1] if spec["traced"] else None
    if spec["traced"]:
        tracemalloc.stop()
    after = harness.proc_status()
    base_hwm = before["VmRSS"] if cleared else before["VmHWM"]
    return {
        **spec,
        **counts,
        "seconds": elapsed,
        "first_chunk_s": first,
        "bytes": size,
        "chunks": pieces,
        "tracemalloc_peak": traced_peak,
        "rss_before": before["VmRSS"] * KiB,
        "rss_peak_growth": max(0, after["VmHWM"] - base_hwm) * KiB,
        "hwm_reset": cleared,
    }


def fetch(user, scope):
    """The baseline: the notes (with document, author, group) and their visible replies, read
    through the ORM's chunked iterator; one empty chunk per row so the loop is the same."""
    notes = exporting.notes(user, scope)
    rows = (
        notes.select_related("document", "author", "group")
        .defer("body_html", "search")
        .order_by(*exporting.ORDER)
    )
    for _ in rows.iterator(chunk_size=exporting.BATCH):
        yield ""
    replies = Reply.objects.visible_to(user).filter(annotation_id__in=Subquery(notes.values("pk")))
    for _ in replies.select_related("author").defer("body_html", "search").iterator(2000):
        yield ""


def run_child(spec: dict) -> dict:
    command = [sys.executable, __file__, "--child", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"Export run {spec} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------ HTTP


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.01):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.peak = max(self.peak, harness.proc_status(self.pid)["VmRSS"] * KiB)
            time.sleep(self.every)

    def stop(self) -> int:
        self.stopping.set()
        self.join()
        return self.peak


def http_export(base: str, path: str, cookie: str, pid: int) -> dict:
    parts = urlsplit(base)
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    gc.collect()
    time.sleep(0.3)
    before = harness.proc_status(pid)["VmRSS"] * KiB
    sampler = RssSampler(pid)
    sampler.start()
    started = time.perf_counter()
    try:
        client.request("GET", path, headers={"Cookie": cookie})
        response = client.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
        first = None
        size = 0
        while piece := response.read(64 * 1024):
            if first is None:
                first = time.perf_counter() - started
            size += len(piece)
        elapsed = time.perf_counter() - started
    finally:
        peak = sampler.stop()
        client.close()
    return {
        "path": path,
        "seconds": elapsed,
        "first_byte_s": first,
        "bytes": size,
        "server_rss_before": before,
        "server_rss_peak_growth": max(0, peak - before),
    }


def over_http(world, sizes: list[int]) -> list[dict]:
    results = []
    with harness.serve() as base:
        pid = harness.server_pid(base)
        cookies = {}
        for n in sizes:
            heavy = world.heavy[str(n)]
            user = User.objects.get(username=heavy["user"])
            cookies[n] = f"{settings.SESSION_COOKIE_NAME}={harness.session_for(user)}"
        small = min(sizes)
        for fmt in HTTP_FORMATS:  # warm-up: the server's imports and first batches
            slug = world.heavy[str(small)]["document"]
            http_export(base, f"/documents/{slug}/export.{fmt}", cookies[small], pid)
        for fmt in HTTP_FORMATS:
            for n in sizes:
                slug = world.heavy[str(n)]["document"]
                found = http_export(base, f"/documents/{slug}/export.{fmt}", cookies[n], pid)
                results.append({**found, "fmt": fmt, "size": n})
                print(
                    f"HTTP {fmt:6} {n:>7,}: {found['seconds']:.1f} s, first byte "
                    f"{found['first_byte_s'] * 1000:.0f} ms, {found['bytes'] / MiB:.1f} MiB, "
                    f"server RSS +{found['server_rss_peak_growth'] / MiB:.1f} MiB",
                    flush=True,
                )
    return results


# -------------------------------------------------------------------------------------- main


def mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MiB:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--child")
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        harness.close()
        return 0

    world = generate_for(args.annotations)
    sizes = sorted(int(n) for n in world.heavy)
    small, large = sizes[0], sizes[-1]
    runs: dict[tuple, dict] = {}
    skipped: dict[tuple, str] = {}
    for scope, fmt in CASES:
        for n in sizes:
            heavy = world.heavy[str(n)]
            spec = {
                "database": world.database,
                "scope": scope,
                "fmt": fmt,
                "size": n,
                "user": heavy["user"],
                "document": heavy["document"],
                "traced": False,
            }
            if (scope, fmt) in skipped:
                continue
            plain = run_child(spec)
            runs[scope, fmt, n] = plain
            rate = plain["notes"] / plain["seconds"]
            if n != large and plain["seconds"] > SLOW_S:
                # Too slow to wait for the large size (or a traced run): say so, go on.
                skipped[scope, fmt] = (
                    f"{plain['notes']:,} notes took {plain['seconds']:.0f} s ({rate:,.0f} notes/s):"
                    f" {large:,} would take ~{large / rate / 60:.0f} min, not run"
                )
                plain["tracemalloc_peak"] = None
            else:
                traced = run_child({**spec, "traced": True}) if fmt in TRACED else None
                plain["tracemalloc_peak"] = traced["tracemalloc_peak"] if traced else None
            print(
                f"{scope:8} {fmt:6} {plain['notes']:>7,} notes + {plain['replies']:>6,} replies: "
                f"{plain['seconds']:6.1f} s, {rate:>8,.0f} notes/s, "
                f"{plain['bytes'] / MiB:6.1f} MiB out; peak tracemalloc "
                f"{mib(plain['tracemalloc_peak'])}, RSS +{mib(plain['rss_peak_growth'])}",
                flush=True,
            )
            if (scope, fmt) in skipped:
                print(f"  skipped the rest: {skipped[scope, fmt]}", flush=True)
    slow_http = any(("document", fmt) in skipped for fmt in HTTP_FORMATS)
    http_runs = [] if args.no_http or slow_http else over_http(world, [small, large])

    rows = []
    for scope, fmt in CASES:
        if fmt == "fetch":
            continue
        name = f"Export {fmt}, {'a document' if scope == 'document' else 'My notes'}"
        if (scope, fmt) in skipped:
            rows.append(
                {
                    "measure": f"{name}: peak memory and time, {large:,} notes",
                    "result": f"not measured: {skipped[scope, fmt]}",
                    "bar": f"bounded: ≤ {MEMORY_BAR:g}× the {small:,} peak",  # noqa: RUF001
                    "passed": False,
                }
            )
            continue
        big, little = runs[scope, fmt, large], runs[scope, fmt, small]
        fetched = runs.get((scope, "fetch", large))
        peak_ratio = big["tracemalloc_peak"] / little["tracemalloc_peak"]
        rss_ok = big["rss_peak_growth"] <= MEMORY_BAR * little["rss_peak_growth"] + 8 * MiB
        rows.append(
            {
                "measure": f"{name}: peak memory, {big['notes']:,} notes + {big['replies']:,} "
                "replies",
                "result": f"tracemalloc {mib(big['tracemalloc_peak'])}, RSS "
                f"+{mib(big['rss_peak_growth'])}",
                "baseline": f"{little['notes']:,} notes: tracemalloc "
                f"{mib(little['tracemalloc_peak'])}, RSS +{mib(little['rss_peak_growth'])}",
                "ratio": harness.ratio(big["tracemalloc_peak"], little["tracemalloc_peak"]),
                "bar": f"bounded: ≤ {MEMORY_BAR:g}× the {small:,} peak",  # noqa: RUF001
                "passed": peak_ratio <= MEMORY_BAR and rss_ok,
            }
        )
        rows.append(
            {
                "measure": f"{name}: time, {big['notes']:,} notes",
                "result": f"{big['seconds']:.1f} s, {big['notes'] / big['seconds']:,.0f} "
                f"notes/s, {big['bytes'] / MiB:.1f} MiB",
                "baseline": f"reading the rows: {fetched['seconds']:.1f} s" if fetched else "",
                "ratio": harness.ratio(big["seconds"], fetched["seconds"]) if fetched else "",
            }
        )
    by_key = {(r["fmt"], r["size"]): r for r in http_runs}
    if slow_http:
        rows.append(
            {
                "measure": "Export over HTTP",
                "result": "not measured: the in-process exports were too slow (above)",
            }
        )
    for fmt in HTTP_FORMATS if http_runs else ():
        big, little = by_key[fmt, large], by_key[fmt, small]
        growth_ok = (
            big["server_rss_peak_growth"] <= MEMORY_BAR * little["server_rss_peak_growth"] + 8 * MiB
        )
        rows.append(
            {
                "measure": f"Export {fmt} over HTTP, a document of {large:,} notes",
                "result": f"{big['seconds']:.1f} s, first byte {big['first_byte_s'] * 1000:.0f} "
                f"ms, {big['bytes'] / MiB:.1f} MiB; server RSS "
                f"+{mib(big['server_rss_peak_growth'])}",
                "baseline": f"{small:,} notes: server RSS +{mib(little['server_rss_peak_growth'])}",
                "ratio": harness.ratio(
                    big["server_rss_peak_growth"], little["server_rss_peak_growth"]
                ),
                "bar": f"bounded: ≤ {MEMORY_BAR:g}× (+8 MiB) the {small:,} peak",  # noqa: RUF001
                "passed": growth_ok,
            }
        )
    harness.record(
        "export",
        {
            "title": f"Export ({large:,} annotations, in a database of "
            f"{world.counts['annotations']:,})",
            "rows": rows,
            "runs": [{**r, "key": list(k)} for k, r in runs.items()],
            "http": http_runs,
            "skipped": {f"{scope} {fmt}": why for (scope, fmt), why in skipped.items()},
        },
    )
    harness.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
