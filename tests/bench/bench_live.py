"""The "Live" performance bar: 200 readers with one document open, and notes arriving.

200 Server-Sent Event streams (`/documents/<slug>/live/`) are held open against one uvicorn
process, each logged in as a reader of its own (120 members of a study group, 80 others), by
one asyncio loop in a thread of this process; every `change` event's arrival is timed there.

0. As shipped, how many streams one process holds: opened 10 at a time until one gets no
   answer (each is given 15 s; the database pool waits 10 s for a connection), then the
   reading page is asked for. Bar: all 200 (each stream gives its database connection back
   between steps, so the pool never runs dry).
1. Latency, commit to delivery: 30 notes, one every 200 ms, created in this process through
   annotations.services.annotation_create (which publishes the event in its transaction),
   cycling public / group / private, by 10 members who each hold a stream. The time is taken
   right after the transaction commits; each stream the note should reach (public: all 200;
   group: the 120 members; private: its author only) records when the event arrived.
   p50 / p95 / max over every expected delivery. Bar: p95 <= 250 ms, none missing.
   Then the same with two uvicorn processes: streams on the first, the notes POSTed (as the
   page's htmx does) to the second (as shipped: writes hold no stream), timed from the POST
   being sent (an upper bound: it includes the request's own time; the commit is inside it).
2. Nobody hears of what they may not see: every event every stream received over the whole
   run (including the writers' private and group notes) is checked against the note's
   audience.
3. Memory per open stream: the server process's VmRSS (/proc/<pid>/status) with 0 and 200
   streams open, divided by 200; its threads and database connections too.
4. Note creation throughput through the real endpoint (POST /documents/<slug>/annotations/),
   4 writers, without and with the 200 streams open (every note fanning out to them), same
   server process, same run: the ratio.
5. The per-person limit on open streams (LIVE_MAX_STREAMS_PER_PERSON, default 8, left as it
   is: every reader here is a different person): the 9th stream of one person answers 429.

Run alone with `.venv/bin/python tests/bench/bench_live.py`, or all with `make bench`.
MARGINALIA_BENCH_DB=<name> runs it on a database of its own.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import harness  # first: puts the project on sys.path and sets Django up
from bench_annotations import Writer, run_writers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings

from annotations.anchoring import Target
from annotations.models import Annotation, Group, Membership
from annotations.notes import services as note_services
from reader.models import Document, Paragraph
from reader.services import document_import

READERS = 200
MEMBERS = 120  # of the readers, in the group
AUTHORS = 10  # members (with a stream each) who write the timed notes
NOTES = 30
INTERVAL_S = 0.2
AUDIENCES = ("public", "group", "private")
WRITERS = 4
NOTES_PER_WRITER = 30
WARM_NOTES = 3
OPEN_BATCH = 20
PROBE_BATCH = 10
PROBE_WAIT_S = 15.0  # the pool waits 10 s for a connection before it gives up
PARAGRAPHS = 60
LATENCY_BAR_MS = 250.0
DELIVERY_WAIT_S = 15.0
# Posting limits stay on (each note pays for its counters) but far above what is posted here.
SERVER_ENV = {"RATE_LIMIT_POSTS_PER_MINUTE": "1000000", "RATE_LIMIT_POSTS_PER_HOUR": "1000000"}
IN_PROCESS_LIMITS = {"post": [(60, 1_000_000)], "flag": [(60, 1_000_000)]}
User = get_user_model()
Visibility = Annotation.Visibility

WORDS = (
    "reading margin quiet river lantern question answer passage evidence chapter argument "
    "notebook window garden silver morning thread careful patient voice"
).split()


# ----------------------------------------------------------------------------------- data


@dataclass
class World:
    document: Document
    group: Group
    readers: list  # READERS users; the first MEMBERS are in the group
    authors: list  # the first AUTHORS readers
    writers: list  # WRITERS more members, without streams
    texts: list[tuple[str, str]]  # (key, text) of the document's paragraphs


def make_world() -> World:
    source = "\n\n".join(
        f"Paragraph {n}: " + " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(40)) + "."
        for n in range(PARAGRAPHS)
    )
    document = document_import(source=source, fmt="markdown", title="Read together")

    def users(prefix: str, n: int) -> list:
        made = []
        for i in range(n):
            user = User(username=f"{prefix}-{i:03}", email=f"{prefix}-{i:03}@example.org")
            user.set_unusable_password()
            made.append(user)
        return User.objects.bulk_create(made)

    readers = users("live-reader", READERS)
    writers = users("live-writer", WRITERS)
    group = Group.objects.create(name="Live circle", slug="live-circle", created_by=readers[0])
    Membership.objects.bulk_create(
        [Membership(group=group, user=readers[0], role=Membership.Role.OWNER)]
        + [
            Membership(group=group, user=u, role=Membership.Role.MEMBER)
            for u in [*readers[1:MEMBERS], *writers]
        ]
    )
    texts = list(
        Paragraph.objects.filter(revision_id=document.current_revision_id)
        .order_by("position")
        .values_list("key", "text")
    )
    return World(document, group, readers, readers[:AUTHORS], writers, texts)


def random_target(texts: list[tuple[str, str]], rng: random.Random) -> Target:
    """A few words inside one paragraph (headings included)."""
    key, text = rng.choice(texts)
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    i = rng.randrange(len(words))
    j = min(len(words) - 1, i + rng.randint(0, 6))
    start, end = words[i][0], words[j][1]
    return Target(key, start, key, end, text[start:end])


# -------------------------------------------------------------------------------- streams


@dataclass
class Reader:
    """One open page's stream, as seen from the network."""

    user_id: int
    session: str
    member: bool
    status: int | None = None
    arrivals: dict = field(default_factory=dict)  # (annotation id, change) -> perf_counter
    changes: list = field(default_factory=list)  # every change event's data
    presence: int = 0
    resyncs: int = 0  # the server's LISTEN connection dropped (events may have been missed)
    bytes: int = 0
    ended: bool = False
    error: str = ""
    ready: asyncio.Event | None = None

    @property
    def open(self) -> bool:
        return self.status == 200 and not self.error


class Streams:
    """SSE streams held open by one asyncio event loop, in a thread of its own."""

    def __init__(self, base: str, path: str, *, answer_timeout: float = 60.0):
        parts = urlsplit(base)
        self.answer_timeout = answer_timeout
        self.host, self.port, self.path = parts.hostname, parts.port, path
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.tasks: list[asyncio.Task] = []
        self.sockets: list[asyncio.StreamWriter] = []

    def _run(self, coroutine, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def open(self, readers: list[Reader], *, batch: int = OPEN_BATCH) -> float:
        """Open every reader's stream, `batch` at a time, each until its first presence
        summary (by then it is subscribed). Returns the seconds it took."""
        start = time.perf_counter()
        for i in range(0, len(readers), batch):
            self._run(self._open_batch(readers[i : i + batch]), timeout=120)
        return time.perf_counter() - start

    async def _open_batch(self, readers: list[Reader]) -> None:
        await asyncio.gather(*(self._open_one(reader) for reader in readers))

    async def _open_one(self, reader: Reader) -> None:
        reader.ready = asyncio.Event()
        stream, sock = await asyncio.open_connection(self.host, self.port)
        self.sockets.append(sock)
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Accept: text/event-stream\r\nCookie: {settings.SESSION_COOKIE_NAME}="
            f"{reader.session}\r\n\r\n"
        )
        sock.write(request.encode())
        await sock.drain()
        try:
            status_line = await asyncio.wait_for(stream.readline(), self.answer_timeout)
        except TimeoutError:
            reader.error = f"no answer within {self.answer_timeout:.0f} s"
            sock.close()
            return
        reader.status = int(status_line.split()[1])
        headers = {}
        while (line := await stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        if reader.status != 200:
            sock.close()
            return
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        self.tasks.append(asyncio.create_task(self._read(reader, stream, chunked)))
        try:
            await asyncio.wait_for(reader.ready.wait(), timeout=60)
        except TimeoutError:
            reader.error = "no presence summary within 60 s"
        if reader.ended and not reader.presence:
            reader.error = "closed before its first presence summary"

    async def _read(self, reader: Reader, stream: asyncio.StreamReader, chunked: bool) -> None:
        pending = ""
        try:
            while True:
                if chunked:
                    size_line = await stream.readline()
                    if not size_line:
                        return
                    size = int(size_line.split(b";")[0], 16)
                    if size == 0:
                        return
                    data = (await stream.readexactly(size + 2))[:-2]
                else:
                    data = await stream.read(65536)
                    if not data:
                        return
                now = time.perf_counter()
                reader.bytes += len(data)
                pending += data.decode()
                while "\n\n" in pending:
                    block, pending = pending.split("\n\n", 1)
                    self._event(reader, block, now)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            reader.ended = True
            reader.ready.set()  # nothing more will come: an opener waiting for it goes on

    @staticmethod
    def _event(reader: Reader, block: str, now: float) -> None:
        name, data = "message", ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        if name == "change":
            event = json.loads(data)
            reader.changes.append(event)
            reader.arrivals.setdefault((event["annotation"], event["change"]), now)
        elif name == "presence":
            reader.presence = json.loads(data)["count"]
            reader.ready.set()
        elif name == "resync":
            reader.resyncs += 1

    def close(self) -> None:
        async def shut() -> None:
            for sock in self.sockets:
                sock.close()
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        try:
            self._run(shut(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


def wait_for_deliveries(readers: list[Reader], expected: dict, timeout: float) -> None:
    """Until every (reader index -> set of (annotation, change)) expected has arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(keys <= readers[i].arrivals.keys() for i, keys in expected.items()):
            return
        time.sleep(0.05)


# ------------------------------------------------------------------------- the server


def database_connections() -> int:
    """Connections to the bench database other than this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def settle(pid: int, seconds: float = 2.0) -> dict:
    time.sleep(seconds)
    return {**harness.proc_status(pid), "db_connections": database_connections()}


# ------------------------------------------------------------------------------- writers


class NoteWriter(Writer):
    """A member posting notes with a chosen audience over one kept-alive connection."""

    def post_note(self, target: Target, visibility: str, n: int) -> tuple[float, float, int]:
        fields = {
            "start_key": target.start_key,
            "start_offset": target.start_offset,
            "end_key": target.end_key,
            "end_offset": target.end_offset,
            "exact": target.exact,
            "colour": "yellow",
            "body": f"Timed note {n}, for {visibility}.",
            "tags": "",
            "visibility": visibility,
            "group": self.group_id if visibility == Visibility.GROUP else "",
            "layer": "all",
            "csrfmiddlewaretoken": self.csrf,
        }
        headers = {
            "Cookie": self._cookie_header(),
            "Content-Type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "HX-Target": "panel",
        }
        sent = time.perf_counter()
        self.connection.request("POST", self.create, body=urlencode(fields), headers=headers)
        response = self.connection.getresponse()
        body = response.read()
        answered = time.perf_counter()
        if response.status != 200 or b"Note saved" not in body:
            raise RuntimeError(f"POST {self.create} answered {response.status}: {body[:300]!r}")
        match = re.search(rb'class="note is-new[^"]*" id="note-(\d+)"', body)
        if not match:
            raise RuntimeError("The answer did not show the new note.")
        return sent, answered, int(match.group(1))


def throughput(writers: list[Writer], texts, seed: int) -> dict:
    rng = random.Random(seed)
    for writer in writers:
        writer.latencies = []
    targets = [[random_target(texts, rng) for _ in range(NOTES_PER_WRITER)] for _ in writers]
    return run_writers(writers, targets, seed=seed)


# ------------------------------------------------------------------------------- latency


def audience(visibility: str, author_id: int, reader: Reader) -> bool:
    if visibility == Visibility.PUBLIC:
        return True
    if visibility == Visibility.GROUP:
        return reader.member
    return reader.user_id == author_id


def latency_in_process(world: World, readers: list[Reader], seed: int) -> dict:
    """NOTES notes through the service, one every INTERVAL_S; commit -> arrival per stream."""
    rng = random.Random(seed)
    plan = []
    start = time.perf_counter()
    with override_settings(RATE_LIMITS=IN_PROCESS_LIMITS):
        for n in range(NOTES):
            time.sleep(max(0.0, start + n * INTERVAL_S - time.perf_counter()))
            author = world.authors[n % AUTHORS]
            visibility = AUDIENCES[n % len(AUDIENCES)]
            note = note_services.annotation_create(
                author=author,
                document=world.document,
                target=random_target(world.texts, rng),
                body=f"Timed note {n}, for {visibility}.",
                visibility=visibility,
                group=world.group if visibility == Visibility.GROUP else None,
            )
            committed = time.perf_counter()  # annotation_create is atomic: committed on return
            plan.append((note.pk, visibility, author.pk, committed))
    return deliveries(readers, plan)


def latency_other_process(
    base2: str, world: World, readers: list[Reader], sessions: dict, seed: int
) -> dict:
    """The same notes POSTed to a second process; timed from the POST being sent."""
    rng = random.Random(seed)
    writers = {}
    for author in world.authors:
        writer = NoteWriter(base2, world.document, sessions[author.pk], world.group.pk)
        writer.fetch_token()
        writer.connect()
        writers[author.pk] = writer
    plan, server_ms = [], []
    try:
        start = time.perf_counter()
        for n in range(NOTES):
            time.sleep(max(0.0, start + n * INTERVAL_S - time.perf_counter()))
            author = world.authors[n % AUTHORS]
            visibility = AUDIENCES[n % len(AUDIENCES)]
            sent, answered, pk = writers[author.pk].post_note(
                random_target(world.texts, rng), visibility, n
            )
            plan.append((pk, visibility, author.pk, sent))
            server_ms.append((answered - sent) * 1000)
    finally:
        for writer in writers.values():
            writer.close()
    result = deliveries(readers, plan)
    result["post_p50_ms"] = sorted(server_ms)[len(server_ms) // 2]
    return result


def deliveries(readers: list[Reader], plan: list[tuple]) -> dict:
    expected = {}
    for i, reader in enumerate(readers):
        keys = {
            (pk, "created")
            for pk, visibility, author_id, _ in plan
            if audience(visibility, author_id, reader)
        }
        if keys:
            expected[i] = keys
    wait_for_deliveries(readers, expected, DELIVERY_WAIT_S)
    latencies, missing = [], 0
    committed = {pk: at for pk, _, _, at in plan}
    for i, keys in expected.items():
        for key in keys:
            arrived = readers[i].arrivals.get(key)
            if arrived is None:
                missing += 1
            else:
                latencies.append(arrived - committed[key[0]])
    expected_n = sum(len(keys) for keys in expected.values())
    summary = harness.summarize(latencies) if latencies else {"p50_ms": float("nan")}
    summary["max_ms"] = max(latencies) * 1000 if latencies else float("nan")
    return {"expected": expected_n, "missing": missing, "notes": len(plan), **summary}


def leaks(readers: list[Reader], document: Document) -> dict:
    """Every change event any stream received, against the note's audience."""
    facts = {
        pk: (visibility, author_id, group_id)
        for pk, visibility, author_id, group_id in Annotation.objects.filter(
            document=document
        ).values_list("pk", "visibility", "author_id", "group_id")
    }
    events, wrong = 0, []
    for reader in readers:
        for event in reader.changes:
            events += 1
            visibility, author_id, _ = facts[event["annotation"]]
            if not audience(visibility, author_id, reader):
                wrong.append((reader.user_id, event))
    return {"events": events, "wrong": len(wrong), "examples": wrong[:5]}


# ------------------------------------------------------------------------------ the limit


def stream_limit(base: str, path: str, session: str) -> dict:
    """Open the limit's worth of streams as one person, then one more."""
    limit = settings.LIVE_MAX_STREAMS_PER_PERSON
    streams = Streams(base, path)
    try:
        readers = [Reader(0, session, False) for _ in range(limit + 1)]
        streams.open(readers[:limit])
        streams.open(readers[limit:])
        return {"limit": limit, "statuses": [r.status for r in readers]}
    finally:
        streams.close()


# -------------------------------------------------------------- the server


@contextmanager
def server() -> Iterator[tuple[str, int]]:
    """uvicorn on the bench database; yields (base URL, process id)."""
    with harness.serve(env=SERVER_ENV) as base:
        yield base, harness.server_pid(base)


def get_page(url: str, session: str, timeout: float) -> dict:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    start = time.perf_counter()
    try:
        conn.request("GET", parts.path, headers={"Cookie": f"sessionid={session}"})
        response = conn.getresponse()
        response.read()
        return {"status": response.status, "error": "", "seconds": time.perf_counter() - start}
    except TimeoutError:
        return {"status": None, "error": f"no answer within {timeout:.0f} s", "seconds": timeout}
    finally:
        conn.close()


def capacity(base: str, path: str, readers: list[Reader], page: str, session: str) -> dict:
    """How many streams one process holds: open them PROBE_BATCH at a time until one is
    refused, then ask that process for the reading page."""
    streams = Streams(base, path, answer_timeout=PROBE_WAIT_S)
    opened, refused, answer = 0, None, None
    try:
        for i in range(0, len(readers), PROBE_BATCH):
            batch = [Reader(r.user_id, r.session, r.member) for r in readers[i : i + PROBE_BATCH]]
            start = time.perf_counter()
            streams.open(batch, batch=PROBE_BATCH)
            bad = [r for r in batch if not r.open]
            opened += len(batch) - len(bad)
            if bad:
                refused = {
                    "status": bad[0].status,
                    "error": bad[0].error,
                    "seconds": time.perf_counter() - start,
                }
                break
        held = database_connections()
        if refused:
            answer = get_page(base + page, session, PROBE_WAIT_S)
    finally:
        streams.close()
    return {"opened": opened, "refused": refused, "db_connections": held, "page": answer}


# ------------------------------------------------------------------------------------ main


def describe(answer: dict) -> str:
    said = f"{answer['status']} after {answer['seconds']:.1f} s" if answer["status"] else ""
    return ", ".join(part for part in (said, answer["error"]) if part)


def fmt_latency(result: dict) -> str:
    return (
        f"{result['p50_ms']:.0f} / {result['p95_ms']:.0f} / {result['max_ms']:.0f} ms "
        f"({result['expected'] - result['missing']:,} of {result['expected']:,} deliveries)"
    )


def main() -> dict:
    harness.setup()
    load_start = os.getloadavg()[0]
    world = make_world()
    sessions = {user.pk: harness.session_for(user) for user in [*world.readers, *world.writers]}
    limit_user = User.objects.create(username="live-tabs", email="tabs@example.org")
    limit_session = harness.session_for(limit_user)
    members = {user.pk for user in world.readers[:MEMBERS]}
    readers = [Reader(u.pk, sessions[u.pk], u.pk in members) for u in world.readers]
    path = f"/documents/{world.document.slug}/live/"
    page = world.document.get_absolute_url()
    rng = random.Random(5)

    # As shipped: how many streams does one process hold?
    with harness.serve(env=SERVER_ENV) as base:
        shipped = capacity(base, path, readers, page, sessions[world.writers[0].pk])
    with server() as (base, pid):
        # Warm up: the page, notes through the endpoint, one stream opened and closed.
        writers = [
            Writer(base, world.document, sessions[u.pk], world.group.pk) for u in world.writers
        ]
        for writer in writers:
            writer.fetch_token()
            writer.connect()
            for n in range(WARM_NOTES):
                writer.post(random_target(world.texts, rng), rng, n, timed=False)
            writer.close()
        warm = Streams(base, path)
        warm.open([Reader(0, limit_session, False)])
        warm.close()
        idle = settle(pid)

        without = throughput(writers, world.texts, seed=100)

        streams = Streams(base, path)
        try:
            open_s = streams.open(readers)
            failed_to_open = [(r.status, r.error) for r in readers if not r.open]
            busy = settle(pid)
            presence = max(r.presence for r in readers)

            # Every stream hears a first public note (so the LISTEN connection is up too).
            with override_settings(RATE_LIMITS=IN_PROCESS_LIMITS):
                first = note_services.annotation_create(
                    author=world.authors[0],
                    document=world.document,
                    target=random_target(world.texts, rng),
                    visibility=Visibility.PUBLIC,
                )
            everyone = {i: {(first.pk, "created")} for i in range(READERS)}
            wait_for_deliveries(readers, everyone, 30)

            one = latency_in_process(world, readers, seed=200)
            with_streams = throughput(writers, world.texts, seed=300)
            with harness.serve(env=SERVER_ENV) as base2:
                two = latency_other_process(base2, world, readers, sessions, seed=400)
            time.sleep(1.0)  # the last writes' events, for the leak check
            leaked = leaks(readers, world.document)
            after = {**harness.proc_status(pid), "db_connections": database_connections()}
        finally:
            streams.close()
        limit = stream_limit(base, path, limit_session)

    resyncs = sum(r.resyncs for r in readers)
    per_stream_kib = (busy["VmRSS"] - idle["VmRSS"]) / READERS
    limit_ok = limit["statuses"] == [200] * limit["limit"] + [429]
    latency_ok = one["p95_ms"] <= LATENCY_BAR_MS and one["missing"] == 0
    two_ok = two["p95_ms"] <= LATENCY_BAR_MS and two["missing"] == 0
    refused = shipped["refused"]
    shipped_text = f"{shipped['opened']} of {READERS} open"
    if refused:
        shipped_text += (
            f"; the next: {describe(refused)}; "
            f"the reading page then: {describe(shipped['page'])} "
            f"({shipped['db_connections']} DB connections held)"
        )
    rows = [
        {
            "measure": f"Streams one uvicorn process holds open, as shipped ({READERS} readers)",
            "result": shipped_text,
            "bar": f"all {READERS}",
            "passed": shipped["opened"] == READERS,
        },
        {
            "measure": (
                f"Streams open on one document: {READERS} readers ({MEMBERS} in the "
                "group), one uvicorn process"
            ),
            "result": (
                f"{READERS - len(failed_to_open)} of {READERS} open in {open_s:.1f} s; "
                f"presence says {presence}"
            ),
            "bar": f"all {READERS}",
            "passed": not failed_to_open,
        },
        {
            "measure": (
                f"Commit → delivery, {NOTES} notes every {INTERVAL_S * 1000:.0f} ms "
                "(public / group / private) written in-process: p50 / p95 / max over every "
                "stream each should reach"
            ),
            "result": fmt_latency(one),
            "bar": f"p95 ≤ {LATENCY_BAR_MS:.0f} ms, none missing",
            "passed": latency_ok,
        },
        {
            "measure": (
                "… two uvicorn processes: streams on one, notes POSTed to the other; "
                "from POST sent → delivery"
            ),
            "result": fmt_latency(two),
            "baseline": f"POST answered in {two['post_p50_ms']:.0f} ms (p50)",
            "bar": f"p95 ≤ {LATENCY_BAR_MS:.0f} ms, none missing",
            "passed": two_ok,
        },
        {
            "measure": (
                "Events received that the reader may not see (others' private notes, "
                "a group's notes to non-members), whole run"
            ),
            "result": f"{leaked['wrong']} of {leaked['events']:,} events",
            "bar": "0",
            "passed": leaked["wrong"] == 0,
        },
        {
            "measure": f"Server memory per open stream (VmRSS, 0 → {READERS} streams)",
            "result": f"{per_stream_kib:.0f} KiB",
            "baseline": (
                f"{idle['VmRSS'] / 1024:.0f} → {busy['VmRSS'] / 1024:.0f} MiB; threads "
                f"{idle['Threads']} → {busy['Threads']}; DB connections (pool ≤ 20, LISTEN) "
                f"{idle['db_connections']} → {busy['db_connections']}"
            ),
        },
        {
            "measure": (
                f"Note create throughput, POST through the endpoint, {WRITERS} writers "
                f"× {NOTES_PER_WRITER}, with {READERS} streams open"  # noqa: RUF001
            ),
            "result": f"{with_streams['notes_per_s']:.1f} notes/s",
            "baseline": f"no streams: {without['notes_per_s']:.1f} notes/s",
            "ratio": harness.ratio(with_streams["notes_per_s"], without["notes_per_s"]),
        },
        {
            "measure": (
                f"Open-streams-per-person limit (LIVE_MAX_STREAMS_PER_PERSON={limit['limit']}, "
                "default; every reader is a different person)"
            ),
            "result": " ".join(str(s) for s in limit["statuses"]),
            "bar": f"{limit['limit']} × 200, then 429",  # noqa: RUF001
            "passed": limit_ok,
        },
    ]
    load = {"start": load_start, "end": os.getloadavg()[0], "cores": os.cpu_count()}
    result = harness.record(
        "live",
        {
            "title": "Live: 200 readers on one document, notes arriving",
            "rows": rows,
            "data": {
                "as_shipped": shipped,
                "latency_one_process": one,
                "latency_two_processes": two,
                "leaks": {**leaked, "examples": [str(e) for e in leaked["examples"]]},
                "resyncs": resyncs,
                "memory": {"idle": idle, "busy": busy, "after": after},
                "throughput": {"without_streams": without, "with_streams": with_streams},
                "limit": limit,
                "failed_to_open": failed_to_open,
                "server_env": SERVER_ENV,
                "load_average": load,
            },
        },
    )
    if resyncs:
        print(f"Streams were told to resync {resyncs} times (the LISTEN connection dropped).")
    print(
        f"Load average (1 min) at start / end: {load['start']:.1f} / {load['end']:.1f} "
        f"on {load['cores']} cores."
    )
    return result


if __name__ == "__main__":
    try:
        main()
    finally:
        harness.close()
