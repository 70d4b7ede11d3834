"""Live updates through real uvicorn processes: PostgreSQL NOTIFY fans events out across
processes, and no stream ever carries what its viewer may not see."""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client

from annotations.discussions import services as discussion_services
from annotations.groups import services as group_services
from annotations.models import Annotation
from annotations.moderation import services as moderation
from tests.asgi import uvicorn_server
from tests.factories import UserFactory, make_annotation, make_document

pytestmark = pytest.mark.django_db(transaction=True)


class Stream:
    """An open event stream, read in a thread: what the browser's EventSource would get."""

    def __init__(
        self,
        base: str,
        slug: str,
        *,
        session: str | None = None,
        last: int | None = None,
        layer: str = "",
    ):
        self.events: list[tuple[str, dict]] = []
        self.raw: list[str] = []
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {"Accept": "text/event-stream"}
        if session:
            headers["Cookie"] = f"sessionid={session}"
        if last is not None:
            headers["Last-Event-ID"] = str(last)
        query = f"?layer={layer}" if layer else ""
        self.conn.request("GET", f"/documents/{slug}/live/{query}", headers=headers)
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type").startswith("text/event-stream")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        name, data = "message", ""
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                self.raw.append(line)
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "":
                    if data:
                        self.events.append((name, json.loads(data)))
                    name, data = "message", ""
        except (OSError, ValueError, AttributeError):
            pass  # the test closed the connection

    def changes(self) -> list[dict]:
        return [data for name, data in self.events if name == "change"]

    def wait_for(self, predicate, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.changes():
                if predicate(event):
                    return event
            time.sleep(0.05)
        raise AssertionError(f"no such event; got {self.changes()}")

    def close(self) -> None:
        self.conn.close()


def session_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def world():
    owner, member, outsider = UserFactory(), UserFactory(), UserFactory()
    group = group_services.group_create(owner=owner, name="Readers")
    group_services.group_join(user=member, token=group.invite_token)
    document = make_document(paragraphs=6)
    return {
        "owner": owner,
        "member": member,
        "outsider": outsider,
        "group": group,
        "document": document,
    }


def test_a_note_posted_through_one_process_arrives_on_a_stream_of_another(world):
    document = world["document"]
    with uvicorn_server() as first, uvicorn_server() as second:
        stream = Stream(second, document.slug, session=session_for(world["member"]))
        try:
            time.sleep(0.5)  # the second process's LISTEN connection is up
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(world["owner"])
            paragraph = document.current_revision.paragraphs.get(position=2)
            # Posted over HTTP to the first process.
            conn = http.client.HTTPConnection(*urlsplit(first).netloc.split(":"))
            conn.request(
                "GET",
                document.get_absolute_url(),
                headers={"Cookie": f"sessionid={session_for(world['owner'])}"},
            )
            page = conn.getresponse()
            token = page.getheader("Set-Cookie", "")
            page.read()
            csrf = token.split("csrftoken=")[1].split(";")[0]
            body = (
                f"start_key={paragraph.key}&start_offset=0&end_key={paragraph.key}"
                f"&end_offset=9&exact={paragraph.text[:9].replace(' ', '+')}"
                f"&visibility=group&group={world['group'].pk}&colour=green"
                f"&csrfmiddlewaretoken={csrf}"
            )
            conn.request(
                "POST",
                f"/documents/{document.slug}/annotations/",
                body=body,
                headers={
                    "Cookie": f"sessionid={session_for(world['owner'])}; csrftoken={csrf}",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "HX-Request": "true",
                    "Referer": first + document.get_absolute_url(),
                },
            )
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
            note = Annotation.objects.get()
            event = stream.wait_for(lambda e: e["annotation"] == note.pk)
            assert event["keys"] == [paragraph.key]
            assert event["change"] == "created"
        finally:
            stream.close()


def test_streams_carry_nothing_their_viewer_may_not_see(world):
    document, group = world["document"], world["group"]
    with uvicorn_server() as base:
        member = Stream(base, document.slug, session=session_for(world["member"]))
        outsider = Stream(base, document.slug, session=session_for(world["outsider"]))
        anonymous = Stream(base, document.slug)
        try:
            time.sleep(0.5)
            private = make_annotation(author=world["owner"], document=document, body="secret")
            grouped = make_annotation(
                author=world["owner"],
                document=document,
                visibility="group",
                group=group,
                body="for the group",
            )
            public = make_annotation(author=world["owner"], document=document, visibility="public")
            reply = discussion_services.reply_create(
                author=world["member"], annotation_id=public.pk, body="a reply"
            )
            moderation.item_hide(
                moderator=_staff(),
                target=moderation.item_find(reply_id=reply.pk),
                reason="off topic",
            )
            marker = make_annotation(
                author=world["owner"], document=document, visibility="public", body="last"
            )
            for stream in (member, outsider, anonymous):
                stream.wait_for(lambda e: e["annotation"] == marker.pk)
            raw_outsider = "\n".join(outsider.raw)
            raw_anonymous = "\n".join(anonymous.raw)
            seen = {
                name: {e["annotation"] for e in s.changes()}
                for name, s in (
                    ("member", member),
                    ("outsider", outsider),
                    ("anonymous", anonymous),
                )
            }
            # A private note's existence reaches nobody else's stream, not even its id.
            for ids in seen.values():
                assert private.pk not in ids
            assert f'"annotation":{private.pk},' not in raw_outsider
            # A group note reaches members only.
            assert grouped.pk in seen["member"]
            assert grouped.pk not in seen["outsider"] and grouped.pk not in seen["anonymous"]
            # The hidden reply: its hiding reaches those who saw it (to take it away) ...
            hides = [e for e in anonymous.changes() if e["reply"] == reply.pk]
            assert [e["change"] for e in hides] == ["reply", "reply"]
            # ... and no stream carries text or audience facts.
            for raw in (raw_outsider, raw_anonymous):
                assert "secret" not in raw and "for the group" not in raw
                assert "visibility" not in raw and "author" not in raw
        finally:
            for stream in (member, outsider, anonymous):
                stream.close()


def _staff():
    return UserFactory(is_staff=True)


def test_a_reconnecting_page_catches_up_with_last_event_id(world):
    document = world["document"]
    with uvicorn_server() as base:
        first = make_annotation(author=world["owner"], document=document, visibility="public")
        last_seen = _event_id_of(first)
        missed = [
            make_annotation(author=world["owner"], document=document, visibility="public")
            for _ in range(2)
        ]
        stream = Stream(base, document.slug, last=last_seen)
        try:
            for note in missed:
                stream.wait_for(lambda e, pk=note.pk: e["annotation"] == pk)
            assert first.pk not in {e["annotation"] for e in stream.changes()}
        finally:
            stream.close()


def test_a_gap_too_old_asks_the_page_to_reload(world, settings):
    document = world["document"]
    with uvicorn_server(LIVE_CATCH_UP_SECONDS="0") as base:
        first = make_annotation(author=world["owner"], document=document, visibility="public")
        make_annotation(author=world["owner"], document=document, visibility="public")
        stream = Stream(base, document.slug, last=_event_id_of(first))
        try:
            deadline = time.monotonic() + 5
            while ("reload", {}) not in stream.events and time.monotonic() < deadline:
                time.sleep(0.05)
            assert ("reload", {}) in stream.events
        finally:
            stream.close()


def test_a_lost_listen_connection_comes_back_by_itself(world):
    document = world["document"]
    with uvicorn_server() as base:
        stream = Stream(base, document.slug)
        try:
            time.sleep(0.5)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN marginalia_live%%' AND pid <> pg_backend_pid() "
                    "AND datname = current_database()"
                )
                assert cursor.fetchall(), "the listener's backend was found and ended"
            deadline = time.monotonic() + 10
            while ("resync", {}) not in stream.events and time.monotonic() < deadline:
                time.sleep(0.05)
            assert ("resync", {}) in stream.events
            note = make_annotation(author=world["owner"], document=document, visibility="public")
            stream.wait_for(lambda e: e["annotation"] == note.pk)
        finally:
            stream.close()


def test_heartbeats_and_headers_keep_proxies_from_buffering(world):
    with uvicorn_server() as base:
        stream = Stream(base, world["document"].slug)
        try:
            assert stream.response.getheader("X-Accel-Buffering") == "no"
            assert "no-cache" in stream.response.getheader("Cache-Control")
            deadline = time.monotonic() + 5
            while ": heartbeat" not in stream.raw and time.monotonic() < deadline:
                time.sleep(0.05)
            assert ": heartbeat" in stream.raw
        finally:
            stream.close()


def test_a_person_cannot_hold_too_many_streams(world):
    session = session_for(world["member"])
    with uvicorn_server(LIVE_MAX_STREAMS_PER_PERSON="2") as base:
        streams = [Stream(base, world["document"].slug, session=session) for _ in range(2)]
        try:
            parts = urlsplit(base)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request(
                "GET",
                f"/documents/{world['document'].slug}/live/",
                headers={"Cookie": f"sessionid={session}"},
            )
            answer = conn.getresponse()
            assert answer.status == 429
            assert answer.getheader("Retry-After")
        finally:
            for stream in streams:
                stream.close()


def _event_id_of(annotation) -> int:
    from annotations.models import LiveEvent

    return LiveEvent.objects.filter(payload__annotation=annotation.pk).order_by("pk").first().pk


def test_presence_counts_readers_and_names_group_members_to_members(world):
    document, group = world["document"], world["group"]
    layer = f"group-{group.slug}"
    with uvicorn_server() as base:
        owner = Stream(base, document.slug, session=session_for(world["owner"]), layer=layer)
        member = Stream(base, document.slug, session=session_for(world["member"]), layer=layer)
        outsider = Stream(base, document.slug, session=session_for(world["outsider"]), layer=layer)
        try:

            def latest(stream):
                found = [data for name, data in stream.events if name == "presence"]
                return found[-1] if found else None

            deadline = time.monotonic() + 6
            while time.monotonic() < deadline and (latest(owner) or {}).get("count") != 3:
                time.sleep(0.1)
            assert latest(owner)["count"] == 3
            names = sorted([world["owner"].username, world["member"].username])
            assert latest(owner)["names"] == names
            # The outsider asked for the group's layer but is not a member: a count, no names.
            while time.monotonic() < deadline and (latest(outsider) or {}).get("count") != 3:
                time.sleep(0.1)
            assert latest(outsider) == {"count": 3, "names": []}
        finally:
            for stream in (owner, member, outsider):
                stream.close()


def test_many_streams_do_not_starve_the_process_of_database_connections(world):
    """A stream gives its database connection back between steps: more readers than the pool
    has connections still leave the process able to serve pages."""
    document = world["document"]
    with uvicorn_server(LIVE_MAX_STREAMS_PER_PERSON="100") as base:
        streams = [Stream(base, document.slug) for _ in range(30)]
        try:
            parts = urlsplit(base)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request("GET", document.get_absolute_url())
            assert conn.getresponse().status == 200
            note = make_annotation(author=world["owner"], document=document, visibility="public")
            for stream in streams:
                stream.wait_for(lambda e: e["annotation"] == note.pk)
        finally:
            for stream in streams:
                stream.close()
