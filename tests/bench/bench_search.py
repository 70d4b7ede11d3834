"""The search performance bar of issue 6: search p95 <= 50 ms with 1,000,000 annotations.

The database comes from generate.py (kept between runs; the first run takes minutes): 1,000,000
annotations, 100,000 replies and 100,000 paragraphs of prose over 200 documents. The viewer is
a moderately active reader in 3 groups, so the policy's filter has real work: they may see their
own notes, the public ones (~20%) and their groups'.

1. In-process, `annotations.search.search(viewer, SearchQuery(...), page=1)`, per kind of query:
   a rare word, a common word, a two-word phrase in quotes, `word -other`, `a or b`, a tag
   filter, a document filter, a group filter, kind=notes, kind=text. Each kind cycles through 20
   different words (so no single query's plan or pages are favoured): each once untimed (the
   warm-up, and the number of matches), then 200 timed. p50/p95/p99. Bar: p95 <= 50 ms for
   every kind. A kind so slow that its timed calls pass BUDGET_S stops early (at least
   MIN_RUNS calls; the table's n says how many), so a regression cannot keep `make bench`
   running for hours.
   Baseline (same run): one page (20) of annotations fetched by primary key, with their
   document and author, as a result list needs them; the ratio says what searching costs on top
   of showing a page.
2. Over HTTP from uvicorn, logged in as the viewer: /search/?q= and /api/search?q= for a few
   kinds (each path once untimed, then 100 timed GETs over a kept-alive connection, same
   budget), against the same bytes served as a static file by the same server command (the
   cost of HTTP alone; started again with the files in place, as with DEBUG off whitenoise
   lists its files when it starts). Kinds slower than SKIP_HTTP_MS in-process are not timed
   again over HTTP.
3. For every kind over the bar: the slowest SQL statement of its slowest timed search, EXPLAIN
   (ANALYZE, BUFFERS) (once per distinct statement), written to var/bench/search_explain.txt.

Run alone with `.venv/bin/python tests/bench/bench_search.py [--annotations N]`, or all
with `make bench`.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import harness  # first: puts the project on sys.path and sets Django up
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from generate import generate_for

from annotations.models import Annotation, Group
from annotations.search.query import SearchError, SearchQuery, search

TIMED = 200
BUDGET_S = 60.0  # per kind: a kind this slow stops early (its n says so), the rest still run
MIN_RUNS = 3
SKIP_HTTP_MS = 1000.0  # a kind this slow in-process is not timed over HTTP as well
WARMUP = 10
VARIANTS = 20
HTTP_TIMED = 100
HTTP_WARMUP = 5
BAR_MS = 50.0
PER_PAGE = 20
EXPLAIN_PATH = harness.OUT_DIR / "search_explain.txt"
User = get_user_model()


@dataclass
class Case:
    name: str
    queries: list[SearchQuery]
    http: bool = False  # also timed over HTTP
    skip_http: str = ""  # why not, after all (too slow in-process)


# ------------------------------------------------------------------------------ the words


def searchable(words: list[str]) -> list[str]:
    """The words (in rank order) that English search does not drop as stop words."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w FROM unnest(%s::text[]) WITH ORDINALITY AS t(w, n) "
            "WHERE numnode(plainto_tsquery('english', w)) > 0 ORDER BY n",
            [words],
        )
        return [w for (w,) in cursor.fetchall()]


def phrases(words: set[str], common: set[str], n: int) -> list[str]:
    """Two words that stand side by side in public notes (not both very common)."""
    bodies = (
        Annotation.objects.filter(visibility="public", status="active")
        .exclude(body="")
        .order_by("pk")
        .values_list("body", flat=True)[:400]
    )
    found: list[str] = []
    for body in bodies:
        tokens = [t.lower() for t in re.findall(r"[^\W\d_]+", body)]
        for a, b in itertools.pairwise(tokens):
            if a in words and b in words and not (a in common and b in common) and a != b:
                pair = f'"{a} {b}"'
                if pair not in found:
                    found.append(pair)
                break
        if len(found) == n:
            break
    return found


def cases(world) -> list[Case]:
    words = searchable(world.vocabulary)
    lower = {w.lower() for w in words}
    common = [w.lower() for w in words[: VARIANTS + 1]]
    middle = [w.lower() for w in words[300 : 300 + VARIANTS + 1]]
    rare = [w.lower() for w in words[-VARIANTS * 4 :: 4]][:VARIANTS]
    tag = world.tags[1]
    document = (
        Annotation.objects.exclude(document__slug__startswith="bench-export-")
        .values("document__slug")
        .order_by()
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("document__slug", flat=True)
        .first()
    )
    group = Group.objects.filter(pk=world.viewer_group_ids[0]).values_list("slug", flat=True)[0]
    v = range(VARIANTS)
    return [
        Case("rare word", [SearchQuery(q=rare[i]) for i in v], http=True),
        Case("common word", [SearchQuery(q=common[i]) for i in v], http=True),
        Case(
            "phrase in quotes",
            [SearchQuery(q=p) for p in phrases(lower, set(common), VARIANTS)],
            http=True,
        ),
        Case("word -other", [SearchQuery(q=f"{common[i]} -{common[i + 1]}") for i in v], http=True),
        Case("a or b", [SearchQuery(q=f"{middle[i]} or {middle[i + 1]}") for i in v], http=True),
        Case("common word + tag", [SearchQuery(q=common[i], tag=tag) for i in v]),
        Case("common word + document", [SearchQuery(q=common[i], document=document) for i in v]),
        Case("common word + group", [SearchQuery(q=common[i], group=group) for i in v]),
        Case("common word, kind=notes", [SearchQuery(q=common[i], kind="notes") for i in v]),
        Case("common word, kind=text", [SearchQuery(q=common[i], kind="text") for i in v]),
    ]


# ------------------------------------------------------------------------------- in-process


def time_cycle(
    calls: list[Callable[[], object]], *, n: int, warmup: int, budget: float | None = None
) -> dict:
    """Call `calls` in turn, `warmup` untimed then `n` timed; see harness.summarize(). Past
    `budget` seconds (and at least MIN_RUNS timed calls), stop early: the summary's n tells.
    The summary also holds the SQL statements of the slowest call (captured around each call:
    DEBUG is off, so nothing else logs them)."""
    began = time.perf_counter()
    for i in range(warmup):
        calls[i % len(calls)]()
        if budget and time.perf_counter() - began > budget / 2:
            break
    seconds: list[float] = []
    slowest: tuple[float, list] = (0.0, [])
    began = time.perf_counter()
    for i in range(n):
        call = calls[i % len(calls)]
        reset_queries()  # the log keeps the last 9,000 queries: a full one would capture nothing
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            call()
            took = time.perf_counter() - start
        seconds.append(took)
        if took > slowest[0]:
            slowest = (took, captured.captured_queries)
        if budget and len(seconds) >= MIN_RUNS and time.perf_counter() - began > budget:
            break
    found = [{"ms": float(q["time"]) * 1000, "sql": q["sql"]} for q in slowest[1]]
    return {**harness.summarize(seconds), "statements": sorted(found, key=lambda s: -s["ms"])}


def baseline(viewer) -> dict:
    """A page of 20 visible annotations by primary key, with document and author."""
    ids = list(
        Annotation.objects.visible_to(viewer).order_by().values_list("pk", flat=True)[:20_000]
    )
    rng = random.Random(6)
    pages = [rng.sample(ids, PER_PAGE) for _ in range(VARIANTS)]

    def fetch(page: list[int]) -> Callable[[], object]:
        return lambda: list(
            Annotation.objects.filter(pk__in=page)
            .select_related("document", "author")
            .values("pk", "body", "document__slug", "document__title", "author__username")
        )

    return time_cycle([fetch(p) for p in pages], n=TIMED, warmup=WARMUP)


def run_search(viewer, query: SearchQuery):
    try:
        return search(viewer, query, page=1, per_page=PER_PAGE)
    except SearchError:
        return None


def explain(sql_text: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql_text)
        return "\n".join(row[0] for row in cursor.fetchall())


# ------------------------------------------------------------------------------------- HTTP


def time_urls(
    base: str, paths: list[str], headers: dict, *, n: int, warmup: int, budget=None
) -> tuple:
    """GET each path in turn over one kept-alive connection; (timings, last body, status)."""
    parts = urlsplit(base)
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    body, status = b"", 0

    def get(path: str) -> Callable[[], None]:
        def call() -> None:
            nonlocal body, status
            client.request("GET", path, headers=headers)
            response = client.getresponse()
            body, status = response.read(), response.status
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")

        return call

    try:
        timing = time_cycle([get(p) for p in paths], n=n, warmup=warmup, budget=budget)
        return timing, body, status
    finally:
        client.close()


def probe(base: str, path: str, headers: dict) -> int:
    parts = urlsplit(base)
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        client.request("GET", path, headers=headers)
        response = client.getresponse()
        response.read()
        return response.status
    finally:
        client.close()


def over_http(viewer, chosen: list[Case]) -> list[dict]:
    rows, bodies = [], {}
    session = harness.session_for(viewer)
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}
    with harness.serve() as base:
        for label, path in (("page /search/", "/search/"), ("API /api/search", "/api/search")):
            status = probe(base, f"{path}?q=garden", headers)
            if status != 200:
                rows.append({"endpoint": label, "missing": status})
                continue
            for case in chosen:
                if case.skip_http:
                    rows.append({"endpoint": label, "case": case.name, "skipped": case.skip_http})
                    continue
                paths = [f"{path}?{urlencode({'q': q.q})}" for q in case.queries]
                # Warmed as in-process: each path once, untimed (the server's connections and
                # their PostgreSQL backends are new, and the first endpoint timed would pay
                # for warming them for the second).
                timing, body, _ = time_urls(
                    base, paths, headers, n=HTTP_TIMED, warmup=len(paths), budget=BUDGET_S / 2
                )
                rows.append(
                    {"endpoint": label, "case": case.name, "timing": timing, "bytes": len(body)}
                )
                bodies.setdefault(len(body), body)
    # The baselines: each last answer's bytes as a static file, from the same server command
    # started again with them in place (DEBUG off, whitenoise lists its files when it starts).
    timed = [row for row in rows if "timing" in row]
    with contextlib.ExitStack() as stack:
        statics = {
            size: stack.enter_context(harness.static_file(f"bench-search-{size}.bin", body))
            for size, body in bodies.items()
        }
        base = stack.enter_context(harness.serve()) if statics else ""
        for row in timed:
            static = statics[row["bytes"]]
            row["static"], _, _ = time_urls(base, [static], {}, n=HTTP_TIMED, warmup=HTTP_WARMUP)
    return rows


# -------------------------------------------------------------------------------------- main


def fmt(s: dict) -> str:
    return f"p50 {s['p50_ms']:.1f} / p95 {s['p95_ms']:.1f} / p99 {s['p99_ms']:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--runs", type=int, default=TIMED, help="timed searches per kind")
    args = parser.parse_args()
    runs = args.runs
    world = generate_for(args.annotations)
    viewer = User.objects.get(username=world.viewer)
    all_cases = cases(world)
    base = baseline(viewer)
    print(f"Baseline (a page of {PER_PAGE} by pk): {fmt(base)}", flush=True)

    results, explains, explained = {}, [], set()
    for case in all_cases:
        pages, began = [], time.perf_counter()
        for q in case.queries:  # one of each: the warm-up, and the number of matches
            pages.append(run_search(viewer, q))
            if time.perf_counter() - began > BUDGET_S / 2:
                break
        totals = [p.total for p in pages if p]
        timing = time_cycle(
            [lambda q=q: run_search(viewer, q) for q in case.queries],
            n=runs,
            warmup=0,
            budget=BUDGET_S,
        )
        slowest = timing.pop("statements")
        results[case.name] = {
            "timing": timing,
            "example": case.queries[0].q,
            "totals_median": sorted(totals)[len(totals) // 2] if totals else 0,
            "capped": sum(1 for p in pages if p and p.capped),
            "refused": sum(1 for p in pages if p is None),
            "statements_ms": [round(s["ms"], 1) for s in slowest],
        }
        print(
            f"{case.name:28} {fmt(timing)}  (e.g. {case.queries[0].q!r}; median total "
            f"{results[case.name]['totals_median']}, statements ms "
            f"{results[case.name]['statements_ms']})",
            flush=True,
        )
        shape = re.sub(r"'[^']*'|\b\d+\b", "?", slowest[0]["sql"]) if slowest else ""
        if timing["p95_ms"] > BAR_MS and slowest and shape not in explained:
            explained.add(shape)  # the same statement slow again: its plan is written once
            top = slowest[0]
            plan = explain(top["sql"])
            explains.append(f"## {case.name}: {top['ms']:.1f} ms\n\n{top['sql']}\n\n{plan}\n")
            results[case.name]["explain_head"] = plan.splitlines()[:12]
        if timing["p95_ms"] > SKIP_HTTP_MS:
            case.skip_http = f"in-process p95 {timing['p95_ms'] / 1000:.1f} s"

    http_rows = [] if args.no_http else over_http(viewer, [c for c in all_cases if c.http])

    rows = [
        {
            "measure": "Database (generate.py)",
            "result": (
                f"{world.counts['annotations']:,} annotations, {world.counts['replies']:,} "
                f"replies, {world.counts['paragraphs']:,} paragraphs, "
                f"{world.counts['database_size']}"
            ),
            "baseline": (
                f"generated in {world.seconds:.0f} s"
                + (" (kept from an earlier run)" if world.cached else "")
            ),
        }
    ]
    for name, r in results.items():
        t = r["timing"]
        rows.append(
            {
                "measure": f"Search in-process: {name} (`{r['example']}`), {t['n']} runs",
                "result": fmt(t),
                "baseline": f"p95 {base['p95_ms']:.2f} ms",
                "ratio": harness.ratio(t["p95_ms"], base["p95_ms"]),
                "bar": f"p95 ≤ {BAR_MS:g} ms",
                "passed": t["p95_ms"] <= BAR_MS,
            }
        )
    for h in http_rows:
        if "missing" in h:
            rows.append(
                {
                    "measure": f"Search over HTTP: {h['endpoint']}",
                    "result": f"not served (HTTP {h['missing']})",
                }
            )
            continue
        if "skipped" in h:
            rows.append(
                {
                    "measure": f"Search over HTTP: {h['endpoint']}, {h['case']}",
                    "result": f"not timed: {h['skipped']}",
                    "bar": f"p95 ≤ {BAR_MS:g} ms",
                    "passed": False,
                }
            )
            continue
        t, s = h["timing"], h["static"]
        rows.append(
            {
                "measure": f"Search over HTTP: {h['endpoint']}, {h['case']}, {t['n']} GETs",
                "result": fmt(t),
                "baseline": f"static {h['bytes']:,} B: p95 {s['p95_ms']:.2f} ms",
                "ratio": harness.ratio(t["p95_ms"], s["p95_ms"]),
                "bar": f"p95 ≤ {BAR_MS:g} ms",
                "passed": t["p95_ms"] <= BAR_MS,
            }
        )
    if explains:
        EXPLAIN_PATH.parent.mkdir(parents=True, exist_ok=True)
        EXPLAIN_PATH.write_text("\n".join(explains))
        print(f"EXPLAIN ANALYZE of the slow kinds: {EXPLAIN_PATH}")
    harness.record(
        "search",
        {
            "title": f"Search ({world.counts['annotations']:,} annotations)",
            "rows": rows,
            "baseline": base,
            "cases": results,
            "http": http_rows,
            "world": {"counts": world.counts, "seconds": world.seconds, "cached": world.cached},
        },
    )
    harness.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
