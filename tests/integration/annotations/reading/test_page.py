"""The reading page's caches (annotations.reading): a page read again is served from the page
cache, and any change in what the viewer may see — however it is written — is shown at once; a
page built again draws only the paragraphs whose marks changed; the marks come from the reading
page's index alone."""

from __future__ import annotations

import random
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import F
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from annotations import policy
from annotations.anchoring import spans_in_paragraph
from annotations.discussions import services as discussion_services
from annotations.groups import services as group_services
from annotations.models import Annotation, Membership
from annotations.moderation import services as moderation
from annotations.notes import services as note_services
from annotations.reading.marks import Span, draw_marks
from annotations.reading.page import (
    drawn_paragraph,
    marks_sql,
    page_marks,
    page_paragraphs,
    page_version,
)
from tests.factories import make_annotation, make_document, make_private

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    return make_document(paragraphs=8, title="Cached book")


def marked(client, user, document) -> set[int]:
    client.force_login(user)
    html = client.get(document.get_absolute_url()).content.decode()
    return {int(pk) for pk in re.findall(r'data-annotation="(\d+)"', html)}


def without_csrf(html: str) -> str:
    """The page without its CSRF token, which is masked afresh on every response."""
    return re.sub(r'(csrf[^"]*"\s+(?:value|content)=)"[^"]+"', r"\1", html)


def served_from_cache(client, document) -> bool:
    """Whether the page was answered without reading the paragraphs again."""
    with CaptureQueriesContext(connection) as queries:
        client.get(document.get_absolute_url())
    return not any('FROM "reader_paragraph"' in q["sql"] for q in queries.captured_queries)


def test_a_page_read_again_comes_from_the_cache_with_the_same_html(client, book, member):
    make_annotation(author=member, document=book, body="Cached *note*.")
    client.force_login(member)
    first = client.get(book.get_absolute_url()).content.decode()
    assert served_from_cache(client, book)
    again = client.get(book.get_absolute_url()).content.decode()
    assert "data-annotation" in again
    assert without_csrf(again) == without_csrf(first)


def test_each_viewer_and_layer_has_its_own_entry(client, book, author, member, club):
    own = make_annotation(author=member, document=book, body="Only mine.")
    group = make_annotation(
        author=member, document=book, position=2, visibility="group", group=club
    )
    assert marked(client, member, book) == {own.pk, group.pk}
    assert marked(client, author, book) == {group.pk}  # never the member's cached page
    client.force_login(member)
    mine = client.get(book.get_absolute_url(), {"layer": "public"}).content.decode()
    assert "data-annotation" not in mine


@pytest.mark.parametrize(
    "change",
    [
        "create",
        "edit_to_private",
        "delete",
        "hide",
        "sql_update",
        "sql_delete",
    ],
)
def test_a_change_on_the_document_is_shown_at_once(
    client, book, author, member, moderator, club, change
):
    note = make_annotation(
        author=author, document=book, body="Shared.", visibility="group", group=club
    )
    assert marked(client, member, book) == {note.pk}
    assert served_from_cache(client, book)
    before = page_version(book.pk)
    expected: set[int] = set()
    if change == "create":
        other = make_annotation(
            author=author, document=book, position=3, visibility="group", group=club
        )
        expected = {note.pk, other.pk}
    elif change == "edit_to_private":
        make_private(note, editor=author)
    elif change == "delete":
        note_services.annotation_delete(annotation_id=note.pk, by=author)
    elif change == "hide":
        moderation.item_hide(
            moderator=moderator,
            target=moderation.item_find(annotation_id=note.pk),
            reason="Off topic",
        )
    elif change == "sql_update":
        # Written past the ORM, as a bulk update or psql would: still seen.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE annotations_annotation SET visibility = 'private', group_id = NULL "
                "WHERE id = %s",
                [note.pk],
            )
    elif change == "sql_delete":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM annotations_annotation WHERE id = %s", [note.pk])
    assert page_version(book.pk) != before
    assert marked(client, member, book) == expected


@pytest.mark.parametrize("change", ["leave", "removed", "banned", "demoted"])
def test_a_change_in_what_the_viewer_may_see_is_shown_at_once(
    client, book, owner, author, member, moderator, club, change
):
    shared = make_annotation(
        author=author, document=book, body="Shared.", visibility="group", group=club
    )
    waiting = make_annotation(
        author=author,
        document=book,
        position=2,
        body="Under review.",
        visibility="group",
        group=club,
    )
    moderation.item_hide(
        moderator=moderator, target=moderation.item_find(annotation_id=waiting.pk), reason="Check"
    )
    viewer = moderator if change == "demoted" else member
    seen = {shared.pk, waiting.pk} if change == "demoted" else {shared.pk}
    assert marked(client, viewer, book) == seen
    if change == "leave":
        group_services.group_leave(user=member, group=club)
    elif change == "removed":
        moderation.member_remove(moderator=moderator, group=club, user_id=member.pk)
    elif change == "banned":
        moderation.member_ban(moderator=moderator, group=club, user_id=member.pk, reason="Spam")
    else:
        group_services.membership_set_role(
            actor=owner, group=club, user_id=moderator.pk, role=Membership.Role.MEMBER
        )
    assert marked(client, viewer, book) == ({shared.pk} if change == "demoted" else set())


def test_the_key_holds_everything_the_policy_reads_of_a_viewer(author, member, club):
    key = policy.audience_key(member)
    assert key == (
        "person",
        member.pk,
        False,
        True,
        ((club.pk, Membership.Role.MEMBER, club.slug),),
    )
    member.is_staff = True
    assert policy.audience_key(member) != key
    assert policy.audience_key(None) == ("anonymous",)


def test_with_the_cache_off_every_view_is_built_and_it_comes_back_after(client, book, member):
    """PAGE_CACHE_ENTRIES=0 makes the "pages" cache a DummyCache (tests/unit/reader/
    test_settings.py): the page is then built on every view."""
    make_annotation(author=member, document=book)
    client.force_login(member)
    dummy = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    with override_settings(CACHES={**settings.CACHES, "pages": dummy}):
        client.get(book.get_absolute_url())
        assert not served_from_cache(client, book)
    client.get(book.get_absolute_url())
    assert served_from_cache(client, book)


def test_version_changes_with_every_kind_of_write(book, author):
    empty = page_version(book.pk)
    assert empty == (None, 0)
    note = make_annotation(author=author, document=book)
    created = page_version(book.pk)
    Annotation.objects.filter(pk=note.pk).update(colour="blue")  # no field the ORM stamps
    updated = page_version(book.pk)
    assert len({empty, created, updated}) == 3
    assert updated[0] > created[0]


def test_a_page_built_again_draws_only_the_paragraph_that_changed(client, book, member):
    notes = [
        make_annotation(author=member, document=book, position=n, body="A note.") for n in (1, 2, 3)
    ]
    client.force_login(member)
    client.get(book.get_absolute_url())
    before = drawn_paragraph.cache_info()
    Annotation.objects.filter(pk=notes[1].pk).update(colour="blue")
    html = client.get(book.get_absolute_url()).content.decode()
    after = drawn_paragraph.cache_info()
    assert after.misses - before.misses == 1
    assert after.hits - before.hits == 2
    assert f'<mark class="c-blue n" data-annotation="{notes[1].pk}">' in html


def test_the_marks_come_from_the_reading_page_index_alone(book, author, member, moderator, club):
    """Every column the page's query reads, for every kind of viewer and layer, is in
    annotation_page_idx: PostgreSQL can answer it from the index (an index-only scan)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE c.relname = 'annotation_page_idx'"
        )
        indexed = {name for (name,) in cursor.fetchall()}
    staff = author
    staff.is_staff = True
    layers = [policy.LAYER_ALL, policy.LAYER_MINE, policy.LAYER_PUBLIC]
    layers.append(f"{policy.GROUP_LAYER_PREFIX}{club.slug}")
    compiled = 0
    for viewer in (AnonymousUser(), member, moderator, staff):
        for layer in layers:
            found = marks_sql(viewer, book.pk, book.current_revision_id, layer, [1, 2])
            if found is None:
                continue
            read = set(re.findall(r'"annotations_annotation"\."(\w+)"', found[0]))
            assert read and read <= indexed, (viewer, layer, read - indexed)
            compiled += 1
    assert compiled >= 12


def test_the_planner_thinks_random_reads_are_cheap():
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone() == ("1.1",)


def plain_reckoning(viewer, document, paragraphs, layer=policy.LAYER_ALL):
    """What the page should show, worked out the slow, obvious way: each visible annotation,
    paragraph by paragraph."""
    drawn, counts, documents = {}, {}, 0
    visible = Annotation.objects.in_layer(viewer, layer).filter(document=document)
    for paragraph in paragraphs:
        spans, notes, highlights = [], 0, 0
        for note in visible:
            if note.kind == Annotation.Kind.PARAGRAPH and note.start_position == paragraph.position:
                notes += 1
            if note.kind != Annotation.Kind.SPAN:
                continue
            piece = spans_in_paragraph(
                paragraph.position,
                paragraph.length,
                (note.start_position, note.start_offset),
                (note.end_position, note.end_offset),
            )
            if piece:
                state = "" if note.status == Annotation.Status.ACTIVE else note.status
                spans.append(Span(*piece, note.pk, note.colour, bool(note.body), state))
                notes += bool(note.body)
                highlights += not note.body
        if spans:
            drawn[paragraph.key] = draw_marks(paragraph.html, spans)
        if notes or highlights:
            counts[paragraph.key] = [notes, highlights]
    documents = sum(1 for note in visible if note.kind == Annotation.Kind.DOCUMENT)
    return drawn, counts, documents


def test_marks_and_counts_match_a_plain_reckoning(author, member, moderator, club):
    """Many overlapping marks, some over two to four paragraphs, paragraph and document
    discussions, an orphan, others' private notes and a hidden one: the page's marks and
    counts, whole and for a few paragraphs, are what working them out one by one gives."""
    document = make_document(paragraphs=9, title="Reckoned")
    paragraphs = list(page_paragraphs(document.current_revision_id))
    rng = random.Random(3)
    people = [author, member, moderator]
    for _ in range(60):
        position = rng.randrange(1, 9)
        last = min(8, position + rng.choice([0, 0, 0, 1, 2, 3]))
        length = paragraphs[position].length
        start = rng.randrange(0, length - 1)
        end = rng.randrange(start + 1, length + 1) if last == position else None
        if last != position:
            end = rng.randrange(0, paragraphs[last].length + 1) or 1
        visibility = rng.choice(["private", "group", "public"])
        make_annotation(
            author=rng.choice(people),
            document=document,
            position=position,
            start=start,
            end=end,
            end_position=last,
            body=rng.choice(["", "A *note*."]),
            colour=rng.choice(Annotation.Colour.values),
            visibility=visibility,
            group=club if visibility == "group" else None,
        )
    for key, visibility in (
        (paragraphs[2].key, "public"),
        (paragraphs[5].key, "private"),
        (None, "public"),
    ):
        discussion_services.discussion_create(
            author=member, document=document, paragraph_key=key, body="Why?", visibility=visibility
        )
    hidden = make_annotation(
        author=author, document=document, position=4, visibility="group", group=club, body="Off."
    )
    Annotation.objects.filter(pk=hidden.pk).update(status=Annotation.Status.HIDDEN)
    Annotation.objects.create(
        document=document,
        revision_id=document.current_revision_id,
        author=member,
        kind=Annotation.Kind.ORPHAN,
        start_position=3,
        start_offset=0,
        end_position=3,
        end_offset=5,
        exact="words no longer there",
        body="Lost.",
        body_html="<p>Lost.</p>",
    )

    def marks_of(viewer, shown, layer, partial=False):
        return page_marks(
            user=viewer,
            document_id=document.pk,
            revision_id=document.current_revision_id,
            layer=layer,
            paragraphs=[(p.position, p.key, p.length, p.html) for p in shown],
            partial=partial,
        )

    for viewer in (member, moderator):
        for layer in (policy.LAYER_ALL, policy.LAYER_MINE):
            marks = marks_of(viewer, paragraphs, layer)
            drawn, counts, documents = plain_reckoning(viewer, document, paragraphs, layer)
            assert (marks.drawn, marks.counts) == (drawn, counts)
            assert marks.document_discussions == documents
            few = paragraphs[3:5]
            marks = marks_of(viewer, few, layer, partial=True)
            drawn, counts, _ = plain_reckoning(viewer, document, few, layer)
            assert (marks.drawn, marks.counts) == (drawn, counts)
    # The reckoning covered what it should: marks over several paragraphs, the hidden mark
    # (the moderator's alone), both kinds of discussion.
    assert Annotation.objects.filter(document=document, end_position__gt=F("start_position"))
    hidden_mark = f'is-hidden" data-annotation="{hidden.pk}"'
    assert (
        hidden_mark
        in marks_of(moderator, paragraphs[4:5], policy.LAYER_ALL, True).drawn[paragraphs[4].key]
    )
    whole = marks_of(member, paragraphs, policy.LAYER_ALL)
    assert hidden_mark not in "".join(whole.drawn.values())
    assert whole.document_discussions == 1
    assert whole.counts[paragraphs[5].key][0] >= 1  # the member's own paragraph discussion
