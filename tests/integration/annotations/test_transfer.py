"""Taking notes away and bringing them back: the Markdown, CSV and JSON-LD exports, the import
page (W3C JSON-LD and Hypothesis exports), its report, and orphans attached by hand."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from markdown_it import MarkdownIt

from annotations import jsonld
from annotations.discussions import services as discussion_services
from annotations.models import Annotation, Reply
from annotations.transfer import exporting
from reader.services import document_import
from tests.factories import UserFactory, make_annotation, make_document, sample_text

pytestmark = pytest.mark.django_db

BASE = "http://testserver"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def export(client, document, fmt: str) -> str:
    response = client.get(reverse("export_document", kwargs={"slug": document.slug, "fmt": fmt}))
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def upload(client, document, raw: bytes | str, *, name="notes.jsonld", visibility="private"):
    if isinstance(raw, str):
        raw = raw.encode()
    return client.post(
        reverse("import_annotations", kwargs={"slug": document.slug}),
        {"file": SimpleUploadedFile(name, raw, "application/json"), "visibility": visibility},
    )


def page_text(response) -> str:
    """The page's text as a reader sees it: no tags, entities decoded, spaces collapsed."""
    text = re.sub(r"<[^>]+>", "", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(text))


def counts() -> tuple[int, int]:
    return Annotation.objects.count(), Reply.objects.count()


# Markdown ---------------------------------------------------------------------------------------

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


def _everything(author, member, document):
    keys = list(
        document.current_revision.paragraphs.order_by("position").values_list("key", flat=True)
    )
    make_annotation(author=author, document=document, position=1, start=0, end=9)
    make_annotation(
        author=author,
        document=document,
        position=2,
        start=13,
        end=40,
        colour="pink",
        body="A *note* with tags.",
        tags="metaphor, key-idea",
        visibility="public",
    )
    spanning = make_annotation(
        author=author,
        document=document,
        position=3,
        start=20,
        end_position=4,
        end=15,
        body="Over two paragraphs.",
        visibility="public",
    )
    discussion_services.discussion_create(
        author=author,
        document=document,
        paragraph_key=keys[5],
        body="About this paragraph?",
        is_question=True,
        visibility="public",
    )
    discussion_services.discussion_create(
        author=author, document=document, paragraph_key=None, body="About the whole text."
    )
    first = discussion_services.reply_create(
        author=member, annotation_id=spanning.pk, body="I see."
    )
    discussion_services.reply_create(
        author=author, annotation_id=spanning.pk, body="Do you?", parent_id=first.pk
    )
    discussion_services.reply_create(author=member, annotation_id=spanning.pk, body="Also this.")


def _notes_of(user, document) -> list[tuple]:
    return sorted(
        Annotation.objects.filter(author=user, document=document).values_list(
            "kind",
            "start_key",
            "start_offset",
            "end_key",
            "end_offset",
            "exact",
            "body",
            "tags",
            "colour",
            "is_question",
        )
    )


def _threads_of(document) -> set[tuple]:
    return {
        (reply.annotation.body, reply.body, reply.parent.body if reply.parent else None)
        for reply in Reply.objects.filter(annotation__document=document).select_related(
            "annotation", "parent"
        )
    }


def test_round_trip_through_json_ld(author, member):
    original = make_document(paragraphs=7, title="The original")
    _everything(author, member, original)
    file = export(logged_in(author), original, "jsonld")

    copy = make_document(paragraphs=7, title="A fresh copy")
    client = logged_in(author)
    response = upload(client, copy, file)
    assert response.status_code == 200, page_text(response)
    report = page_text(response)
    assert "5 placed in the text" in report
    assert "0 not placed" in report
    assert "3 replies" in report
    assert _notes_of(author, copy) == _notes_of(author, original)
    assert _threads_of(copy) == _threads_of(original)
    imported_replies = Reply.objects.filter(annotation__document=copy)
    assert set(imported_replies.values_list("author__username", flat=True)) == {"author"}
    assert set(imported_replies.values_list("source_creator", flat=True)) == {"member", "author"}

    # Again: nothing added twice.
    before = counts()
    again = upload(client, copy, file)
    assert again.status_code == 200
    assert "8 already imported before: not added again" in page_text(again)
    assert "0 placed in the text" in page_text(again)
    assert counts() == before


def test_round_trip_onto_an_edited_copy_follows_the_paragraph_keys(author, member):
    """A paragraph added at the top moves every position; the keys still place each note."""
    original = make_document(paragraphs=7, title="The original")
    _everything(author, member, original)
    file = export(logged_in(author), original, "jsonld")
    copy = document_import(
        source="A new first paragraph.\n\n" + sample_text(7), fmt="markdown", title="Edited"
    )
    assert upload(logged_in(author), copy, file).status_code == 200
    assert _notes_of(author, copy) == _notes_of(author, original)
    assert _threads_of(copy) == _threads_of(original)


# Malformed files --------------------------------------------------------------------------------


@pytest.fixture
def good_item():
    def make(document) -> dict:
        text = document.current_revision.paragraphs.get(position=1).text
        return {
            "type": "Annotation",
            "id": "urn:test:good",
            "body": {"type": "TextualBody", "value": "Fine."},
            "target": {
                "source": "x",
                "selector": [
                    {"type": "TextQuoteSelector", "exact": text[:9]},
                    {"type": "TextPositionSelector", "start": 0, "end": 9},
                ],
            },
        }

    return make


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("bad JSON", "The file is not valid JSON"),
        ("wrong type", "not a Web Annotation"),
        ("negative offset", "file[1].target.selector[0].start must be a whole number"),
        ("empty reply", "file[1]: a reply has no text"),
        ("empty Hypothesis reply", "file.annotations[1]: a reply has no text"),
        ("no annotations", "The file holds no annotations"),
        ("a note without a target", "file[1].target: an annotation needs a target"),
        ("a NUL character", "file[1].body[0].value must not contain the NUL character"),
        ("nested too deeply", "nests its JSON too deeply"),
    ],
)
def test_a_malformed_file_is_refused_and_nothing_is_stored(author, good_item, case, message):
    document = make_document(paragraphs=3, title="Target")
    good = good_item(document)
    files = {
        "bad JSON": '[{"type": "Annotation",',
        "wrong type": {"type": "Book", "title": "Not annotations"},
        "negative offset": [
            good,
            {
                "type": "Annotation",
                "target": {
                    "source": "x",
                    "selector": {"type": "TextPositionSelector", "start": -4, "end": 2},
                },
            },
        ],
        "empty reply": [
            good,
            {
                "type": "Annotation",
                "motivation": "replying",
                "body": {"type": "TextualBody", "value": "  "},
                "target": "urn:test:good",
            },
        ],
        "empty Hypothesis reply": {
            "export_date": "2024-05-01T10:00:00Z",
            "annotations": [
                {"id": "h1", "text": "A page note.", "user": "acct:x@hypothes.is"},
                {"id": "h2", "text": "", "references": ["h1"], "user": "acct:y@hypothes.is"},
            ],
        },
        "no annotations": [],
        "a note without a target": [good, {"type": "Annotation", "bodyValue": "Lost."}],
        "a NUL character": [good, {**good, "id": "urn:x:2", "body": {"value": "a\u0000b"}}],
        "nested too deeply": "[" * 100_000,
    }
    raw = files[case] if isinstance(files[case], str) else json.dumps(files[case])
    before = counts()
    response = upload(logged_in(author), document, raw)
    assert response.status_code == 400
    text = page_text(response)
    assert "The file cannot be imported" in text
    assert message in text
    assert counts() == before


def test_a_file_is_required_and_the_page_needs_a_login(author):
    document = make_document(paragraphs=3, title="Target")
    url = reverse("import_annotations", kwargs={"slug": document.slug})
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    client = logged_in(author)
    assert client.get(url).status_code == 200
    assert client.post(url, {"visibility": "private"}).status_code == 400
    assert counts() == (0, 0)


# Hypothesis -------------------------------------------------------------------------------------


def hypothesis_export(document) -> dict:
    texts = list(
        document.current_revision.paragraphs.order_by("position").values_list("text", flat=True)
    )
    page = f"https://example.org/{document.slug}.html"

    def annotation(n: int, text: str, selectors: list | None, **extra) -> dict:
        item = {
            "id": f"hyp{n:04d}",
            "created": f"2024-03-0{n % 9 + 1}T10:00:00.000000+00:00",
            "updated": "2024-03-10T10:00:00.000000+00:00",
            "user": "acct:reader_one@hypothes.is",
            "uri": page,
            "text": text,
            "tags": extra.pop("tags", []),
            "group": "__world__",
            "permissions": {
                "read": ["group:__world__"],
                "admin": ["acct:reader_one@hypothes.is"],
                "update": ["acct:reader_one@hypothes.is"],
                "delete": ["acct:reader_one@hypothes.is"],
            },
            "target": [{"source": page, **({"selector": selectors} if selectors else {})}],
            "document": {"title": [document.title]},
            "links": {"html": f"https://hypothes.is/a/hyp{n:04d}", "incontext": page},
            "user_info": {"display_name": "Reader One"},
            "flagged": False,
            "hidden": False,
            **extra,
        }
        return item

    def selectors(exact: str, start: int, prefix: str = "", suffix: str = "") -> list:
        return [
            {
                "type": "RangeSelector",
                "endOffset": 40,
                "startOffset": 0,
                "endContainer": "/main[1]/article[1]/p[3]",
                "startContainer": "/main[1]/article[1]/p[3]",
            },
            # Positions in the web page's text, which is not ours: they must not mislead.
            {"type": "TextPositionSelector", "start": start + 517, "end": start + 517 + len(exact)},
            {"type": "TextQuoteSelector", "exact": exact, "prefix": prefix, "suffix": suffix},
        ]

    exact = texts[2][13:60]
    assert texts[2].count(exact) == 2
    spaced = texts[3][:40].replace(" ", "\n   ", 2)  # the web page broke the lines elsewhere
    changed = list(texts[4][:44])
    changed[20], changed[31] = "#", "@"  # two characters differ
    return {
        "export_date": "2024-05-01T09:30:00.000000+00:00",
        "export_userid": "acct:reader_one@hypothes.is",
        "client_version": "1.1490.0",
        "annotations": [
            # The words come twice in that paragraph: the context tells which.
            annotation(
                1,
                "Placed *exactly*.",
                selectors(exact, 13, prefix=texts[2][:13], suffix=texts[2][60:92]),
                tags=["Key Idea", "#two"],
            ),
            annotation(2, "Words this text does not have.", selectors("a quote from nowhere", 0)),
            annotation(3, "", selectors(spaced, 0)),  # a highlight, broken over lines
            annotation(4, "Close enough.", selectors("".join(changed), 0)),
            annotation(5, "A page note on the whole text.", None),
            annotation(6, "A reply.", None, references=["hyp0001"]),
            annotation(7, "A reply to the reply.", None, references=["hyp0001", "hyp0006"]),
        ],
    }


def test_a_hypothesis_export_imports(author):
    document = make_document(paragraphs=6, title="On the web")
    texts = dict(
        document.current_revision.paragraphs.order_by("position").values_list("position", "text")
    )
    data = hypothesis_export(document)
    response = upload(logged_in(author), document, json.dumps(data), name="hypothesis.json")
    assert response.status_code == 200, page_text(response)
    report = page_text(response)
    assert "4 placed in the text" in report
    assert "1 not placed (kept as orphans)" in report
    assert "2 replies" in report
    assert "a quote from nowhere" in report

    notes = {n.source_id: n for n in Annotation.objects.filter(document=document)}
    exact = notes["hyp0001"]
    assert (exact.kind, exact.start_position, exact.start_offset, exact.exact) == (
        "span",
        2,
        13,
        texts[2][13:60],
    )
    assert exact.tags == ["key-idea", "two"]
    assert exact.source_creator == "Reader One"
    assert exact.created_at.isoformat().startswith("2024-03-02T10:00:00")
    assert notes["hyp0002"].kind == "orphan"
    spaced = notes["hyp0003"]
    assert (spaced.kind, spaced.start_position, spaced.start_offset, spaced.exact) == (
        "span",
        3,
        0,
        texts[3][:40],
    )
    approximate = notes["hyp0004"]
    assert (approximate.kind, approximate.start_position) == ("span", 4)
    assert approximate.exact == texts[4][:44].strip()
    assert notes["hyp0005"].kind == "document"
    replies = {r.source_id: r for r in Reply.objects.filter(annotation=exact)}
    assert set(replies) == {"hyp0006", "hyp0007"}
    assert replies["hyp0006"].parent_id is None
    assert replies["hyp0007"].parent_id == replies["hyp0006"].pk


def test_a_quote_too_different_is_an_orphan_not_a_wrong_place(author):
    document = make_document(paragraphs=4, title="Strict")
    texts = dict(
        document.current_revision.paragraphs.order_by("position").values_list("position", "text")
    )
    garbled = "".join(c if i % 3 else "x" for i, c in enumerate(texts[2][:40]))
    data = {
        "annotations": [
            {
                "id": "far",
                "text": "Too far.",
                "user": "acct:a@hypothes.is",
                "target": [{"selector": [{"type": "TextQuoteSelector", "exact": garbled}]}],
            }
        ]
    }
    assert upload(logged_in(author), document, json.dumps(data)).status_code == 200
    assert Annotation.objects.get().kind == "orphan"


# Orphans ----------------------------------------------------------------------------------------


@pytest.fixture
def orphan(author):
    document = make_document(paragraphs=4, title="Orphaned")
    data = {
        "type": "Annotation",
        "id": "urn:test:orphan",
        "body": {"type": "TextualBody", "value": "Where do I go?"},
        "target": {
            "source": "x",
            "selector": {"type": "TextQuoteSelector", "exact": "a sentence not in the text"},
        },
    }
    assert upload(logged_in(author), document, json.dumps(data)).status_code == 200
    note = Annotation.objects.get()
    assert note.kind == "orphan"
    return note


def test_orphans_are_listed_only_for_their_importer(orphan, author, member):
    url = reverse("orphans", kwargs={"slug": orphan.document.slug})
    mine = logged_in(author).get(url)
    assert mine.status_code == 200
    assert "a sentence not in the text" in page_text(mine)
    assert "Where do I go?" in page_text(mine)
    theirs = logged_in(member).get(url)
    assert theirs.status_code == 200
    assert "a sentence not in the text" not in page_text(theirs)
    assert "Where do I go?" not in page_text(theirs)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302


def _attach_data(document, position: int, start: int, end: int) -> dict:
    key, text = document.current_revision.paragraphs.filter(position=position).values_list(
        "key", "text"
    )[0]
    return {
        "start_key": key,
        "start_offset": start,
        "end_key": key,
        "end_offset": end,
        "exact": text[start:end],
    }


def test_an_orphan_is_attached_to_words_by_its_importer(orphan, author):
    data = _attach_data(orphan.document, 2, 13, 30)
    response = logged_in(author).post(reverse("orphan_attach", kwargs={"pk": orphan.pk}), data)
    assert response.status_code == 302
    assert response["Location"] == f"{orphan.document.get_absolute_url()}#p-{data['start_key']}"
    orphan.refresh_from_db()
    assert (
        orphan.kind,
        orphan.start_key,
        orphan.start_offset,
        orphan.end_offset,
        orphan.exact,
    ) == (
        "span",
        data["start_key"],
        13,
        30,
        data["exact"],
    )
    assert orphan.body == "Where do I go?"
    page = logged_in(author).get(reverse("orphans", kwargs={"slug": orphan.document.slug}))
    assert "a sentence not in the text" not in page_text(page)


def test_attaching_to_words_that_do_not_match_changes_nothing(orphan, author):
    data = {**_attach_data(orphan.document, 2, 13, 30), "exact": "other words"}
    response = logged_in(author).post(reverse("orphan_attach", kwargs={"pk": orphan.pk}), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("orphans", kwargs={"slug": orphan.document.slug})
    orphan.refresh_from_db()
    assert orphan.kind == "orphan"


def test_someone_else_cannot_attach_an_orphan(orphan, member):
    data = _attach_data(orphan.document, 2, 13, 30)
    response = logged_in(member).post(reverse("orphan_attach", kwargs={"pk": orphan.pk}), data)
    assert response.status_code == 404
    orphan.refresh_from_db()
    assert (orphan.kind, orphan.start_key, orphan.version) == ("orphan", "", 1)
