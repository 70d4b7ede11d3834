"""Factories for the tests: people and documents made through the real code paths."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils.text import slugify

from annotations.anchoring import PARAGRAPH_SEPARATOR, Target
from annotations.models import Annotation, Group, Membership
from annotations.notes import services as note_services
from reader.models import Document
from reader.services import document_import

PASSWORD = "a-long-test-password"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"reader{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(user, create, extracted, **kwargs):
        if create:
            user.save()


def sample_text(paragraphs: int, *, words: int = 40) -> str:
    """Plain text with `paragraphs` distinct paragraphs (a heading every 20)."""
    vocabulary = (
        "reading margin quiet river lantern question answer passage evidence chapter "
        "argument notebook window garden silver morning thread careful patient voice"
    ).split()
    blocks = []
    for n in range(paragraphs):
        if n % 20 == 0:
            blocks.append(f"# Part {n // 20 + 1}")
            continue
        body = " ".join(vocabulary[(n * 7 + i * 3) % len(vocabulary)] for i in range(words))
        blocks.append(f"Paragraph {n}: {body}.")
    return "\n\n".join(blocks)


def make_document(
    *, paragraphs: int = 10, title: str = "A test document", fmt: str = "markdown", **kwargs
) -> Document:
    return document_import(source=sample_text(paragraphs), fmt=fmt, title=title, **kwargs)


# Annotations ---------------------------------------------------------------------------------


class GroupFactory(factory.django.DjangoModelFactory):
    """A study group. GroupFactory(owner=user) also makes `user` its owner, as group_create
    does."""

    class Meta:
        model = Group
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Study group {n}")
    slug = factory.LazyAttribute(lambda group: slugify(group.name))

    @factory.post_generation
    def owner(group, create, extracted, **kwargs):
        if create and extracted is not None:
            Membership.objects.create(group=group, user=extracted, role=Membership.Role.OWNER)
            group.created_by = extracted
            group.save(update_fields=["created_by"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    group = factory.SubFactory(GroupFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


def make_target(
    document: Document,
    *,
    position: int = 1,
    start: int = 0,
    end: int | None = None,
    end_position: int | None = None,
    quote: str | None = None,
) -> Target:
    """A valid target computed from the stored text: from (position, start) to (end_position,
    end); `quote` picks its first occurrence in the paragraph at `position` instead. `end`
    defaults to 20 code points after `start` (same paragraph) or the end of the paragraph."""
    last = position if end_position is None else end_position
    rows = list(
        document.current_revision.paragraphs.filter(position__gte=position, position__lte=last)
        .order_by("position")
        .values_list("key", "text")
    )
    if quote is not None:
        start = rows[0][1].index(quote)
        end = start + len(quote)
    if end is None:
        end = min(start + 20, len(rows[0][1])) if len(rows) == 1 else len(rows[-1][1])
    if len(rows) == 1:
        exact = rows[0][1][start:end]
    else:
        pieces = [rows[0][1][start:], *(text for _, text in rows[1:-1]), rows[-1][1][:end]]
        exact = PARAGRAPH_SEPARATOR.join(pieces)
    return Target(
        start_key=rows[0][0], start_offset=start, end_key=rows[-1][0], end_offset=end, exact=exact
    )


def make_annotation(
    *,
    author,
    document: Document,
    position: int = 1,
    start: int = 0,
    end: int | None = None,
    end_position: int | None = None,
    quote: str | None = None,
    **fields,
) -> Annotation:
    """An annotation stored through annotations.notes.services.annotation_create (so validated like
    any reader's); `fields` are its other arguments: body, tags, colour, visibility, group."""
    target = make_target(
        document, position=position, start=start, end=end, end_position=end_position, quote=quote
    )
    return note_services.annotation_create(
        author=author, document=document, target=target, **fields
    )


def make_private(annotation: Annotation, *, editor) -> Annotation:
    """`annotation` edited to "only me" through annotations.notes.services, all else kept."""
    return note_services.annotation_update(
        annotation_id=annotation.pk,
        editor=editor,
        version=annotation.version,
        body=annotation.body,
        tags=annotation.tags,
        colour=annotation.colour,
        visibility=Annotation.Visibility.PRIVATE,
        group=None,
    )
