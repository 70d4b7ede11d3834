"""The "Foundation" performance bar: import a 1 MB book, then read it.

1. Import: document_import() of a ~1 MB plain-text book, end to end (split + store), best and
   median of 3 runs, each a new document. Bar: median <= 2 s. Baseline: COPY of the very same
   rows (and the source text) into plain unindexed tables, i.e. just moving the bytes into
   PostgreSQL; the ratio is what splitting, the ORM, constraints and indexes cost on top.
2. Reading page: the book's page over HTTP from uvicorn (p50/p95 of 30 GETs after warm-up),
   its SQL query count in-process (bar <= 5), against the same bytes served as a static file
   by whitenoise, from the same server command started again with the file in place (with
   DEBUG off, as always here, whitenoise lists its files when it starts).

Run alone with `.venv/bin/python tests/bench/bench_foundation.py`, or all with `make bench`.
"""

from __future__ import annotations

import random
import statistics
import textwrap
import time

import harness  # first: puts the project on sys.path and sets Django up
from django.db import connection, transaction
from django.test import Client

from reader import importing
from reader.layout import render_paragraphs
from reader.models import Document, Paragraph
from reader.services import document_import

BOOK_BYTES = 1024 * 1024
IMPORT_RUNS = 3
IMPORT_BAR_S = 2.0
QUERY_BAR = 5
REQUESTS = 30

# Common words first: picked with Zipf-like weights, so the text reads (and compresses) like
# prose. A few non-ASCII words and punctuation make escaping and NFC do real work.
VOCABULARY = (
    "the of and to a in that it was he her his with as for had you not be she on at by which "
    "but have from this him they all were my are me one their so an said them we who would "
    "been will no when there if more out up into do any your what has man could other than "
    "our some very time upon about may its only now like little then can should made did us "
    "such great before must two these see know over much down after first good men own never "
    "most old shall day where those came come himself way work life without go make well "
    "through being long say might how am too even still here think found hand nothing once "
    "house whole left room light window garden river letter morning evening question answer "
    "reading margin passage chapter argument notebook silver thread patient voice quiet "
    "café naïve façade rôle coöperate déjà-vu—indeed “so” ‘perhaps’ Ærøskøbing"  # noqa: RUF001
).split()
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]


def make_book(target_bytes: int = BOOK_BYTES, seed: int = 1848) -> str:
    """A deterministic plain-text book of about `target_bytes` UTF-8 bytes.

    Paragraphs of 20-200 words (mostly short, as in novels), a third hard-wrapped at 72
    columns, and a plain "CHAPTER n" line every 40 paragraphs.
    """
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    count = 0
    while size < target_bytes:
        if count % 40 == 0:
            parts.append(f"CHAPTER {count // 40 + 1}")
        words = rng.choices(VOCABULARY, WEIGHTS, k=int(rng.triangular(20, 200, 40)))
        sentences, start = [], 0
        while start < len(words):
            end = start + rng.randint(6, 24)
            sentence = " ".join(words[start:end])
            sentences.append(sentence[0].upper() + sentence[1:] + rng.choice(".....?!"))
            start = end
        paragraph = " ".join(sentences)
        if rng.random() < 1 / 3:
            paragraph = textwrap.fill(paragraph, width=72)
        parts.append(paragraph)
        size += len(paragraph.encode()) + 2
        count += 1
    return "\n\n".join(parts) + "\n"


def seconds(values: list[float]) -> dict:
    return {"best_s": min(values), "median_s": statistics.median(values), "runs_s": values}


# ---------------------------------------------------------------------------------- import


def bench_import(book: str) -> tuple[dict, Document]:
    timings, documents = [], []
    for run in range(1, IMPORT_RUNS + 1):
        start = time.perf_counter()
        documents.append(document_import(source=book, fmt="text", title=f"Bench book {run}"))
        timings.append(time.perf_counter() - start)

    # Where the time goes: the split alone (pure Python, no database).
    split = []
    for _ in range(IMPORT_RUNS):
        start = time.perf_counter()
        blocks = importing.split(book, "text")
        split.append(time.perf_counter() - start)

    copy = [copy_baseline(book, blocks) for _ in range(IMPORT_RUNS)]
    return {
        "import": seconds(timings),
        "split_only": seconds(split),
        "copy_baseline": seconds(copy),
        "paragraphs": len(blocks),
        "words": documents[0].word_count,
        "book_bytes": len(book.encode()),
    }, documents[0]


def copy_baseline(book: str, blocks: list[importing.Block]) -> float:
    """Seconds to COPY the same rows into plain tables: no split, no ORM, no indexes.

    Ordinary (logged) tables rather than TEMP ones, so the WAL cost matches the real import.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_copy_paragraph (position integer, key text, kind text,"
            " level smallint, ordered boolean, text text, html text)"
        )
        cursor.execute("CREATE TABLE bench_copy_source (source text)")
    try:
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_copy_source VALUES (%s)", [book])
            # Django's cursor wraps a psycopg 3 cursor: .copy() is psycopg's COPY FROM STDIN.
            with cursor.copy("COPY bench_copy_paragraph FROM STDIN") as copy:
                for position, b in enumerate(blocks):
                    copy.write_row((position, b.key, b.kind, b.level, b.ordered, b.text, b.html))
        return time.perf_counter() - start
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_copy_paragraph, bench_copy_source")


# ---------------------------------------------------------------------------- reading page


def bench_in_process(document: Document) -> dict:
    """Query count through Django's test client, and where the page's time goes."""
    client = Client(SERVER_NAME="localhost")  # a host in the harness's ALLOWED_HOSTS
    url = document.get_absolute_url()
    queries, response = harness.query_count(lambda: client.get(url))
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")

    # The view's two queries, as reader.views.document makes them, then its body HTML.
    def fetch_document() -> Document:
        return Document.objects.select_related("current_revision").get(slug=document.slug)

    def fetch_paragraphs() -> list[Paragraph]:
        return list(
            Paragraph.objects.filter(revision_id=document.current_revision_id).only(
                "position", "key", "kind", "level", "ordered", "html"
            )
        )

    paragraphs = fetch_paragraphs()
    return {
        "queries": queries,
        "whole_view": harness.time_call(lambda: client.get(url), n=10),
        "fetch_document": harness.time_call(fetch_document, n=10),
        "fetch_paragraphs": harness.time_call(fetch_paragraphs, n=10),
        "render_paragraphs": harness.time_call(lambda: render_paragraphs(paragraphs), n=10),
    }


def bench_http(document: Document) -> dict:
    with harness.serve() as base:
        page, body = harness.time_get(base + document.get_absolute_url(), n=REQUESTS)
    # The baseline: the same bytes as a static file (whitenoise), from the same server started
    # again with the file in place (DEBUG off, whitenoise lists its files when it starts).
    with harness.static_file("bench/book.html", body) as path, harness.serve() as base:
        static, static_body = harness.time_get(base + path, n=REQUESTS)
    if static_body != body:
        raise RuntimeError("The static copy of the page came back different.")
    return {"page": page, "static": static, "page_bytes": len(body)}


# ------------------------------------------------------------------------------------ main


def main() -> dict:
    harness.setup()
    book = make_book()
    imported, document = bench_import(book)
    in_process = bench_in_process(document)
    http = bench_http(document)

    median_s, best_s = imported["import"]["median_s"], imported["import"]["best_s"]
    copy_s = imported["copy_baseline"]["median_s"]
    page_ms, static_ms = http["page"]["p50_ms"], http["static"]["p50_ms"]
    kib = http["page_bytes"] / 1024
    rows = [
        {
            "measure": (
                f"Import {imported['book_bytes'] / 2**20:.1f} MB plain text "
                f"({imported['paragraphs']:,} paragraphs), median of {IMPORT_RUNS}"
            ),
            "result": f"{median_s * 1000:.0f} ms (best {best_s * 1000:.0f} ms)",
            "baseline": f"COPY of the same rows: {copy_s * 1000:.0f} ms",
            "ratio": harness.ratio(median_s, copy_s),
            "bar": f"≤ {IMPORT_BAR_S:g} s",
            "passed": median_s <= IMPORT_BAR_S,
        },
        {
            "measure": "… of which splitting (no database)",
            "result": f"{imported['split_only']['median_s'] * 1000:.0f} ms",
        },
        {
            "measure": f"Reading page over HTTP, p50 / p95 of {REQUESTS} ({kib:,.0f} KiB)",
            "result": f"{page_ms:.1f} / {http['page']['p95_ms']:.1f} ms",
            "baseline": (
                f"same bytes as a static file: {static_ms:.1f} / {http['static']['p95_ms']:.1f} ms"
            ),
            "ratio": harness.ratio(page_ms, static_ms),
        },
        {
            "measure": (
                "… in-process p50: document query / paragraphs query / body HTML / whole view"
            ),
            "result": (
                f"{in_process['fetch_document']['p50_ms']:.1f} / "
                f"{in_process['fetch_paragraphs']['p50_ms']:.1f} / "
                f"{in_process['render_paragraphs']['p50_ms']:.1f} / "
                f"{in_process['whole_view']['p50_ms']:.1f} ms"
            ),
        },
        {
            "measure": "SQL queries for the reading page",
            "result": str(in_process["queries"]),
            "bar": f"≤ {QUERY_BAR}",
            "passed": in_process["queries"] <= QUERY_BAR,
        },
    ]
    return harness.record(
        "foundation",
        {
            "title": "Foundation: import and reading page",
            "rows": rows,
            "data": {"import": imported, "reading_page": {**http, "in_process": in_process}},
        },
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        harness.close()
