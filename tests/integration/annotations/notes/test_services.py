"""Writing highlights and notes: what is stored; a refusal leaves the database as it was."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction

from annotations.errors import AnnotationError, EditConflict, GroupError
from annotations.groups import services as group_services
from annotations.models import Annotation, Group, Membership
from annotations.notes import services as note_services
from reader.models import Document
from reader.services import document_import
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    UserFactory,
    make_annotation,
    make_document,
    make_target,
)

pytestmark = pytest.mark.django_db

Visibility = Annotation.Visibility


@pytest.fixture
def document():
    return make_document(paragraphs=8)


def text_of(document: Document, position: int) -> str:
    return document.current_revision.paragraphs.get(position=position).text


def refused(**kwargs) -> str:
    """Call annotation_create expecting a refusal that stores nothing; return its message."""
    before = Annotation.objects.count()
    with pytest.raises(AnnotationError) as error:
        note_services.annotation_create(**kwargs)
    assert Annotation.objects.count() == before
    return str(error.value)


# Creating -----------------------------------------------------------------------------------


def test_a_highlight_is_stored_private_with_its_quote_and_context(author, document):
    text = text_of(document, 2)
    target = make_target(document, position=2, quote="river")
    highlight = note_services.annotation_create(author=author, document=document, target=target)
    highlight.refresh_from_db()
    lo = text.index("river")
    assert highlight.exact == "river"
    assert (highlight.start_offset, highlight.end_offset) == (lo, lo + 5)
    assert highlight.start_position == highlight.end_position == 2
    assert highlight.prefix == text[max(0, lo - 32) : lo]
    assert highlight.suffix == text[lo + 5 : lo + 37]
    assert highlight.revision_id == document.current_revision_id
    assert highlight.visibility == Visibility.PRIVATE and highlight.group is None
    assert highlight.colour == "yellow"
    assert not highlight.is_note and highlight.body_html == ""
    assert (highlight.status, highlight.version) == ("active", 1)


def test_a_note_is_stored_with_rendered_body_and_normalised_tags(author, document):
    note = make_annotation(
        author=author,
        document=document,
        position=3,
        body="  **Key** idea, see <script>x</script>  ",
        tags="Metaphor, key idea ,#metaphor, ",
        colour="green",
        visibility=Visibility.PUBLIC,
    )
    note.refresh_from_db()
    assert note.is_note
    assert note.body == "**Key** idea, see <script>x</script>"
    assert note.body_html.strip() == (
        "<p><strong>Key</strong> idea, see &lt;script&gt;x&lt;/script&gt;</p>"
    )
    assert note.tags == ["metaphor", "key-idea"]
    assert (note.colour, note.visibility) == ("green", "public")


def test_a_span_across_paragraphs_is_stored_with_joined_quote(author, document):
    note = make_annotation(author=author, document=document, position=2, start=5, end_position=4)
    assert (note.start_position, note.end_position) == (2, 4)
    assert note.exact == "\n".join(
        [text_of(document, 2)[5:], text_of(document, 3), text_of(document, 4)[: note.end_offset]]
    )


def test_a_group_note_needs_the_author_in_the_group(author, document):
    group = GroupFactory(owner=UserFactory(username="owner"))
    assert "a group you belong to" in refused(
        author=author,
        document=document,
        target=make_target(document),
        body="For the group",
        visibility=Visibility.GROUP,
        group=group,
    )
    MembershipFactory(group=group, user=author)
    note = make_annotation(
        author=author, document=document, body="For the group", visibility="group", group=group
    )
    assert note.group == group and note.visibility == "group"


# Refusals store nothing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"exact": "something else"}, "do not match the text"),
        ({"end_offset": 10_000}, "runs past the end of its paragraph"),
        ({"start_offset": -1}, "cannot be negative"),
        ({"end_offset": 3, "start_offset": 3, "exact": ""}, "empty or runs backwards"),
        ({"start_offset": 9, "end_offset": 3, "exact": ""}, "empty or runs backwards"),
        ({"start_key": "nope"}, "not in this document"),
        ({"end_key": "nope"}, "not in this document"),
    ],
)
def test_a_target_that_does_not_fit_the_text_is_refused(author, document, change, message):
    target = replace(make_target(document, position=2, start=0, end=12), **change)
    assert message in refused(author=author, document=document, target=target)


def test_a_span_running_backwards_across_paragraphs_is_refused(author, document):
    forwards = make_target(document, position=2, start=4, end_position=3, end=6)
    backwards = replace(forwards, start_key=forwards.end_key, end_key=forwards.start_key, exact="x")
    assert "runs backwards" in refused(author=author, document=document, target=backwards)


def test_a_paragraph_of_another_document_is_refused(author, document):
    other = document_import(source="Quite another text.\n\nWith its own words.", fmt="text")
    target = make_target(other, position=1, quote="own words")
    assert "not in this document" in refused(author=author, document=document, target=target)


def test_a_document_without_a_current_revision_is_refused(author):
    bare = Document.objects.create(slug="bare", title="Bare")
    target = make_target(make_document(paragraphs=3))
    assert refused(author=author, document=bare, target=target) == (
        "This document has no text to annotate yet."
    )


def test_a_body_over_the_limit_is_refused(author, document, settings):
    settings.ANNOTATION_BODY_MAX_CHARS = 100
    message = refused(
        author=author, document=document, target=make_target(document), body="x" * 101
    )
    assert message == "The note is 101 characters long; the limit is 100."
    # Exactly at the limit is fine.
    assert make_annotation(author=author, document=document, body="x" * 100).body == "x" * 100


def test_a_span_over_too_many_paragraphs_is_refused(author, settings):
    settings.ANNOTATION_MAX_PARAGRAPHS = 2
    document = make_document(paragraphs=8)
    target = make_target(document, position=1, end_position=5)
    assert "at most 2 paragraphs" in refused(author=author, document=document, target=target)


def test_a_span_of_one_paragraph_more_than_the_limit_is_refused(author, settings):
    settings.ANNOTATION_MAX_PARAGRAPHS = 2
    document = make_document(paragraphs=8)
    target = make_target(document, position=1, end_position=3)  # three paragraphs
    assert "at most 2 paragraphs" in refused(author=author, document=document, target=target)


def test_an_unknown_colour_is_refused(author, document):
    message = refused(
        author=author, document=document, target=make_target(document), colour="orange"
    )
    assert message == "Unknown colour 'orange': choose one of yellow, green, blue, pink, purple."


def test_an_unknown_visibility_is_refused(author, document):
    message = refused(
        author=author, document=document, target=make_target(document), visibility="friends"
    )
    assert message.startswith("Unknown visibility 'friends'")


def test_group_visibility_without_a_group_is_refused(author, document):
    message = refused(
        author=author, document=document, target=make_target(document), visibility="group"
    )
    assert message == "Choose the group that may see this note."


def test_a_group_cannot_be_given_to_a_private_or_public_note(author, document):
    group = GroupFactory(owner=author)
    note = make_annotation(
        author=author, document=document, body="x", visibility="public", group=group
    )
    assert note.group is None


def test_too_many_tags_are_refused(author, document):
    tags = ", ".join(f"tag{n}" for n in range(11))
    message = refused(author=author, document=document, target=make_target(document), tags=tags)
    assert message == "A note can have at most 10 tags."
    # Ten is fine, and repeats do not count twice.
    ten = ", ".join(f"tag{n}" for n in range(10)) + ", TAG0"
    assert len(make_annotation(author=author, document=document, tags=ten).tags) == 10


@pytest.mark.parametrize("tag", ["<b>", "a/b", "x;drop", "quote'd", "long" * 13])
def test_tags_with_bad_characters_or_length_are_refused(author, document, tag):
    message = refused(author=author, document=document, target=make_target(document), tags=tag)
    assert "tag" in message.lower()


def test_an_anonymous_author_is_refused(document):
    message = refused(author=AnonymousUser(), document=document, target=make_target(document))
    assert message == "Log in to annotate."


def test_an_inactive_author_is_refused(document):
    inactive = UserFactory(username="gone", is_active=False)
    assert refused(author=inactive, document=document, target=make_target(document)) == (
        "Log in to annotate."
    )


# Editing ------------------------------------------------------------------------------------


def update(note, editor, **changes):
    fields = {
        "body": note.body,
        "tags": note.tags,
        "colour": note.colour,
        "visibility": note.visibility,
        "group": note.group,
        "version": note.version,
    }
    fields.update(changes)
    return note_services.annotation_update(annotation_id=note.pk, editor=editor, **fields)


def test_an_edit_stores_the_new_text_and_bumps_the_version(author, document):
    note = make_annotation(author=author, document=document, body="first", tags="a")
    edited = update(note, author, body="*second*", tags="b, c", colour="blue")
    edited.refresh_from_db()
    assert edited.version == 2
    assert edited.body == "*second*" and edited.body_html.strip() == "<p><em>second</em></p>"
    assert edited.tags == ["b", "c"] and edited.colour == "blue"
    # The anchor does not move.
    assert (edited.exact, edited.start_offset) == (note.exact, note.start_offset)


def test_an_edit_from_a_stale_version_is_refused_and_stores_nothing(author, document):
    note = make_annotation(author=author, document=document, body="first")
    update(note, author, body="from the other tab")
    with pytest.raises(EditConflict) as conflict:
        update(note, author, body="from this tab", version=1)
    assert "changed elsewhere" in str(conflict.value)
    note.refresh_from_db()
    assert (note.body, note.version) == ("from the other tab", 2)


def test_only_the_author_can_edit(author, document):
    note = make_annotation(author=author, document=document, body="mine", visibility="public")
    outsider = UserFactory(username="outsider")
    with pytest.raises(AnnotationError, match="Only its author can edit"):
        update(note, outsider, body="defaced")
    note.refresh_from_db()
    assert (note.body, note.version) == ("mine", 1)


def test_a_bad_edit_stores_nothing(author, document, settings):
    note = make_annotation(author=author, document=document, body="first")
    settings.ANNOTATION_BODY_MAX_CHARS = 10
    with pytest.raises(AnnotationError, match="the limit is 10"):
        update(note, author, body="far too long now")
    with pytest.raises(AnnotationError, match="Choose the group"):
        update(note, author, visibility="group")
    note.refresh_from_db()
    assert (note.body, note.version, note.visibility) == ("first", 1, "private")


def test_a_deleted_note_cannot_be_edited(author, document):
    note = make_annotation(author=author, document=document, body="first")
    note_services.annotation_delete(annotation_id=note.pk, by=author)
    with pytest.raises(AnnotationError):
        update(note, author, body="back from the dead", version=2)


# Deleting -----------------------------------------------------------------------------------


def test_delete_is_a_soft_delete_by_the_author_only(author, document):
    note = make_annotation(author=author, document=document, body="x", visibility="public")
    outsider = UserFactory(username="outsider")
    with pytest.raises(AnnotationError, match="Only its author can delete"):
        note_services.annotation_delete(annotation_id=note.pk, by=outsider)
    note.refresh_from_db()
    assert note.status == "active"

    note_services.annotation_delete(annotation_id=note.pk, by=author)
    note.refresh_from_db()
    assert note.status == "deleted"
    assert not Annotation.objects.visible_to(author).filter(pk=note.pk).exists()
    assert not Annotation.objects.visible_to(outsider).filter(pk=note.pk).exists()


# The database's own rules -------------------------------------------------------------------


def test_group_visibility_without_a_group_is_refused_by_the_database(author, document):
    note = make_annotation(author=author, document=document)
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.filter(pk=note.pk).update(visibility="group")


def test_a_group_on_a_private_note_is_refused_by_the_database(author, document):
    note = make_annotation(author=author, document=document)
    group = GroupFactory(owner=author)
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.filter(pk=note.pk).update(group=group)


def test_a_start_after_the_end_is_refused_by_the_database(author, document):
    note = make_annotation(author=author, document=document, start=2, end=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.filter(pk=note.pk).update(start_offset=10, end_offset=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.filter(pk=note.pk).update(start_position=3, end_position=1)


def test_unknown_colours_visibilities_and_versions_are_refused_by_the_database(author, document):
    note = make_annotation(author=author, document=document)
    for change in ({"colour": "orange"}, {"visibility": "friends"}, {"version": 0}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Annotation.objects.filter(pk=note.pk).update(**change)
    note.refresh_from_db()
    assert (note.colour, note.visibility, note.version) == ("yellow", "private", 1)


def test_a_group_has_one_owner_and_a_person_joins_once():
    owner = UserFactory(username="owner")
    group = GroupFactory(owner=owner)
    member = MembershipFactory(group=group, user=UserFactory(username="member"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=member.pk).update(role="owner")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(group=group, user=member.user, role="moderator")
    assert group.memberships.count() == 2


# Groups -------------------------------------------------------------------------------------


def test_group_create_makes_the_creator_its_owner_with_a_free_slug():
    owner = UserFactory(username="owner")
    first = group_services.group_create(owner=owner, name="  Book club ", description=" Fun ")
    second = group_services.group_create(owner=owner, name="Book club")
    assert (first.name, first.slug, first.description) == ("Book club", "book-club", "Fun")
    assert second.slug == "book-club-2"
    assert Membership.objects.get(group=first).role == "owner"
    assert first.created_by == owner


def test_group_create_needs_a_name():
    with pytest.raises(GroupError, match="Give the group a name"):
        group_services.group_create(owner=UserFactory(username="owner"), name="   ")
    assert not Group.objects.exists()


def test_joining_twice_keeps_one_membership():
    group = GroupFactory(owner=UserFactory(username="owner"))
    member = UserFactory(username="member")
    first = group_services.group_join(user=member, token=group.invite_token)
    second = group_services.group_join(user=member, token=group.invite_token)
    assert first.pk == second.pk
    assert group.memberships.filter(user=member).count() == 1
