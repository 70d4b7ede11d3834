"""The "Discussion" performance bar: long threads, a full moderation queue, concurrent repliers.

1. A group note with a thread of 500 replies nested up to four levels (every one shown: the
   template nests five before "continue this thread"), against the same with 5 replies:
   - `/annotations/<id>/` in-process, SQL queries with 5 and 500 replies. Bar: constant.
   - The same page over HTTP from uvicorn, p50/p95 (a group member who wrote some replies).
2. The moderation queue of one group with 10,000 open flags on 5,000 items (1,250 notes and
   3,750 replies; 1-3 flaggers each, 2 on average, so that the queue has 200 pages of 25),
   plus 2,000 resolved flags it must skip, against the same moderator's queue of another group
   with 10 open flags:
   - SQL queries in-process: page 1 and page 200 with 10,000 flags, page 1 with 10. Bar:
     constant.
   - Page 1 over HTTP as the group's moderator, p50/p95. Bar: p95 < 100 ms. Page 200 is
     reported too.
3. Posting a reply through the real endpoint (POST /annotations/<id>/replies/, as the panel's
   htmx sends it), 32 concurrent writers (threads, one kept-alive connection, session and CSRF
   token each), every writer in a thread of its own: p50/p99 and throughput against 1 writer
   in the same run. Then the same 32 writers all in one thread (they queue on its row lock).

Replies and flags are inserted with bulk_create (body_html made by the one renderer). If a bar
is missed, the page is profiled in-process (cProfile) and its slowest queries listed.

Run alone with `.venv/bin/python tests/bench/bench_discussion.py`, or all with
`make bench`. MARGINALIA_BENCH_DB=<name> runs it on a database of its own.
"""

from __future__ import annotations

import cProfile
import http.client
import itertools
import os
import pstats
import random
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import harness  # first: puts the project on sys.path and sets Django up
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.anchoring import CONTEXT
from annotations.models import Annotation, Flag, Group, Membership, Reply
from annotations.rendering import render_markdown
from reader.models import Document, Paragraph
from reader.services import document_import

THREAD_REPLIES = 500
FEW_REPLIES = 5
# Share of a thread's replies at each depth (0 = answering the note): four levels.
DEPTH_SHARES = (0.25, 0.35, 0.25, 0.15)
FLAGGED_NOTES = 1_250
FLAGGED_REPLIES = 3_750
FLAGS_PER_ITEM = (1, 3, 2, 2)  # cycled: 2 on average, 10,000 on 5,000 items
RESOLVED_FLAGS = 2_000
FEW_FLAGS = 10
MEMBERS = 40  # of the big group; the first AUTHORS write, the others flag
AUTHORS = 15
WRITERS = 32
REPLIES_PER_WRITER = 20
SINGLE_WRITER_THREADS = 3  # the lone writer posts REPLIES_PER_WRITER into each of these
SHARED_REPLIES_PER_WRITER = 5
LONG_THREAD_POSTS = 10  # posted by one member into the 500-reply thread, after it is timed
REQUESTS = 30
QUEUE_REQUESTS = 60
QUEUE_BAR_MS = 100.0
PROFILE_RUNS = 5
PROFILE_LINES = 12
QUEUE_PAGE_SIZE = 25
# Posting limits stay on (each reply pays for its counters) but far above what is posted here.
SERVER_ENV = {"RATE_LIMIT_POSTS_PER_MINUTE": "1000000", "RATE_LIMIT_POSTS_PER_HOUR": "1000000"}
Status = Annotation.Status
User = get_user_model()
WORDS = (
    "lantern river margin question answer chapter evidence memory narrator window notebook "
    "silence morning thread reader passage argument careful patient voice garden letter"
).split()
BODIES = (
    "**{a}** or *{b}*? I read it as {c}.",
    "Compare the {a} with the {b} — see [the source](https://example.org/{n}).",
    "- {a}\n- {b}\n- and why {c}?",
    "> {a} {b}\n\nYes, and the {c} too.",
    "Why `{a}` here, and not {b}?",
    "{a}, {b}, {c}: the same thread again.",
)


def body(rng: random.Random, n: int) -> str:
    a, b, c = rng.sample(WORDS, 3)
    return rng.choice(BODIES).format(a=a, b=b, c=c, n=n)


# -------------------------------------------------------------------------------- setup


def make_users(prefix: str, n: int) -> list:
    made = []
    for i in range(n):
        user = User(username=f"{prefix}-{i:02}", email=f"{prefix}-{i:02}@example.org")
        user.set_unusable_password()
        made.append(user)
    return User.objects.bulk_create(made)


def add_members(group: Group, users, role=Membership.Role.MEMBER) -> None:
    Membership.objects.bulk_create([Membership(group=group, user=u, role=role) for u in users])


@dataclass
class World:
    document: Document
    paragraphs: list  # (key, position, text)
    moderator: object
    reader: object  # a member of the big group who reads the long thread
    big: Group  # 10,000 open flags
    small: Group  # 10 open flags, same moderator
    authors: list
    flaggers: list
    writers: list
    writers_group: Group


def make_world() -> World:
    source = "\n\n".join(
        f"Paragraph {n}: " + " ".join(WORDS[(n * 5 + i) % len(WORDS)] for i in range(30)) + "."
        for n in range(40)
    )
    document = document_import(source=source, fmt="markdown", title="A discussed book")
    paragraphs = list(
        Paragraph.objects.filter(revision_id=document.current_revision_id)
        .order_by("position")
        .values_list("key", "position", "text")
    )
    owner, moderator = make_users("owner", 1)[0], make_users("moderator", 1)[0]
    members = make_users("member", MEMBERS)
    writers = make_users("writer", WRITERS)
    big = Group.objects.create(name="Big circle", slug="big-circle", created_by=owner)
    small = Group.objects.create(name="Small circle", slug="small-circle", created_by=owner)
    room = Group.objects.create(name="Writers", slug="writers", created_by=owner)
    for group in (big, small, room):
        add_members(group, [owner], Membership.Role.OWNER)
    for group in (big, small):
        add_members(group, [moderator], Membership.Role.MODERATOR)
    add_members(big, members)
    add_members(small, members[:8])
    add_members(room, writers)
    return World(
        document=document,
        paragraphs=paragraphs,
        moderator=moderator,
        reader=members[0],
        big=big,
        small=small,
        authors=members[:AUTHORS],
        flaggers=members[AUTHORS:],
        writers=writers,
        writers_group=room,
    )


def notes(world: World, group: Group, authors: list, n: int, rng: random.Random) -> list:
    """`n` group notes, each on the first words of a paragraph, bulk-inserted."""
    rows = []
    for i in range(n):
        key, position, text = world.paragraphs[i % len(world.paragraphs)]
        end = 10 + i % 20
        text_body = body(rng, i)
        rows.append(
            Annotation(
                document=world.document,
                revision_id=world.document.current_revision_id,
                author=authors[i % len(authors)],
                start_key=key,
                start_offset=0,
                start_position=position,
                end_key=key,
                end_offset=end,
                end_position=position,
                exact=text[:end],
                prefix="",
                suffix=text[end : end + CONTEXT],
                colour=Annotation.Colour.values[i % 5],
                body=text_body,
                body_html=render_markdown(text_body),
                visibility=Annotation.Visibility.GROUP,
                group=group,
            )
        )
    return Annotation.objects.bulk_create(rows, batch_size=1000)


def thread(note: Annotation, authors: list, size: int, rng: random.Random) -> list[Reply]:
    """`size` replies under `note`, nested by DEPTH_SHARES, inserted one depth at a time (a
    reply's parent has its id before it is written)."""
    counts = [round(size * share) for share in DEPTH_SHARES]
    counts[0] += size - sum(counts)
    made: list[Reply] = []
    parents: list[Reply | None] = [None]
    for depth, count in enumerate(counts):
        rows = []
        for i in range(count):
            text = body(rng, len(made) + i)
            rows.append(
                Reply(
                    annotation=note,
                    parent=rng.choice(parents),
                    author=authors[(len(made) + i) % len(authors)],
                    body=text,
                    body_html=render_markdown(text),
                )
            )
        created = Reply.objects.bulk_create(rows, batch_size=1000)
        made += created
        parents = created or parents
        if depth == 0 and not created:
            raise RuntimeError("A thread needs replies at depth 0.")
    return made


def make_threads(world: World) -> dict:
    rng = random.Random(500)
    long_note, short_note = notes(world, world.big, world.authors[1:], 2, rng)
    # The reader wrote some of the replies: their Edit and Delete links are drawn too.
    authors = [world.reader, *world.authors[1:6]]
    thread(long_note, authors, THREAD_REPLIES, rng)
    thread(short_note, authors, FEW_REPLIES, rng)
    return {"long": long_note, "short": short_note}


def make_flags(world: World) -> dict:
    """10,000 open flags on 5,000 items of the big group (+2,000 resolved), 10 on the small."""
    rng = random.Random(10_000)
    start = time.perf_counter()
    flagged_notes = notes(world, world.big, world.authors, FLAGGED_NOTES, rng)
    carriers = notes(world, world.big, world.authors, FLAGGED_REPLIES // 3, rng)
    replies = []
    for note in carriers:
        for k in range(3):
            text = body(rng, k)
            replies.append(
                Reply(
                    annotation=note,
                    author=world.authors[(note.pk + k) % AUTHORS],
                    body=text,
                    body_html=render_markdown(text),
                )
            )
    replies = Reply.objects.bulk_create(replies, batch_size=2000)
    items = [("annotation", a) for a in flagged_notes] + [("reply", r) for r in replies]
    rng.shuffle(items)
    reasons = Flag.Reason.values
    flags, resolved = [], []
    cycle = itertools.cycle(FLAGS_PER_ITEM)
    for i, (kind, item) in enumerate(items):
        first = (i * 7) % len(world.flaggers)
        people = [world.flaggers[(first + k) % len(world.flaggers)] for k in range(4)]
        for k in range(next(cycle)):
            flags.append(
                Flag(
                    flagger=people[k],
                    group=world.big,
                    reason=reasons[(i + k) % len(reasons)],
                    comment="Please look at this." if (i + k) % 5 == 0 else "",
                    **{kind: item},
                )
            )
        if i < RESOLVED_FLAGS:  # an earlier flag, already dealt with
            resolved.append(
                Flag(
                    flagger=people[3],
                    group=world.big,
                    reason=Flag.Reason.SPAM,
                    resolved_at=timezone.now(),
                    **{kind: item},
                )
            )
    Flag.objects.bulk_create(flags + resolved, batch_size=2000)
    # The small queue holds both kinds too (3 notes, 2 replies), so that it reads the same
    # tables as the big one: 2 flags on each.
    small_notes = notes(world, world.small, world.authors[:4], 4, rng)
    small_replies = Reply.objects.bulk_create(
        Reply(
            annotation=small_notes[3], author=world.authors[k], body="Hm.", body_html="<p>Hm.</p>"
        )
        for k in range(2)
    )
    small_items = [("annotation", n) for n in small_notes[:3]] + [
        ("reply", r) for r in small_replies
    ]
    Flag.objects.bulk_create(
        Flag(flagger=world.flaggers[k], group=world.small, reason=reason, **{kind: item})
        for kind, item in small_items
        for k, reason in enumerate((Flag.Reason.SPAM, Flag.Reason.OFF_TOPIC))
    )
    table = Flag._meta.db_table
    with connection.cursor() as cursor:
        # Flagged at different moments, not in id order: the queue sorts by each item's first.
        cursor.execute(
            f"UPDATE {table} SET created_at = "  # noqa: S608 - our table name, no input
            "now() - ((id * 7919) % 86400) * interval '1 second'"
        )
        for model in (Flag, Reply, Annotation):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    open_flags = Flag.objects.filter(resolved_at__isnull=True)
    counted = {
        "open_big": open_flags.filter(group=world.big).count(),
        "open_small": open_flags.filter(group=world.small).count(),
        "resolved_big": Flag.objects.filter(group=world.big, resolved_at__isnull=False).count(),
        "items_big": len(items),
    }
    expected = {
        "open_big": FLAGGED_NOTES * 2 + FLAGGED_REPLIES * 2,
        "open_small": FEW_FLAGS,
        "resolved_big": RESOLVED_FLAGS,
        "items_big": FLAGGED_NOTES + FLAGGED_REPLIES,
    }
    if counted != expected:
        raise RuntimeError(f"Made {counted}, meant {expected}.")
    return {**counted, "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------------- in-process


def client_for(user) -> Client:
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    return client


def get_ok(client: Client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return response


def queries(client: Client, url: str) -> tuple[int, list[dict], bytes]:
    """SQL queries of one warm GET, in-process: (count, the queries, the body)."""
    get_ok(client, url)  # warm: the first request of a session may differ
    with CaptureQueriesContext(connection) as captured:
        response = get_ok(client, url)
    return len(captured.captured_queries), captured.captured_queries, response.content


def check_thread_page(html: bytes, replies: int) -> None:
    shown = len(re.findall(rb'<li class="reply depth-\d', html))
    if shown != replies or b"Continue this thread" in html:
        raise RuntimeError(f"The thread page shows {shown} replies, not all {replies}.")


def check_queue_page(html: bytes, number: int, pages: int, rows: int) -> None:
    items = html.count(b'<li class="queue-item">')
    if items != rows:
        raise RuntimeError(f"Queue page {number} lists {items} items, not {rows}.")
    if pages > 1 and f"Page {number} of {pages}".encode() not in html:
        raise RuntimeError(f"Queue page {number} is not page {number} of {pages}.")


def profile(client: Client, url: str) -> list[str]:
    """The view's top functions by own time (cProfile, per request, mean of a few)."""
    get_ok(client, url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(PROFILE_RUNS):
        get_ok(client, url)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, function) -> (cc, calls, tt, ct, callers)
    top = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:PROFILE_LINES]
    lines = [f"{'own ms':>8} {'cum ms':>8} {'calls':>9}  function (per request)"]
    for (filename, line, function), (_, calls, own, cumulative, _) in top:
        lines.append(
            f"{own * 1000 / PROFILE_RUNS:8.1f} {cumulative * 1000 / PROFILE_RUNS:8.1f} "
            f"{calls // PROFILE_RUNS:9,}  {_short_path(filename)}:{line}({function})"
        )
    return lines


def slowest_queries(captured: list[dict], n: int = 3) -> list[str]:
    top = sorted(captured, key=lambda q: float(q["time"]), reverse=True)[:n]
    return [f"{float(q['time']) * 1000:7.1f} ms  {q['sql'][:400]}" for q in top]


def _short_path(filename: str) -> str:
    path = Path(filename)
    for root in (harness.BASE_DIR, *(p for p in path.parents if p.name == "site-packages")):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return filename


# --------------------------------------------------------------------------------- writers


class Writer:
    """One logged-in member posting replies over one kept-alive connection, as htmx does."""

    NEW_REPLY = re.compile(rb'<li class="reply depth-(\d+)[^"]* is-new" id="reply-(\d+)"')

    def __init__(self, base: str, session: str):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies = {settings.SESSION_COOKIE_NAME: session}
        self.csrf = ""
        self.latencies: list[float] = []
        self.connection: http.client.HTTPConnection | None = None

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def fetch_token(self, note_id: int) -> None:
        """Open a note's page like a browser: the csrftoken cookie and the form's token."""
        page = f"/annotations/{note_id}/"
        self.csrf = harness.csrf_from_page(self.host, self.port, page, self.cookies)

    def connect(self) -> None:
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=300)
        self.connection.connect()

    def close(self) -> None:
        if self.connection:
            self.connection.close()
            self.connection = None

    def post_thread(self, note_id: int, count: int, rng: random.Random, *, timed=True) -> None:
        """Post `count` replies into one thread: about half answer the previous reply (down
        to depth 3), the others answer the note."""
        parent = None
        for n in range(count):
            reply_to = parent if parent and rng.random() < 0.5 else None
            depth, parent = self.post(note_id, body(rng, n), reply_to, timed=timed)
            if depth >= 3:
                parent = None

    def post(self, note_id: int, text: str, parent: int | None, *, timed=True) -> tuple:
        path = f"/annotations/{note_id}/replies/"
        fields = {"body": text, "parent": parent or "", "csrfmiddlewaretoken": self.csrf}
        headers = {
            "Cookie": self._cookie_header(),
            "Content-Type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "HX-Target": "panel",
            "HX-Current-URL": f"http://{self.host}:{self.port}/annotations/{note_id}/",
        }
        start = time.perf_counter()
        self.connection.request("POST", path, body=urlencode(fields), headers=headers)
        response = self.connection.getresponse()
        html = response.read()
        elapsed = time.perf_counter() - start
        new = self.NEW_REPLY.search(html)
        if response.status != 200 or b"Reply posted." not in html or not new:
            raise RuntimeError(f"POST {path} answered {response.status}: {html[:300]!r}")
        if timed:
            self.latencies.append(elapsed)
        return int(new.group(1)), int(new.group(2))


def run_writers(writers: list[Writer], jobs: list[list[tuple[int, int]]], seed: int) -> dict:
    """Every writer works through its (note, replies) jobs, all starting together."""
    for writer in writers:
        writer.latencies = []
        writer.connect()
    barrier = threading.Barrier(len(writers) + 1)
    failures: list[BaseException] = []

    def work(index: int) -> None:
        writer, rng = writers[index], random.Random(seed + index)
        try:
            barrier.wait()
            for note_id, count in jobs[index]:
                writer.post_thread(note_id, count, rng)
        except BaseException as error:  # reported below: a thread cannot raise to main
            failures.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    for writer in writers:
        writer.close()
    if failures:
        raise RuntimeError(f"{len(failures)} writer(s) failed") from failures[0]
    latencies = [s for writer in writers for s in writer.latencies]
    return {
        "writers": len(writers),
        "replies": len(latencies),
        "wall_s": wall,
        "replies_per_s": len(latencies) / wall,
        **harness.summarize(latencies),
    }


def bench_writes(base: str, world: World, long_note: Annotation) -> dict:
    """One writer alone, then 32 at once each in a thread of their own, then 32 in one; and
    one writer answering the 500-reply thread (the answer to a post is the whole panel)."""
    owner = world.writers_group.created_by
    rng = random.Random(32)
    fresh = notes(world, world.writers_group, [owner], 2 + SINGLE_WRITER_THREADS + WRITERS, rng)
    warm, shared, alone, own = fresh[0], fresh[1], fresh[2:5], fresh[5:]
    writers = [Writer(base, harness.session_for(user)) for user in world.writers]
    for writer in writers:
        writer.fetch_token(warm.pk)

    # Warm-up (untimed): caches, the connection pool, each writer's session.
    solo = writers[0]
    solo.connect()
    solo.post_thread(warm.pk, 5, rng, timed=False)
    solo.close()
    single = run_writers([solo], [[(n.pk, REPLIES_PER_WRITER) for n in alone]], seed=100)
    concurrent = run_writers(
        writers, [[(own[i].pk, REPLIES_PER_WRITER)] for i in range(WRITERS)], seed=200
    )
    member = Writer(base, harness.session_for(world.reader))
    member.fetch_token(long_note.pk)
    long_thread = run_writers([member], [[(long_note.pk, LONG_THREAD_POSTS)]], seed=400)
    one_thread = run_writers(
        writers, [[(shared.pk, SHARED_REPLIES_PER_WRITER)] for _ in range(WRITERS)], seed=300
    )
    posted = Reply.objects.filter(annotation__in=fresh).count()
    expected = 5 + (SINGLE_WRITER_THREADS + WRITERS) * REPLIES_PER_WRITER
    expected += WRITERS * SHARED_REPLIES_PER_WRITER
    if posted != expected or long_thread["replies"] != LONG_THREAD_POSTS:
        raise RuntimeError(f"The writers stored {posted} replies, not {expected}.")
    depth = Reply.objects.filter(annotation__in=own, parent__parent__parent__isnull=False)
    return {
        "single": single,
        "concurrent": concurrent,
        "one_thread": one_thread,
        "long_thread": long_thread,
        "nested_depth3_replies": depth.count(),
    }


# ------------------------------------------------------------------------------------ main


def main() -> dict:
    harness.setup()
    load_start = os.getloadavg()[0]
    setup_start = time.perf_counter()
    world = make_world()
    threads = make_threads(world)
    flags = make_flags(world)
    setup_s = time.perf_counter() - setup_start

    # In-process: SQL queries -----------------------------------------------------------------
    reader, moderator = client_for(world.reader), client_for(world.moderator)
    long_url, short_url = (f"/annotations/{threads[k].pk}/" for k in ("long", "short"))
    thread_queries = {}
    for name, url, size in (("5", short_url, FEW_REPLIES), ("500", long_url, THREAD_REPLIES)):
        count, captured, html = queries(reader, url)
        check_thread_page(html, size)
        thread_queries[name] = {"count": count, "queries": captured}
    big_url = f"/groups/{world.big.slug}/moderation/"
    small_url = f"/groups/{world.small.slug}/moderation/"
    pages = flags["items_big"] // QUEUE_PAGE_SIZE
    queue_queries = {}
    for name, url, number, of, rows in (
        ("10 flags, page 1", small_url, 1, 1, FEW_FLAGS // 2),
        ("10,000 flags, page 1", big_url, 1, pages, QUEUE_PAGE_SIZE),
        (f"10,000 flags, page {pages}", f"{big_url}?page={pages}", pages, pages, QUEUE_PAGE_SIZE),
    ):
        count, captured, html = queries(moderator, url)
        check_queue_page(html, number, of, rows)
        queue_queries[name] = {"count": count, "queries": captured}

    # Over HTTP ---------------------------------------------------------------------------------
    cookie = lambda user: {"Cookie": f"{settings.SESSION_COOKIE_NAME}={harness.session_for(user)}"}  # noqa: E731
    as_reader, as_moderator = cookie(world.reader), cookie(world.moderator)
    with harness.serve(env=SERVER_ENV) as base:
        short_page, short_html = harness.time_get(base + short_url, n=REQUESTS, headers=as_reader)
        long_page, long_html = harness.time_get(base + long_url, n=REQUESTS, headers=as_reader)
        check_thread_page(long_html, THREAD_REPLIES)
        small_queue, _ = harness.time_get(base + small_url, n=QUEUE_REQUESTS, headers=as_moderator)
        big_queue, big_html = harness.time_get(
            base + big_url, n=QUEUE_REQUESTS, headers=as_moderator
        )
        check_queue_page(big_html, 1, pages, QUEUE_PAGE_SIZE)
        last_queue, last_html = harness.time_get(
            f"{base}{big_url}?page={pages}", n=QUEUE_REQUESTS, headers=as_moderator
        )
        check_queue_page(last_html, pages, pages, QUEUE_PAGE_SIZE)
        writes = bench_writes(base, world, threads["long"])

    # Bars --------------------------------------------------------------------------------------
    thread_counts = [v["count"] for v in thread_queries.values()]
    queue_counts = [v["count"] for v in queue_queries.values()]
    thread_ok = len(set(thread_counts)) == 1
    queue_queries_ok = len(set(queue_counts)) == 1
    queue_fast = big_queue["p95_ms"] < QUEUE_BAR_MS
    single, concurrent, shared = writes["single"], writes["concurrent"], writes["one_thread"]
    long_posts = writes["long_thread"]
    rows = [
        {
            "measure": (
                f"Setup: a {THREAD_REPLIES}-reply thread (4 levels); {flags['open_big']:,} open "
                f"flags on {flags['items_big']:,} notes and replies of one group "
                f"(+{flags['resolved_big']:,} resolved), {FEW_FLAGS} on another"
            ),
            "result": f"{setup_s:.1f} s (bulk_create; flags {flags['seconds']:.1f} s)",
        },
        {
            "measure": "SQL queries, note page `/annotations/<id>/`: 5 / 500 replies",
            "result": " / ".join(str(c) for c in thread_counts),
            "bar": "constant",
            "passed": thread_ok,
        },
        {
            "measure": (
                f"Note page with {THREAD_REPLIES} replies over HTTP (uvicorn), "
                f"p50 / p95 of {REQUESTS}"
            ),
            "result": f"{long_page['p50_ms']:.0f} / {long_page['p95_ms']:.0f} ms",
            "baseline": (
                f"{FEW_REPLIES} replies: {short_page['p50_ms']:.0f} / {short_page['p95_ms']:.0f} ms"
            ),
            "ratio": (
                f"{harness.ratio(long_page['p50_ms'], short_page['p50_ms'])} "
                f"(p95 {harness.ratio(long_page['p95_ms'], short_page['p95_ms'])})"
            ),
        },
        {
            "measure": "… HTML size of the note page",
            "result": f"{len(long_html) / 1024:,.0f} KiB",
            "baseline": f"{len(short_html) / 1024:,.0f} KiB",
            "ratio": harness.ratio(len(long_html), len(short_html)),
        },
        {
            "measure": (
                "SQL queries, moderation queue: 10 flags p. 1 / 10,000 flags p. 1 / "
                f"10,000 flags p. {pages}"
            ),
            "result": " / ".join(str(c) for c in queue_counts),
            "bar": "constant",
            "passed": queue_queries_ok,
        },
        {
            "measure": (
                f"Moderation queue page 1, {flags['open_big']:,} open flags, as the group's "
                f"moderator over HTTP, p50 / p95 of {QUEUE_REQUESTS}"
            ),
            "result": f"{big_queue['p50_ms']:.0f} / {big_queue['p95_ms']:.0f} ms",
            "baseline": (
                f"{FEW_FLAGS} flags: {small_queue['p50_ms']:.0f} / {small_queue['p95_ms']:.0f} ms"
            ),
            "ratio": (
                f"{harness.ratio(big_queue['p50_ms'], small_queue['p50_ms'])} "
                f"(p95 {harness.ratio(big_queue['p95_ms'], small_queue['p95_ms'])})"
            ),
            "bar": f"p95 < {QUEUE_BAR_MS:g} ms",
            "passed": queue_fast,
        },
        {
            "measure": f"… page {pages} of {pages}, p50 / p95",
            "result": f"{last_queue['p50_ms']:.0f} / {last_queue['p95_ms']:.0f} ms",
            "baseline": f"page 1: {big_queue['p50_ms']:.0f} / {big_queue['p95_ms']:.0f} ms",
            "ratio": harness.ratio(last_queue["p50_ms"], big_queue["p50_ms"]),
        },
        {
            "measure": (
                f"Reply post, as htmx sends it, {WRITERS} concurrent writers × "  # noqa: RUF001
                f"{REPLIES_PER_WRITER}, each in a thread of their own: p50 / p99"
            ),
            "result": f"{concurrent['p50_ms']:.0f} / {concurrent['p99_ms']:.0f} ms",
            "baseline": (
                f"1 writer × {single['replies']}: "  # noqa: RUF001
                f"{single['p50_ms']:.0f} / {single['p99_ms']:.0f} ms"
            ),
            "ratio": (
                f"{harness.ratio(concurrent['p50_ms'], single['p50_ms'])} "
                f"(p99 {harness.ratio(concurrent['p99_ms'], single['p99_ms'])})"
            ),
        },
        {
            "measure": "… throughput",
            "result": f"{concurrent['replies_per_s']:.1f} replies/s",
            "baseline": f"1 writer: {single['replies_per_s']:.1f} replies/s",
            "ratio": harness.ratio(concurrent["replies_per_s"], single["replies_per_s"]),
        },
        {
            "measure": (
                f"… the {WRITERS} writers × {SHARED_REPLIES_PER_WRITER} all in one thread "  # noqa: RUF001
                "(its row lock), p50 / p99"
            ),
            "result": f"{shared['p50_ms']:.0f} / {shared['p99_ms']:.0f} ms",
            "baseline": f"1 writer: {single['p50_ms']:.0f} / {single['p99_ms']:.0f} ms",
            "ratio": (
                f"{harness.ratio(shared['p50_ms'], single['p50_ms'])} "
                f"(p99 {harness.ratio(shared['p99_ms'], single['p99_ms'])})"
            ),
        },
        {
            "measure": (
                f"… 1 writer × {LONG_THREAD_POSTS} into the {THREAD_REPLIES}-reply thread "  # noqa: RUF001
                "(the response is the whole panel), p50 / p99"
            ),
            "result": f"{long_posts['p50_ms']:.0f} / {long_posts['p99_ms']:.0f} ms",
            "baseline": f"threads of ≤ 20: {single['p50_ms']:.0f} / {single['p99_ms']:.0f} ms",
            "ratio": harness.ratio(long_posts["p50_ms"], single["p50_ms"]),
        },
    ]
    missed = [row["measure"] for row in rows if row.get("passed") is False]
    profiles: dict = {}
    if not thread_ok:
        profiles["thread_queries_500"] = [q["sql"][:300] for q in thread_queries["500"]["queries"]]
    if not queue_queries_ok or not queue_fast:
        profiles["queue_page_1"] = profile(moderator, big_url)
        profiles["queue_slowest_queries"] = slowest_queries(
            queue_queries["10,000 flags, page 1"]["queries"]
        )
    load = {"start": load_start, "end": os.getloadavg()[0], "cores": os.cpu_count()}
    result = harness.record(
        "discussion",
        {
            "title": "Discussion: a 500-reply thread, a 10,000-flag queue, concurrent repliers",
            "rows": rows,
            "data": {
                "setup": {**flags, "total_s": setup_s},
                "thread_queries": {k: v["count"] for k, v in thread_queries.items()},
                "queue_queries": {k: v["count"] for k, v in queue_queries.items()},
                "http": {
                    "thread_500": long_page,
                    "thread_5": short_page,
                    "queue_page_1": big_queue,
                    "queue_page_last": last_queue,
                    "queue_10_flags": small_queue,
                    "thread_bytes": {"500": len(long_html), "5": len(short_html)},
                },
                "writes": writes,
                "profiles": profiles,
                "server": "uvicorn, one worker process (reader.asgi), DEBUG off",
                "server_env": SERVER_ENV,
                "load_average": load,
            },
        },
    )
    print(
        "Writers: one uvicorn worker process; each request's sync view runs in a thread of its "
        f"own, at most {settings.DATABASES['default']['OPTIONS']['pool']['max_size']} database "
        "connections (the pool's max_size). Posting limits were on but raised out of reach "
        f"({', '.join(f'{k}={v}' for k, v in SERVER_ENV.items())})."
    )
    print(
        f"Load average (1 min) at start / end: {load['start']:.1f} / {load['end']:.1f} "
        f"on {load['cores']} cores."
    )
    if missed:
        print("\nBar missed: " + "; ".join(missed))
        for name, lines in profiles.items():
            print(f"\n{name} (cProfile inflates times; the order is what matters):")
            print("\n".join(lines))
    return result


if __name__ == "__main__":
    try:
        main()
    finally:
        harness.close()
