"""Highlighting and writing notes through the pages and htmx fragments, as a reader does."""

from __future__ import annotations

import re
from collections import defaultdict
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.groups import services as group_services
from annotations.models import Annotation
from annotations.notes import services as note_services
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    UserFactory,
    make_annotation,
    make_document,
    make_target,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


class Marks(HTMLParser):
    """The text under each <mark data-annotation>, and the paragraph (t-<key>) it sits in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, dict]] = []
        self.under: dict[int, list[str]] = defaultdict(list)
        self.paragraphs: dict[int, list[str]] = defaultdict(list)

    def handle_starttag(self, tag, attrs):
        if tag not in {"input", "br", "meta", "link", "img", "hr"}:
            self.open.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        paragraph = next(
            (a["id"][2:] for _, a in reversed(self.open) if a.get("id", "").startswith("t-")),
            None,
        )
        for tag, attrs in self.open:
            if tag == "mark" and "data-annotation" in attrs:
                annotation = int(attrs["data-annotation"])
                self.under[annotation].append(data)
                if paragraph not in self.paragraphs[annotation]:
                    self.paragraphs[annotation].append(paragraph)


def marks_in(html: str) -> Marks:
    parser = Marks()
    parser.feed(html)
    parser.close()
    return parser


@pytest.fixture
def author(client):
    user = UserFactory(username="author")
    client.force_login(user)
    return user


@pytest.fixture
def document():
    return make_document(paragraphs=8)


def create_url(document) -> str:
    return reverse("annotation_create", kwargs={"slug": document.slug})


def form_data(target, **extra) -> dict:
    data = {
        "start_key": target.start_key,
        "start_offset": target.start_offset,
        "end_key": target.end_key,
        "end_offset": target.end_offset,
        "exact": target.exact,
        "colour": "yellow",
    }
    data.update(extra)
    return data


def page(client, document, **query) -> str:
    response = client.get(document.get_absolute_url(), query)
    assert response.status_code == 200
    return response.content.decode()


# Creating -----------------------------------------------------------------------------------


def test_a_highlight_made_with_htmx_answers_panel_paragraphs_and_announcement(
    client, author, document
):
    target = make_target(document, position=2, quote="river")
    response = client.post(create_url(document), form_data(target), **HTMX)
    assert response.status_code == 200
    highlight = Annotation.objects.get()
    html = response.content.decode()
    # The panel for the paragraph, with the new highlight in it.
    assert '<h2 id="panel-title">Paragraph 3</h2>' in html
    assert f'id="note-{highlight.pk}"' in html
    # The paragraph's text and side controls, swapped out of band, marks drawn in.
    assert f'<p class="ptext" id="t-{target.start_key}" hx-swap-oob="true">' in html
    assert f'<span class="pside" id="s-{target.start_key}" hx-swap-oob="true">' in html
    assert re.search(rf'<mark [^>]*data-annotation="{highlight.pk}"', html)
    assert "".join(marks_in(html).under[highlight.pk]) == "river"
    # The live region says what happened.
    assert '<div hx-swap-oob="innerHTML:#status">Highlight saved on “river”.</div>' in html


def test_a_note_made_without_htmx_redirects_to_its_paragraph(client, author, document):
    target = make_target(document, position=3, quote="lantern")
    response = client.post(
        create_url(document), form_data(target, body="A *light*", visibility="public")
    )
    assert response.status_code == 302
    assert response["Location"] == f"{document.get_absolute_url()}#p-{target.start_key}"
    note = Annotation.objects.get()
    assert (note.body, note.visibility) == ("A *light*", "public")
    assert "Note saved." in page(client, document)


def test_the_reading_page_then_shows_the_mark_over_the_quote_and_a_count(client, author, document):
    target = make_target(document, position=2, start=10, end=30)
    client.post(create_url(document), form_data(target, body="why?"))
    note = Annotation.objects.get()
    html = page(client, document)
    marks = marks_in(html)
    assert "".join(marks.under[note.pk]) == target.exact
    assert marks.paragraphs[note.pk] == [target.start_key]
    notes_url = reverse("paragraph_notes", kwargs={"slug": document.slug, "key": note.start_key})
    assert f'<a class="count" href="{notes_url}" aria-label="1 note on paragraph 3">1</a>' in html


def test_a_mark_across_paragraphs_is_drawn_in_each_of_them(client, author, document):
    target = make_target(document, position=2, start=20, end_position=4, end=15)
    client.post(create_url(document), form_data(target))
    highlight = Annotation.objects.get()
    marks = marks_in(page(client, document))
    keys = list(
        document.current_revision.paragraphs.filter(position__in=[2, 3, 4])
        .order_by("position")
        .values_list("key", flat=True)
    )
    assert marks.paragraphs[highlight.pk] == keys
    assert "".join(marks.under[highlight.pk]) == target.exact.replace("\n", "")


def test_the_paragraph_notes_page_lists_the_note_safely(client, author, document):
    note = make_annotation(
        author=author, document=document, body="**Bold** <script>alert(1)</script>"
    )
    url = reverse("paragraph_notes", kwargs={"slug": document.slug, "key": note.start_key})
    html = client.get(url).content.decode()
    assert "<strong>Bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"exact": "not the words"}, "The selected words do not match the text at that place."),
        ({"end_offset": 5000}, "The selection runs past the end of its paragraph."),
        ({"start_key": "nope"}, "The selection points at a paragraph that is not in this"),
        ({"colour": "orange"}, "Select a valid choice. orange is not one of the available"),
        ({"visibility": "group"}, "Choose the group that may see this note."),
        ({"tags": "<b>"}, "has characters tags cannot have"),
    ],
)
@pytest.mark.parametrize("how", ["htmx editor", "htmx toolbar", "plain form"])
def test_bad_input_answers_400_with_its_message_and_stores_nothing(
    client, author, document, change, message, how
):
    data = form_data(make_target(document, position=2), **change)
    headers = HTMX if how.startswith("htmx") else {}
    if how != "htmx toolbar":
        data["body"] = "my note"
    response = client.post(create_url(document), data, **headers)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Annotation.objects.exists()


def test_a_note_over_the_length_limit_is_refused_in_the_editor(client, author, document, settings):
    settings.ANNOTATION_BODY_MAX_CHARS = 50
    data = form_data(make_target(document), body="x" * 51)
    response = client.post(create_url(document), data, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert '<div class="form-errors" role="alert">The note is 51 characters long' in html
    assert "x" * 51 in html  # what the reader wrote is still in the editor
    assert not Annotation.objects.exists()


def test_a_group_the_reader_is_not_in_is_refused(client, author, document):
    group = GroupFactory(owner=UserFactory(username="owner"))
    data = form_data(make_target(document), body="hi", visibility="group", group=group.pk)
    response = client.post(create_url(document), data, **HTMX)
    assert response.status_code == 400
    assert "You can only share notes with a group you belong to." in response.content.decode()
    assert not Annotation.objects.exists()


def test_highlighting_too_fast_answers_429_with_the_message(client, author, document, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "post": [(60, 2)]}
    for position in (1, 2):
        target = make_target(document, position=position)
        assert client.post(create_url(document), form_data(target), **HTMX).status_code == 200
    response = client.post(
        create_url(document), form_data(make_target(document, position=3)), **HTMX
    )
    assert response.status_code == 429
    assert "You are doing that too often." in response.content.decode()
    assert Annotation.objects.count() == 2


def test_anonymous_readers_cannot_annotate(client, document):
    data = form_data(make_target(document), body="spam", visibility="public")
    htmx = client.post(create_url(document), data, **HTMX)
    assert htmx.status_code == 403
    assert "Log in to annotate." in htmx.content.decode()
    plain = client.post(create_url(document), data)
    assert plain.status_code == 302
    assert plain["Location"] == f"{reverse('login')}?next={document.get_absolute_url()}"
    editor = client.get(reverse("annotation_editor", kwargs={"slug": document.slug}), **HTMX)
    assert editor.status_code == 403
    assert not Annotation.objects.exists()


def test_writes_refuse_the_wrong_method(client, author, document):
    note = make_annotation(author=author, document=document, body="x")
    assert client.get(create_url(document)).status_code == 405
    assert client.get(reverse("annotation_delete", kwargs={"pk": note.pk})).status_code == 405
    assert client.put(reverse("annotation_edit", kwargs={"pk": note.pk})).status_code == 405
    assert client.get(reverse("markdown_preview")).status_code == 405
    note.refresh_from_db()
    assert note.status == "active"


# The editor's default audience --------------------------------------------------------------


def checked_visibility(html: str) -> str:
    return re.search(r'<input type="radio" name="visibility" value="(\w+)"[^>]*checked', html)[1]


def test_the_editor_defaults_to_the_last_audience_chosen(client, author, document):
    editor_url = reverse("annotation_editor", kwargs={"slug": document.slug})
    target = make_target(document, position=4, quote="question")
    query = form_data(target)
    assert checked_visibility(client.get(editor_url, query, **HTMX).content.decode()) == "private"

    make_annotation(author=author, document=document, body="x", visibility="public")
    html = client.get(editor_url, query, **HTMX).content.decode()
    assert checked_visibility(html) == "public"
    assert '<blockquote class="quote">question</blockquote>' in html
    assert f'name="start_key" value="{target.start_key}"' in html

    group = GroupFactory(name="Book club", owner=author)
    make_annotation(author=author, document=document, body="y", visibility="group", group=group)
    html = client.get(editor_url, query, **HTMX).content.decode()
    assert checked_visibility(html) == "group"
    assert re.search(rf'<option value="{group.pk}" selected>Book club</option>', html)


def test_a_toolbar_highlight_takes_the_last_audience(client, author, document):
    group = GroupFactory(name="Book club", owner=author)
    make_annotation(author=author, document=document, body="y", visibility="group", group=group)
    target = make_target(document, position=5, quote="answer")
    response = client.post(create_url(document), form_data(target), **HTMX)
    assert response.status_code == 200
    highlight = Annotation.objects.get(exact="answer")
    assert (highlight.visibility, highlight.group) == ("group", group)


def test_a_toolbar_highlight_after_leaving_the_last_group_still_saves(client, document):
    owner = UserFactory(username="owner")
    group = GroupFactory(owner=owner)
    member = MembershipFactory(group=group, user=UserFactory(username="member")).user
    make_annotation(author=member, document=document, body="y", visibility="group", group=group)
    group_services.group_leave(user=member, group=group)
    client.force_login(member)
    target = make_target(document, position=5, quote="answer")
    response = client.post(create_url(document), form_data(target), **HTMX)
    assert response.status_code == 200
    assert Annotation.objects.get(exact="answer").visibility == "private"


# Editing and deleting -----------------------------------------------------------------------


def edit_url(note) -> str:
    return reverse("annotation_edit", kwargs={"pk": note.pk})


def edit_data(note, **changes) -> dict:
    data = {
        "body": note.body,
        "tags": ", ".join(note.tags),
        "colour": note.colour,
        "visibility": note.visibility,
        "group": note.group_id or "",
        "version": note.version,
    }
    data.update(changes)
    return data


def test_editing_a_note_with_htmx_updates_it_and_announces_it(client, author, document):
    note = make_annotation(author=author, document=document, body="first", quote="Paragraph")
    editor = client.get(edit_url(note), **HTMX)
    assert editor.status_code == 200
    assert 'name="version" value="1"' in editor.content.decode()
    response = client.post(edit_url(note), edit_data(note, body="**second**"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>second</strong>" in html
    assert '<div hx-swap-oob="innerHTML:#status">Note updated.</div>' in html
    note.refresh_from_db()
    assert (note.body, note.version) == ("**second**", 2)


def test_an_edit_from_a_stale_editor_answers_409_and_stores_nothing(client, author, document):
    note = make_annotation(author=author, document=document, body="first")
    stale = edit_data(note, body="from the old tab")
    assert client.post(edit_url(note), edit_data(note, body="from the new tab")).status_code == 302
    response = client.post(edit_url(note), stale, **HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "This note was changed elsewhere since you opened it." in html
    assert "from the old tab" in html  # the reader's text is not lost
    note.refresh_from_db()
    assert (note.body, note.version) == ("from the new tab", 2)


def test_others_cannot_edit_or_delete_a_note(client, document):
    author = UserFactory(username="author")
    public = make_annotation(author=author, document=document, body="mine", visibility="public")
    private = make_annotation(author=author, document=document, body="secret", position=2)
    client.force_login(UserFactory(username="outsider"))
    delete_public = reverse("annotation_delete", kwargs={"pk": public.pk})
    delete_private = reverse("annotation_delete", kwargs={"pk": private.pk})
    assert client.get(edit_url(public)).status_code == 403
    assert client.post(edit_url(public), edit_data(public, body="defaced")).status_code == 403
    assert client.post(delete_public).status_code == 403
    # A private note is not even confirmed to exist.
    assert client.post(edit_url(private), edit_data(private, body="x")).status_code == 404
    assert client.post(delete_private).status_code == 404
    assert list(Annotation.objects.order_by("pk").values_list("body", "status", "version")) == [
        ("mine", "active", 1),
        ("secret", "active", 1),
    ]


def test_deleting_removes_the_mark_from_the_reading_page(client, author, document):
    note = make_annotation(author=author, document=document, body="x", quote="Paragraph")
    assert f'data-annotation="{note.pk}"' in page(client, document)
    response = client.post(reverse("annotation_delete", kwargs={"pk": note.pk}), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div hx-swap-oob="innerHTML:#status">Note deleted.</div>' in html
    assert f'data-annotation="{note.pk}"' not in html  # the swapped paragraph has no mark
    reading = page(client, document)
    assert f'data-annotation="{note.pk}"' not in reading
    assert 'class="count"' not in reading
    note.refresh_from_db()
    assert note.status == "deleted"


def test_deleting_without_htmx_goes_back_to_the_paragraph(client, author, document):
    note = make_annotation(author=author, document=document)
    response = client.post(reverse("annotation_delete", kwargs={"pk": note.pk}))
    assert response.status_code == 302
    assert response["Location"] == f"{document.get_absolute_url()}#p-{note.start_key}"


def test_a_crafted_layer_cannot_inject_markup_into_the_swapped_paragraphs(client, author, document):
    layer = '"><img src=x onerror=alert(1)>'
    # The reading page keeps it inert...
    assert "<img src=x onerror" not in page(client, document, layer=layer)
    # ...and so must the fragment answering a highlight made on that page.
    target = make_target(document, position=2, quote="river")
    response = client.post(create_url(document), form_data(target, layer=layer), **HTMX)
    assert response.status_code == 200
    assert "<img src=x onerror" not in response.content.decode()


# Markdown preview ---------------------------------------------------------------------------


def test_the_preview_renders_sanitized_markdown(client, author):
    response = client.post(
        reverse("markdown_preview"),
        {"content": "**b** [x](javascript:alert(1)) <img src=x onerror=alert(1)>"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>b</strong>" in html
    assert "<img" not in html and "<a " not in html


def test_the_preview_needs_a_login_and_has_a_limit(client, settings):
    settings.ANNOTATION_BODY_MAX_CHARS = 20
    url = reverse("markdown_preview")
    anonymous = client.post(url, {"content": "hi"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    client.force_login(UserFactory(username="author"))
    assert client.post(url, {"content": "x" * 20}).status_code == 200
    too_long = client.post(url, {"content": "x" * 21})
    assert too_long.status_code == 400
    assert "too long" in too_long.content.decode()


# My notes -----------------------------------------------------------------------------------


def my_notes(client, **query) -> str:
    response = client.get(reverse("my_notes"), query)
    assert response.status_code == 200
    return response.content.decode()


def listed(html: str) -> list[str]:
    return re.findall(r'<blockquote class="quote">(.*?)</blockquote>', html)


def test_my_notes_lists_only_my_live_notes_newest_first(client, author, document):
    make_annotation(author=author, document=document, quote="Paragraph 1")
    make_annotation(author=author, document=document, position=2, quote="Paragraph 2")
    gone = make_annotation(author=author, document=document, position=3, quote="Paragraph 3")
    note_services.annotation_delete(annotation_id=gone.pk, by=author)
    make_annotation(
        author=UserFactory(username="outsider"),
        document=document,
        position=4,
        quote="Paragraph 4",
        visibility="public",
    )
    html = my_notes(client)
    assert listed(html) == ["Paragraph 2", "Paragraph 1"]
    assert "2 annotations" in html


def test_my_notes_filters_by_document_tag_and_visibility(client, author, document):
    other = make_document(paragraphs=4, title="Another text")
    group = GroupFactory(name="Book club", owner=author)
    make_annotation(author=author, document=document, quote="Paragraph 1", tags="Key idea")
    make_annotation(
        author=author, document=document, position=2, quote="Paragraph 2", visibility="public"
    )
    make_annotation(
        author=author,
        document=other,
        position=3,
        quote="Paragraph 3",
        tags="key idea, other",
        visibility="group",
        group=group,
    )
    assert listed(my_notes(client, document=other.slug)) == ["Paragraph 3"]
    assert listed(my_notes(client, tag="key-idea")) == ["Paragraph 3", "Paragraph 1"]
    assert listed(my_notes(client, tag="KEY-IDEA", document=document.slug)) == ["Paragraph 1"]
    assert listed(my_notes(client, visibility="public")) == ["Paragraph 2"]
    html = my_notes(client, visibility="group")
    assert listed(html) == ["Paragraph 3"]
    assert "Group: Book club" in html
    # The filter offers my documents and tags.
    html = my_notes(client)
    assert f'<option value="{other.slug}">Another text</option>' in html
    assert '<option value="key-idea">#key-idea</option>' in html


def test_my_notes_needs_a_login(client):
    response = client.get(reverse("my_notes"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_my_notes_query_count_does_not_grow_with_the_notes(client, author, settings):
    settings.RATE_LIMITS_ENABLED = False  # sixty notes in seconds: not what limits are for
    documents = [make_document(paragraphs=6, title=f"Text {n}") for n in range(3)]
    group = GroupFactory(owner=author)

    def add_notes(count: int, offset: int) -> None:
        for n in range(offset, offset + count):
            make_annotation(
                author=author,
                document=documents[n % 3],
                position=1 + n % 5,
                start=n % 7,
                body=f"note {n}",
                tags=f"t{n % 4}",
                visibility=["private", "public", "group"][n % 3],
                group=group if n % 3 == 2 else None,
            )

    counts = []
    for count, offset in ((3, 0), (57, 3)):
        add_notes(count, offset)
        with CaptureQueriesContext(connection) as queries:
            html = my_notes(client)
        assert f"{count + offset} annotations" in html
        counts.append(len(queries))
    assert counts[0] == counts[1]


# The reading page stays cheap ---------------------------------------------------------------


def test_the_reading_page_query_count_does_not_grow_with_annotations(client, author, settings):
    settings.RATE_LIMITS_ENABLED = False  # 300 notes in seconds: not what limits are for
    document = make_document(paragraphs=19)  # no heading after the first
    group = GroupFactory(owner=author)
    others = [UserFactory(username=f"reader{n}") for n in range(3)]
    for other in others:
        MembershipFactory(group=group, user=other)
    counts = []
    made = 0
    for total in (0, 10, 300):
        while made < total:
            n = made
            visibility = ["private", "public", "group"][n % 3]
            make_annotation(
                author=[author, *others][n % 4],
                document=document,
                position=1 + n % 17,
                start=n % 9,
                end_position=1 + n % 17 + n % 2,
                end=n % 9 + 8,
                body="x" if n % 2 else "",
                visibility=visibility,
                group=group if visibility == "group" else None,
            )
            made += 1
        with CaptureQueriesContext(connection) as queries:
            html = page(client, document)
        counts.append(len(queries))
        visible = Annotation.objects.visible_to(author).values_list("pk", flat=True)
        assert set(map(int, re.findall(r'<mark [^>]*data-annotation="(\d+)"', html))) == set(
            visible
        )
    assert counts[0] == counts[1] == counts[2] <= 15


def test_a_mark_in_a_title_heading_is_swapped_back_as_the_title(client, author):
    document = make_document(paragraphs=4, title="Part 1")  # its first heading says "Part 1"
    target = make_target(document, position=0, quote="Part 1")
    assert f'<h1 class="ptext" id="t-{target.start_key}">' in page(client, document)
    response = client.post(create_url(document), form_data(target), **HTMX)
    html = response.content.decode()
    assert f'<h1 class="ptext" id="t-{target.start_key}" hx-swap-oob="true">' in html
    reading = page(client, document)
    assert re.search(
        rf'<h1 class="ptext" id="t-{target.start_key}"><mark [^>]*>Part 1</mark>', reading
    )


def test_the_paragraph_panel_query_count_does_not_grow_with_its_notes(client, document, settings):
    settings.RATE_LIMITS_ENABLED = False
    author = UserFactory(username="author")
    counts = []
    for total in (2, 20):
        while Annotation.objects.count() < total:
            n = Annotation.objects.count()
            make_annotation(
                author=author, document=document, start=n % 9, body=f"n{n}", visibility="public"
            )
        key = Annotation.objects.first().start_key
        url = reverse("paragraph_notes", kwargs={"slug": document.slug, "key": key})
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url, **HTMX).content.decode()
        assert html.count('<article class="note') == total
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_my_notes_offers_only_documents_i_still_have_notes_on(client, author, document):
    other = make_document(paragraphs=3, title="Abandoned text")
    make_annotation(author=author, document=document)
    gone = make_annotation(author=author, document=other)
    note_services.annotation_delete(annotation_id=gone.pk, by=author)
    html = my_notes(client)
    assert "A test document</option>" in html
    assert "Abandoned text" not in html
