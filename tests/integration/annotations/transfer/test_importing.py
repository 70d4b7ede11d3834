"""Bringing notes back: the import page (W3C JSON-LD and Hypothesis exports), its report,
and orphans attached by hand."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from annotations.discussions import services as discussion_services
from annotations.models import Annotation, Reply
from reader.services import document_import
from tests.factories import make_annotation, make_document, sample_text
from tests.integration.annotations.transfer.helpers import export, logged_in

pytestmark = pytest.mark.django_db


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
