"""Deep reply chains: a thread where each of 1,100 replies answers the previous one still shows,
takes replies and exports in full (nothing walks it recursively), and new replies nest no deeper
than REPLY_MAX_DEPTH."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import connection
from django.urls import reverse

from annotations.discussions import services as discussion_services
from annotations.models import Reply
from tests.factories import make_annotation, make_document

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
CHAIN = 1_100


def body(i: int) -> str:
    return f"deep-{i:04d} says so."


@pytest.fixture
def note(author):
    document = make_document(paragraphs=4, title="Deep")
    return make_annotation(
        author=author, document=document, position=1, body="Start here", visibility="public"
    )


@pytest.fixture
def chain(note, member) -> list[Reply]:
    """CHAIN replies, each answering the previous one, stored in one insert (as old data or an
    import could hold them: the write-time cap does not apply)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Reply._meta.db_table, CHAIN],
        )
        ids = [row[0] for row in cursor.fetchall()]
    replies = [
        Reply(
            id=pk,
            annotation=note,
            parent_id=ids[i - 1] if i else None,
            author=member,
            body=body(i),
            body_html=f"<p>{body(i)}</p>",
        )
        for i, pk in enumerate(ids)
    ]
    return Reply.objects.bulk_create(replies)


def test_note_page_of_a_deep_chain(client, chain, note):
    response = client.get(reverse("annotation", kwargs={"pk": note.pk}))
    assert response.status_code == 200
    html = response.content.decode()
    assert body(0) in html and body(4) in html
    assert body(5) not in html
    assert f"Continue this thread ({CHAIN - 5} more)" in html
    assert html.rstrip().endswith("</html>")


def test_note_panel_of_a_deep_chain(client, chain, note):
    response = client.get(reverse("annotation", kwargs={"pk": note.pk}), **HTMX)
    assert response.status_code == 200
    assert body(4) in response.content.decode()


@pytest.mark.parametrize("index", [5, 700, CHAIN - 1])
def test_every_reply_page_of_a_deep_chain(client, chain, index):
    response = client.get(reverse("reply_thread", kwargs={"pk": chain[index].pk}))
    assert response.status_code == 200
    html = response.content.decode()
    assert body(index) in html
    last = min(index + 4, CHAIN - 1)
    assert body(last) in html
    if last < CHAIN - 1:
        assert body(last + 1) not in html
        assert f"Continue this thread ({CHAIN - 1 - last} more)" in html
    assert html.rstrip().endswith("</html>")


@pytest.mark.parametrize("htmx", [True, False])
def test_reply_to_the_deepest_reply(client, chain, note, member, settings, htmx):
    settings.REPLY_MAX_DEPTH = 50
    client.force_login(member)
    response = client.post(
        reverse("reply_create", kwargs={"pk": note.pk}),
        {"body": "Down at the bottom", "parent": chain[-1].pk},
        **(HTMX if htmx else {}),
    )
    new = Reply.objects.get(body="Down at the bottom")
    # Its parent was at depth 1,100: it attaches at depth 50, under the reply at depth 49.
    assert new.parent_id == chain[48].pk
    if htmx:
        # The note's panel, whole (it shows the thread's first levels; the new reply is deeper).
        assert response.status_code == 200
        html = response.content.decode()
        assert "Reply posted." in html and body(4) in html and html.rstrip().endswith("</div>")
    else:
        assert response.status_code == 302
        page = client.get(response.url)
        assert page.status_code == 200
    shown = client.get(reverse("reply_thread", kwargs={"pk": chain[48].pk}))
    assert shown.status_code == 200
    assert "Down at the bottom" in shown.content.decode()


def _export(client, note, fmt: str) -> str:
    url = reverse("export_document", kwargs={"slug": note.document.slug, "fmt": fmt})
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("logged_in", [True, False])
def test_markdown_export_of_a_deep_chain(client, chain, note, member, settings, logged_in):
    settings.REPLY_MAX_DEPTH = 50
    if logged_in:
        client.force_login(member)
    text = _export(client, note, "md")
    assert "Start here" in text
    for i in range(CHAIN):
        assert body(i) in text
    assert text.index(body(0)) < text.index(body(CHAIN - 1))
    assert text.endswith("---\n\n")
    # Replies below REPLY_MAX_DEPTH (50) are indented as at it: the text grows with the chain,
    # not with its square.
    assert f"\n{'  ' * 49}- **member**" in text
    assert f"\n{'  ' * 50}- " not in text


def test_csv_export_of_a_deep_chain(client, chain, note, member):
    client.force_login(member)
    rows = list(csv.DictReader(io.StringIO(_export(client, note, "csv"))))
    replies = [row for row in rows if row["type"] == "reply"]
    assert len(replies) == CHAIN
    assert replies[-1]["body"] == body(CHAIN - 1)
    assert replies[-1]["parent_id"] == str(chain[-2].pk)


def test_jsonld_export_of_a_deep_chain(client, chain, note, member):
    client.force_login(member)
    data = json.loads(_export(client, note, "jsonld"))
    items = data["first"]["items"]
    assert len(items) == CHAIN + 1
    assert items[-1]["body"]["value"] == body(CHAIN - 1)


# The cap -------------------------------------------------------------------------------------


def _reply(author, note, text, parent=None) -> Reply:
    return discussion_services.reply_create(
        author=author, annotation_id=note.pk, body=text, parent_id=parent.pk if parent else None
    )


def _depth(reply: Reply) -> int:
    depth = 1
    while reply.parent_id is not None:
        reply = Reply.objects.get(pk=reply.parent_id)
        depth += 1
    return depth


def test_a_reply_at_the_maximum_depth_attaches_as_a_sibling(client, note, member, settings):
    settings.REPLY_MAX_DEPTH = 3
    first = _reply(member, note, "one")
    second = _reply(member, note, "two", first)
    third = _reply(member, note, "three", second)
    assert third.parent_id == second.pk and _depth(third) == 3
    fourth = _reply(member, note, "Four, *intact*.", third)
    # Not refused, not deeper: a sibling of the reply it answers, at the maximum depth.
    assert fourth.parent_id == second.pk and _depth(fourth) == 3
    assert Reply.objects.get(pk=fourth.pk).body == "Four, *intact*."
    fifth = _reply(member, note, "five", fourth)
    assert fifth.parent_id == second.pk
    html = client.get(reverse("annotation", kwargs={"pk": note.pk})).content.decode()
    assert "Four, <em>intact</em>." in html and "five" in html


def test_maximum_depth_of_one_keeps_every_reply_on_the_note(note, member, settings):
    settings.REPLY_MAX_DEPTH = 1
    first = _reply(member, note, "one")
    second = _reply(member, note, "two", first)
    assert second.parent_id is None


def test_the_cap_counts_from_the_note(note, member, settings):
    """Below the maximum, replies nest as they always did."""
    settings.REPLY_MAX_DEPTH = 4
    parent = None
    made = []
    for i in range(4):
        parent = _reply(member, note, f"level {i + 1}", parent)
        made.append(parent)
    assert [r.parent_id for r in made] == [None, made[0].pk, made[1].pk, made[2].pk]
