"""Taking notes away: the Markdown, CSV and JSON-LD exports, streamed batch by batch."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import datetime

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from markdown_it import MarkdownIt

from annotations import jsonld
from annotations.discussions import services as discussion_services
from annotations.models import Annotation
from annotations.transfer import exporting
from reader.services import document_import
from tests.factories import UserFactory, make_annotation, make_document
from tests.integration.annotations.transfer.helpers import BASE, export, logged_in

pytestmark = pytest.mark.django_db


SPECIAL = "Stars *here* and _there_, a [link](http://x.example) <b>bold</b> | pipe `code`"


@pytest.fixture
def special_document():
    """Plain text whose paragraphs look like Markdown: none of it may act as Markdown."""
    return document_import(
        source=f"{SPECIAL}\n\nPlain words here.",
        fmt="text",
        title='A "quoted": title',
        author="Ann Author",
        source_ref="https://example.org/original",
    )


def front_matter(text: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "no front matter"
    fields = {}
    for line in match[1].splitlines():
        name, _, value = line.partition(": ")
        fields[name] = json.loads(value)
    return fields


def test_markdown_export(author, member, special_document):
    document = special_document
    paragraphs = list(
        document.current_revision.paragraphs.order_by("position").values_list("key", "text")
    )
    assert paragraphs[0][1] == SPECIAL
    note = make_annotation(
        author=author,
        document=document,
        position=0,
        start=0,
        end=len(SPECIAL),
        body="My **own** words.",
        tags="first-tag, second",
        visibility="public",
    )
    first = discussion_services.reply_create(author=member, annotation_id=note.pk, body="A reply.")
    discussion_services.reply_create(
        author=author, annotation_id=note.pk, body="An answer\nover two lines.", parent_id=first.pk
    )
    discussion_services.reply_create(author=member, annotation_id=note.pk, body="Another reply.")
    text = export(logged_in(author), document, "md")

    fields = front_matter(text)
    assert fields["title"] == 'A "quoted": title'
    assert fields["author"] == "Ann Author"
    assert fields["source"] == "https://example.org/original"
    exported = datetime.fromisoformat(fields["exported"])
    assert abs((timezone.now() - exported).total_seconds()) < 120

    url = f"{BASE}/documents/{document.slug}/p/{paragraphs[0][0]}/"
    lines = text.splitlines()
    quote_at = next(i for i, line in enumerate(lines) if line.startswith("> Stars"))
    assert lines[quote_at + 1 : quote_at + 3] == [">", f"> — [¶1]({url})"]
    after = lines[quote_at + 3 :]
    body_at = after.index("My **own** words.")
    assert after.index("#first-tag #second") > body_at
    assert f"- **member** ({note.created_at:%Y-%m-%d}): A reply." in after
    nested = next(i for i, line in enumerate(after) if "An answer" in line)
    assert after[nested].startswith("  - **author** (")  # indented under the reply it answers
    assert after[nested + 1] == "    over two lines."
    assert after.index(next(x for x in after if "Another reply." in x)) > nested
    assert next(x for x in after if "Another reply." in x).startswith("- **member**")

    # The quote renders as the document's words, nothing more.
    rendered = MarkdownIt("commonmark").render(text)
    assert f"<p>{html.escape(SPECIAL, quote=False)}</p>" in rendered
    assert "<em>here</em>" not in rendered
    assert 'href="http://x.example"' not in rendered


LINE_STARTS = [
    "# Not a heading",
    "1. Not a list",
    "- Nor this",
    "2) Neither",
    "===",
    "> Not quoted",
]


@pytest.mark.parametrize("words", LINE_STARTS)
def test_markdown_export_escapes_line_starts(author, words):
    """Words that would start a heading, a list, a rule or a quote stay words."""
    document = document_import(
        source="<h1>Lines</h1>" + "".join(f"<p>{html.escape(p)}</p>" for p in LINE_STARTS),
        fmt="html",
        title="Lines",
    )
    position = LINE_STARTS.index(words) + 1
    make_annotation(author=author, document=document, position=position, quote=words)
    # ...also as the second line of a quote over two paragraphs.
    make_annotation(
        author=author,
        document=document,
        position=position - 1,
        start=0,
        end_position=position,
        end=len(words),
    )
    text = export(logged_in(author), document, "md")
    rendered = MarkdownIt("commonmark").render(text)
    assert f"<p>{html.escape(words, quote=False)}</p>" in rendered
    assert f"\n{html.escape(words, quote=False)}</p>" in rendered


# CSV --------------------------------------------------------------------------------------------

CSV_HEADER = [
    "id",
    "type",
    "note_id",
    "parent_id",
    "document",
    "paragraph",
    "paragraph_url",
    "quote",
    "body",
    "tags",
    "visibility",
    "group",
    "author",
    "created",
    "modified",
    "status",
]


def test_csv_export(author, member):
    document = document_import(
        source="=SUM(A1:A9) opens this paragraph.\n\n+1 and -1 and @home.\n\nQuiet words.",
        fmt="text",
        title="Formulas",
    )
    rogue = UserFactory(username="-1+1")  # a username a spreadsheet would compute
    note = make_annotation(
        author=author,
        document=document,
        position=0,
        quote="=SUM(A1:A9) opens",
        body="@cmd|' /C calc'!A0",
        tags="plain",
        visibility="public",
    )
    make_annotation(author=author, document=document, position=1, quote="+1 and -1")
    discussion_services.discussion_create(
        author=author, document=document, paragraph_key=None, body="-2+3 on the whole."
    )
    first = discussion_services.reply_create(author=rogue, annotation_id=note.pk, body="=1+1")
    nested = discussion_services.reply_create(
        author=author, annotation_id=note.pk, body="Nested.", parent_id=first.pk
    )
    rows = list(csv.reader(io.StringIO(export(logged_in(author), document, "csv"))))
    assert rows[0] == CSV_HEADER
    records = [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]
    # In reading order, each note followed by its replies.
    assert [(r["type"], r["note_id"], r["parent_id"]) for r in records] == [
        ("note", str(note.pk), ""),
        ("reply", str(note.pk), ""),
        ("reply", str(note.pk), str(first.pk)),
        ("discussion", records[3]["id"], ""),
        ("highlight", records[4]["id"], ""),
    ]
    by_id = {(r["type"] == "reply", r["id"]): r for r in records}
    note_row = by_id[False, str(note.pk)]
    assert note_row["quote"] == "'=SUM(A1:A9) opens"
    assert note_row["body"] == "'@cmd|' /C calc'!A0"
    assert note_row["paragraph"] == "1"
    assert note_row["paragraph_url"] == (f"{BASE}/documents/{document.slug}/p/{note.start_key}/")
    assert note_row["tags"] == "plain"
    reply_row = by_id[True, str(first.pk)]
    assert reply_row["body"] == "'=1+1"
    assert reply_row["author"] == "'-1+1"
    assert by_id[True, str(nested.pk)]["body"] == "Nested."
    highlight = next(r for r in records if r["type"] == "highlight")
    assert highlight["quote"] == "'+1 and -1"
    discussion = next(r for r in records if r["type"] == "discussion")
    assert discussion["body"] == "'-2+3 on the whole."
    # Nothing else in any cell starts a formula.
    for record in records:
        for name, value in record.items():
            assert value[:1] not in ("=", "+", "-", "@"), (name, value)


# JSON-LD ----------------------------------------------------------------------------------------


def test_jsonld_export_is_an_annotation_collection(author, member):
    document = make_document(paragraphs=4, title="Collected")
    note = make_annotation(author=author, document=document, body="One.", visibility="public")
    discussion_services.reply_create(author=member, annotation_id=note.pk, body="Two.")
    make_annotation(author=author, document=document, position=2)
    data = json.loads(export(logged_in(author), document, "jsonld"))
    assert data["@context"][0] == jsonld.CONTEXT
    assert data["type"] == "AnnotationCollection"
    assert data["label"] == "Notes on Collected"
    assert data["first"]["type"] == "AnnotationPage"
    items = data["first"]["items"]
    assert [item["motivation"] for item in items] == ["commenting", "replying", "highlighting"]
    assert items[1]["target"] == items[0]["id"]
    assert len(jsonld.parse_document(json.dumps(data), limit=10)) == 3


# Streaming --------------------------------------------------------------------------------------


def _notes_with_replies(author, member, document, n: int) -> list[str]:
    """n public notes, several on the very same words (so batches split ties), each with a
    reply; returns their bodies in reading order."""
    bodies = []
    for i in range(n):
        position = 1 + i // 3  # three notes per paragraph, on the same words
        body = f"Note number {i:03d} here."
        note = make_annotation(
            author=author, document=document, position=position, body=body, visibility="public"
        )
        discussion_services.reply_create(
            author=member, annotation_id=note.pk, body=f"Reply to {i:03d}."
        )
        bodies.append(body)
    return bodies


def _consume(client, document, fmt) -> tuple[list[str], int]:
    response = client.get(reverse("export_document", kwargs={"slug": document.slug, "fmt": fmt}))
    assert isinstance(response, StreamingHttpResponse)
    with CaptureQueriesContext(connection) as queries:
        chunks = [chunk.decode() for chunk in response.streaming_content]
    return chunks, len(queries)


@pytest.mark.parametrize("fmt", ["md", "csv", "jsonld"])
def test_exports_stream_batch_by_batch(author, member, monkeypatch, fmt):
    """Many more notes than a batch: each note once, in order; queries per batch, not per note."""
    small = make_document(paragraphs=6, title="Six notes")
    large = make_document(paragraphs=6, title="Twelve notes")
    _notes_with_replies(author, member, small, 6)
    bodies = _notes_with_replies(author, member, large, 12)
    client = logged_in(author)

    monkeypatch.setattr(exporting, "BATCH", 3)
    chunks, queries_4_batches = _consume(client, large, fmt)
    text = "".join(chunks)
    assert len(chunks) >= 4  # written as it goes, not in one piece
    positions = [text.find(body) for body in bodies]
    assert all(text.count(body) == 1 for body in bodies)
    assert positions == sorted(positions)
    assert all(text.count(f"Reply to {i:03d}.") == 1 for i in range(12))
    _, queries_2_batches = _consume(client, small, fmt)

    monkeypatch.setattr(exporting, "BATCH", 6)
    _, queries_2_batches_of_twice_the_notes = _consume(client, large, fmt)

    # Twice the notes in as many batches: the same queries. Two more batches: two queries each
    # (the notes, and their replies).
    assert queries_2_batches_of_twice_the_notes == queries_2_batches
    assert queries_4_batches - queries_2_batches == 2 * 2


@pytest.mark.parametrize("scope", ["document", "mine", "group"])
def test_each_batch_starts_its_index_scan_where_the_last_one_stopped(
    author, member, club, monkeypatch, scope
):
    """The batch after a place is asked as a row comparison, which PostgreSQL puts in the index
    condition: every batch costs the same, however far into a big export it is."""
    document = make_document(paragraphs=6, title="Ordered")
    for position in range(1, 5):
        make_annotation(
            author=author, document=document, position=position, visibility="group", group=club
        )
    monkeypatch.setattr(exporting, "BATCH", 2)
    chosen = {
        "document": exporting.Scope("document", document=document),
        "mine": exporting.Scope("mine"),
        "group": exporting.Scope("group", group=club),
    }[scope]
    with CaptureQueriesContext(connection) as captured:
        batches = list(exporting.batches(author, chosen))
    assert [len(notes) for notes, _ in batches] == [2, 2]
    later = [q["sql"] for q in captured.captured_queries if '") > (' in q["sql"]]
    assert later
    with connection.cursor() as cursor:
        # A few rows in a test table: the planner would read them any way it likes. Plans that
        # sort what they read are what a big export cannot afford, so they are ruled out.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + later[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert re.search(r"Index Cond: .*ROW\(", plan), plan


def test_a_big_export_crosses_the_real_batch_size(author, member):
    """The real BATCH, crossed: nothing lost or repeated at the edge."""
    document = make_document(paragraphs=3, title="Many")
    paragraph = document.current_revision.paragraphs.get(position=1)
    rows = [
        Annotation(
            document=document,
            revision_id=document.current_revision_id,
            author=author,
            start_key=paragraph.key,
            start_offset=0,
            start_position=1,
            end_key=paragraph.key,
            end_offset=9,
            end_position=1,
            exact=paragraph.text[:9],
            body=f"Bulk {i:04d}.",
            visibility="public",
        )
        for i in range(exporting.BATCH + 7)
    ]
    Annotation.objects.bulk_create(rows)  # faster than the service for a test of reading only
    text = export(logged_in(author), document, "csv")
    found = re.findall(r"Bulk (\d{4})\.", text)
    assert found == [f"{i:04d}" for i in range(exporting.BATCH + 7)]


# Round trip -------------------------------------------------------------------------------------
